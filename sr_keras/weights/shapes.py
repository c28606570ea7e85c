"""Generator hyper-parameters from weight shapes: the ONE shape inference of every importer.

Every weights format the project reads (ncnn .param, PyTorch state dicts, Keras 3 .weights.h5,
Keras 2 HDF5) is first reduced to the generator's convolution kernel shapes in model order, as
(kh, kw, in_channels, out_channels) tuples, plus what the format says about upsampling; the
functions below turn those into constructor arguments.  They are only a guess to build the model
with: each importer then checks every weight against the built model.

  RRDBNet   conv_first, 15 per RRDB (5 per dense block), conv_body, one per x2 upsampling,
            conv_hr, conv_last: n = 4 + 15 * num_blocks + steps; num_features = conv_first's
            outputs, growth = the first dense conv's outputs.
  SRResNet  conv_first (9x9), 2 per residual block, conv_body, one conv of 4 * F outputs per x2
            upsampling (before its pixel shuffle), conv_last (9x9): n = 3 + 2 * num_blocks + steps.
"""

from __future__ import annotations

from typing import Sequence

ConvShape = tuple[int, int, int, int]  # (kh, kw, in_channels, out_channels)


def rrdbnet_hyperparameters(conv_shapes: Sequence[ConvShape], upsamplings: int, source: str) -> dict[str, int]:
    """RRDBNet(...) arguments from its conv kernel shapes (model order) and x2 upsampling count.

    `source` names the file in the ValueError raised when the shapes are not an RRDBNet's.
    """
    n = len(conv_shapes)
    blocks, rest = divmod(n - 4 - upsamplings, 15)
    if n < 20 or rest or blocks < 1 or upsamplings not in (1, 2, 3):
        raise ValueError(
            f"{source}: {n} convolutions and {upsamplings} upsamplings is not an RRDBNet "
            "(1 + 15 per block + 1 + one per x2 upsampling + 2 convolutions; x2, x4 or x8)"
        )
    first, dense, last = conv_shapes[0], conv_shapes[1], conv_shapes[-1]
    return {
        "num_blocks": blocks,
        "num_features": int(first[3]),
        "growth": int(dense[3]),
        "scale": 2**upsamplings,
        "in_channels": int(first[2]),
        "out_channels": int(last[3]),
    }


def srresnet_hyperparameters(conv_shapes: Sequence[ConvShape], source: str) -> dict[str, int]:
    """SRResNet(...) arguments (num_blocks, num_features, scale) from its conv kernel shapes.

    The upsampling convolutions are the ones with 4 * num_features outputs (each feeds a x2 pixel
    shuffle); raises ValueError naming `source` when the shapes are not an SRResNet's.
    """
    n = len(conv_shapes)
    if n < 5:
        raise ValueError(f"{source}: {n} convolutions is not an SRResNet")
    features = int(conv_shapes[0][3])
    steps = sum(1 for shape in conv_shapes if shape[3] == 4 * features)
    blocks, rest = divmod(n - 3 - steps, 2)
    if rest or blocks < 1 or steps not in (1, 2, 3) or conv_shapes[0][:3] != (9, 9, 3) or conv_shapes[-1][3] != 3:
        raise ValueError(
            f"{source}: {n} convolutions ({steps} with {4 * features} outputs) is not an SRResNet "
            "(9x9 3->F, 2 per block, 1, one F->4F per x2 upsampling, 9x9 F->3)"
        )
    return {"num_blocks": blocks, "num_features": features, "scale": 2**steps}
