"""Upscaling images: the `Upscaler` behind sr-eval and sr-upscale, and tiling.

Models are named by one string (a spec: bicubic, a shipped name, .keras, .weights.h5, a SavedModel
or its base dir, an sr-train run dir) resolved by THE model loader, `sr_keras.loader`;
`load_upscaler` here is that loader's function.
Every upscaler maps uint8 RGB [H, W, 3] to float32 [0, 1] RGB [sH, sW, 3] (not yet rounded).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from sr_keras.ops.imresize import imresize
from sr_keras.tiling import DEFAULT_MEMORY_BUDGET_MB, bytes_per_lr_pixel, tile_for_budget, tile_windows, upscale_tiled  # noqa: F401


# LR pixels of context per tile side (`tile_pad`) by architecture, chosen so that tiled output stays
# within a few grey levels of the untiled output (the overlap is discarded, never blended).  Measured
# by experiments/results/deploy/seams.py (192x192 LR photo crop, tiles of 64 or 32 LR pixels):
#   realesrgan-x4plus (RRDBNet, 23 blocks): pad 10 -> max 54 grey levels, 32 -> 13, 48 -> 2.8, 64 -> 0.65 (tiles of 32);
#   SRResNet (16 blocks, trained): pad 10 -> 2.8, 16 -> 0.015, 48 -> 0.
# RRDBNet's receptive field spans hundreds of pixels, so its effective context is far wider than
# SRResNet's.  Bicubic x4 reads 2 LR pixels on each side: pad 2 is exact.
TILE_PADS = {"RRDBNet": 64, "SRResNet": 16, "bicubic": 2}
DEFAULT_TILE_PAD = 64  # architectures not listed (e.g. a SavedModel): RRDBNet's, the widest
# Peak working memory per LR pixel (bytes) when the model is not a Keras generator whose graph can be
# read (a SavedModel: it tiles inside its own signatures anyway): above full-size SRResNet's 18,432.
DEFAULT_BYTES_PER_PIXEL = 20_000.0
BICUBIC_BYTES_PER_PIXEL = 2_048.0  # imresize: float64 [16 px x 3] output per LR pixel plus one pass's buffer


def default_tile_pad(model) -> int:
    """The tile pad of a generator's architecture (TILE_PADS), DEFAULT_TILE_PAD if unknown."""
    from sr_keras.archs import RRDBNet, SRResNet

    for architecture in (RRDBNet, SRResNet):
        if isinstance(model, architecture):
            return TILE_PADS[architecture.__name__]
    return DEFAULT_TILE_PAD


