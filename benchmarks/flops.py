"""Analytic FLOPs of a Keras functional model, counted from its layer shapes.

Convention (FORWARD pass, one multiply-add = 2 FLOPs):
  Conv2D  2 * kh * kw * (cin / groups) * cout * Hout * Wout per image, + cout * Hout * Wout bias adds;
  Dense   2 * din * units per row, + units bias adds.
Every other layer (BatchNorm, activations, adds, concatenations, pixel shuffle, upsampling,
padding, pooling, flatten) counts 0: elementwise work is memory-bound and small next to the
convolutions.  Nested functional models are walked recursively.

Training FLOPs are derived from these by the callers (benchmarks/training.py): a network updated
by the step costs 3x its forward (forward + gradient w.r.t. its input + gradient w.r.t. its
weights), a network only back-propagated through 2x, a forward-only network 1x.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import keras

CONVENTION = (
    "forward = 2 FLOPs per multiply-add of Conv2D/Dense + 1 per bias add; other layers (BN, activations, "
    "adds, concat, pixel shuffle, upsampling, pooling) count 0. Training: 3x forward for networks the step "
    "updates (forward + input gradient + weight gradient), 2x for networks only back-propagated through "
    "(forward + input gradient), 1x forward-only."
)


@dataclasses.dataclass
class FlopCount:
    """Forward FLOPs of one model call: multiply-adds (x2) and bias adds, with a per-layer breakdown."""

    multiply_add: int = 0  # 2 * multiply-adds of Conv2D and Dense layers
    bias: int = 0  # bias additions of Conv2D and Dense layers
    by_layer: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.multiply_add + self.bias

    def add(self, name: str, multiply_add: int, bias: int) -> None:
        if multiply_add or bias:
            self.multiply_add += multiply_add
            self.bias += bias
            self.by_layer[name] = self.by_layer.get(name, 0) + multiply_add + bias


def _layer_flops(layer, input_shape: Sequence[int], output_shape: Sequence[int]) -> tuple[int, int]:
    """(2 * multiply-adds, bias adds) of one call of `layer`; (0, 0) for layers that count 0."""
    if isinstance(layer, keras.layers.Conv2D):
        if layer.data_format != "channels_last":
            raise ValueError(f"{layer.name}: only channels_last convolutions are counted")
        kh, kw = layer.kernel_size
        cin, cout = int(input_shape[-1]), int(output_shape[-1])
        positions = _product(output_shape[:-1])  # N * Hout * Wout
        multiply_adds = positions * kh * kw * (cin // layer.groups) * cout
        return 2 * multiply_adds, positions * cout if layer.use_bias else 0
    if isinstance(layer, keras.layers.Dense):
        rows = _product(output_shape[:-1])
        din, units = int(input_shape[-1]), int(output_shape[-1])
        return 2 * rows * din * units, rows * units if layer.use_bias else 0
    if getattr(layer, "kernel", None) is not None:  # e.g. Conv2DTranspose: refuse to undercount silently
        raise NotImplementedError(f"{layer.name}: FLOPs of {type(layer).__name__} layers are not counted")
    return 0, 0


def _product(shape: Sequence[int]) -> int:
    result = 1
    for size in shape:
        if size is None:
            raise ValueError(f"FLOPs need a fully defined shape, got {tuple(shape)}")
        result *= int(size)
    return result


def count_flops(model: keras.Model, input_shape: Sequence[int], count: FlopCount | None = None, prefix: str = "") -> FlopCount:
    """Forward FLOPs of `model` on one input of `input_shape` (batch included, e.g. (1, 24, 24, 3)).

    The functional graph is re-run symbolically at that shape (no computation, no weights touched),
    so generators built with free (None) spatial sizes can be counted at any size.
    """
    count = FlopCount() if count is None else count

    def recording(operation):
        def compute(*args, **kwargs):
            inputs = keras.tree.flatten((args, kwargs))
            inputs = [x for x in inputs if isinstance(x, keras.KerasTensor)]
            if isinstance(operation, keras.Model) and hasattr(operation, "_run_through_graph"):
                count_flops(operation, inputs[0].shape, count, prefix=f"{prefix}{operation.name}/")
                return operation.compute_output_spec(*args, **kwargs)
            output = operation.compute_output_spec(*args, **kwargs)
            outputs = keras.tree.flatten(output)
            if inputs and outputs:
                count.add(prefix + operation.name, *_layer_flops(operation, inputs[0].shape, outputs[0].shape))
            return output

        return compute

    if not hasattr(model, "_run_through_graph"):
        raise TypeError(f"{model.name}: only functional models can be counted")
    # Keras 3's own symbolic pass (Function.compute_output_spec), with every operation wrapped.
    model._run_through_graph(keras.KerasTensor(tuple(input_shape), dtype="float32"), operation_fn=recording)
    return count