@dataclasses.dataclass
class Upscaler:
    """A named x`scale` upscaler: `__call__(uint8 [H, W, 3]) -> float32 [0, 1] [sH, sW, 3]`.

    Memory is bounded by default: `tile` None derives the tile side from `memory_budget_mb` and
    `bytes_per_pixel` (the model's peak working memory per LR pixel, set by the loaders from the
    architecture's graph, see `sr_keras.tiling`), so an image larger than one window is processed
    in tiles of that many LR pixels with `tile_pad` pixels of context (overlaps discarded, see
    `sr_keras.tiling.upscale_tiled`; the loaders set the architecture's TILE_PADS value).
    `tile` > 0 fixes the tile side; 0 runs the whole image at once (memory unbounded).
    `upscale_uint8` rounds each tile as it is made, never holding the float32 output.
    """

    name: str
    scale: int
    upscale_float: Callable[[np.ndarray], np.ndarray]  # float32 [1, h, w, 3] in [0, 1] -> [1, sh, sw, 3]
    tile: int | None = None
    tile_pad: int = DEFAULT_TILE_PAD
    bytes_per_pixel: float = DEFAULT_BYTES_PER_PIXEL
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB
    model: object = None  # the Keras generator that upscale_float runs, if it is one

    def tile_size(self) -> int:
        """The tile side in LR pixels in force (0 = whole image); raises ValueError for bad settings."""
        if self.tile_pad is None or self.tile_pad < 0:
            raise ValueError(f"tile pad must be >= 0 LR pixels, got {self.tile_pad}")
        if self.tile is not None:
            if self.tile < 0:
                raise ValueError(f"tile must be >= 0 LR pixels (0 = whole image, unset = from the memory budget), got {self.tile}")
            return int(self.tile)
        if not self.memory_budget_mb > 0:
            raise ValueError(f"memory budget must be > 0 MB, got {self.memory_budget_mb}")
        return tile_for_budget(self.memory_budget_mb * 2**20, self.bytes_per_pixel, self.tile_pad)

    def _check(self, lr: np.ndarray) -> np.ndarray:
        lr = np.asarray(lr)
        if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[-1] != 3:
            raise ValueError(f"{self.name}: expected a uint8 [H, W, 3] image, got {lr.dtype} {lr.shape}")
        return lr

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        lr = self._check(lr)
        return upscale_tiled(self.upscale_float, lr, self.scale, self.tile_size(), self.tile_pad)

    def upscale_uint8(self, lr: np.ndarray, finish: Callable[[np.ndarray], np.ndarray] | None = None, out=None) -> np.ndarray:
        """uint8 [H, W, 3] -> uint8 [sH, sW, 3] rounded as `metrics.to_uint8`, tile by tile.

        `finish` (default `metrics.to_uint8`) maps each float32 core to what is stored, e.g. a
        gray conversion; `out` is an optional preallocated output (e.g. a channel slice).
        """
        from sr_keras import metrics

        lr = self._check(lr)
        return upscale_tiled(self.upscale_float, lr, self.scale, self.tile_size(), self.tile_pad, finish or metrics.to_uint8, out)


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB `imresize(lr, scale, 'bicubic')`."""
    upscale = lambda x: imresize(x[0], scale=scale)[None].astype(np.float32)  # noqa: E731
    return Upscaler("bicubic", scale, upscale, tile_pad=TILE_PADS["bicubic"], bytes_per_pixel=BICUBIC_BYTES_PER_PIXEL)


def xla_inference(model) -> bool:
    """Whether `keras_upscaler` XLA-compiles `model`'s forward on this machine: an SRResNet, where
    sr-train also picks XLA (`hardware.default_jit_compile`: CPUs without AVX-512, GPUs, TPUs).

    Measured on a 2-core Zen 3, one 128x128 -> 512x512 image (benchmarks/RESULTS.md, Zen 3
    experiments): SRResNet 0.914 -> 0.770 s with BN folded and XLA (its PReLU, BN and pixel shuffle
    become a few fused loops) for a ~1 s compilation per input shape; RRDBNet 2% faster for ~6 s,
    so it stays on TF's kernels.
    """
    from sr_keras.archs import SRResNet
    from sr_keras.training import hardware

    return isinstance(model, SRResNet) and hardware.default_jit_compile()


class KerasForward:
    """float32 [1, h, w, 3] numpy -> the generator's output, numpy: what a Keras upscaler runs.

    With `xla`, an input shape seen before runs an XLA-compiled forward (compiled on that second
    call, then cached per shape) and a new shape runs TF's kernels: a one-off image size never pays
    for a compilation, while the tiles of a large image (all windows have one shape) and a folder
    of same-sized photos do, once.  The two paths agree to float32 rounding (about 1e-6).
    """

    def __init__(self, model, xla: bool = False):
        # One trace for every image size: TF's retracing detector counts traces per code object, so
        # several upscalers each tracing a few shapes would otherwise warn about "excessive retracing".
        signature = [tf.TensorSpec([None, None, None, 3], tf.float32)]
        self.graph = tf.function(lambda x: model(x, training=False), input_signature=signature)
        self.xla = tf.function(lambda x: model(x, training=False), input_signature=signature, jit_compile=True) if xla else None
        self.shapes_seen: set[tuple[int, ...]] = set()
        self.calls = {"graph": 0, "xla": 0}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        shape = tuple(np.shape(x))
        path = "xla" if (self.xla is not None and shape in self.shapes_seen) else "graph"
        self.shapes_seen.add(shape)
        self.calls[path] += 1
        return getattr(self, path)(tf.constant(x, tf.float32)).numpy()


def keras_upscaler(model, name: str, xla: bool | None = None) -> Upscaler:
    """Wrap a Keras generator (float32 [0, 1] in and out); the scale is read from the model.

    xla: XLA-compile repeated input shapes (`KerasForward`); None decides by `xla_inference`.
    """
    scale = model_scale(model)
    forward = KerasForward(model, xla_inference(model) if xla is None else xla)
    return Upscaler(name, scale, forward, tile_pad=default_tile_pad(model), bytes_per_pixel=bytes_per_lr_pixel(model), model=model)


def model_scale(model) -> int:
    """A generator's upscaling factor: its config's `scale`, else measured on a 16x16 input."""
    scale = model.get_config().get("scale") if hasattr(model, "get_config") else None
    if scale:
        return int(scale)
    probe = model(tf.zeros([1, 16, 16, 3]), training=False)
    return int(probe.shape[1]) // 16


def load_upscaler(spec, scale: int = 4) -> Upscaler:
    """The upscaler of a model spec: `sr_keras.loader.load_upscaler` (see there)."""
    from sr_keras import loader

    return loader.load_upscaler(spec, scale)
