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


# LR pixels of context per tile side (`tile_pad`) by architecture, chosen so that tiled output stays
# within a few grey levels of the untiled output (the overlap is discarded, never blended).  Measured
# by experiments/results/deploy/seams.py (192x192 LR photo crop, tiles of 64 or 32 LR pixels):
#   realesrgan-x4plus (RRDBNet, 23 blocks): pad 10 -> max 54 grey levels, 32 -> 13, 48 -> 2.8, 64 -> 0.65 (tiles of 32);
#   SRResNet (16 blocks, trained): pad 10 -> 2.8, 16 -> 0.015, 48 -> 0.
# RRDBNet's receptive field spans hundreds of pixels, so its effective context is far wider than
# SRResNet's.  Bicubic x4 reads 2 LR pixels on each side: pad 2 is exact.
TILE_PADS = {"RRDBNet": 64, "SRResNet": 16, "bicubic": 2}
DEFAULT_TILE_PAD = 64  # architectures not listed (e.g. a SavedModel): RRDBNet's, the widest


def default_tile_pad(model) -> int:
    """The tile pad of a generator's architecture (TILE_PADS), DEFAULT_TILE_PAD if unknown."""
    from sr_keras.archs import RRDBNet, SRResNet

    for architecture in (RRDBNet, SRResNet):
        if isinstance(model, architecture):
            return TILE_PADS[architecture.__name__]
    return DEFAULT_TILE_PAD


def tile_windows(length: int, tile: int, pad: int) -> list[tuple[int, int, int, int]]:
    """Split [0, length) into cores of `tile` samples, each read through a window with `pad`
    samples of context on both sides.

    Returns (window_start, window_end, core_start, core_end) tuples.  All windows have the same
    size min(length, tile + 2 * pad): windows at the borders are shifted inwards instead of
    shrunk, so a compiled model sees one input shape.  Cores partition [0, length) exactly.
    """
    if tile <= 0 or tile >= length:
        return [(0, length, 0, length)]
    size = min(length, tile + 2 * pad)
    result = []
    for core_start in range(0, length, tile):
        core_end = min(core_start + tile, length)
        window_start = min(max(core_start - pad, 0), length - size)
        result.append((window_start, window_start + size, core_start, core_end))
    return result


def upscale_tiled(upscale_float, lr: np.ndarray, scale: int, tile: int, tile_pad: int) -> np.ndarray:
    """Run `upscale_float` ([1, h, w, 3] -> [1, sh, sw, 3], float32 [0, 1]) tile by tile.

    lr: float32 [H, W, 3] in [0, 1].  Each tile of `tile` x `tile` LR pixels is upscaled with
    `tile_pad` LR pixels of context on every side, and only its core is kept: overlaps are
    discarded, never blended, so there are no seams once tile_pad covers the receptive field that
    matters.  Peak memory is that of one padded tile (plus the float32 output image).
    """
    height, width = lr.shape[:2]
    output = np.empty((height * scale, width * scale, lr.shape[2]), dtype=np.float32)
    for y0, y1, cy0, cy1 in tile_windows(height, tile, tile_pad):
        for x0, x1, cx0, cx1 in tile_windows(width, tile, tile_pad):
            sr = np.asarray(upscale_float(lr[None, y0:y1, x0:x1]))[0]
            output[cy0 * scale : cy1 * scale, cx0 * scale : cx1 * scale] = sr[
                (cy0 - y0) * scale : (cy1 - y0) * scale, (cx0 - x0) * scale : (cx1 - x0) * scale
            ]
    return output


@dataclasses.dataclass
class Upscaler:
    """A named x`scale` upscaler: `__call__(uint8 [H, W, C]) -> float32 [0, 1] [sH, sW, 3]`.

    `tile` > 0 processes the image in tiles of that many LR pixels with `tile_pad` pixels of
    context (see `upscale_tiled`; the loaders set the architecture's TILE_PADS value); 0 runs the
    whole image at once.
    """

    name: str
    scale: int
    upscale_float: Callable[[np.ndarray], np.ndarray]  # float32 [1, h, w, 3] in [0, 1] -> [1, sh, sw, 3]
    tile: int = 0
    tile_pad: int = DEFAULT_TILE_PAD

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        lr = np.asarray(lr)
        if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[-1] != 3:
            raise ValueError(f"{self.name}: expected a uint8 [H, W, 3] image, got {lr.dtype} {lr.shape}")
        return upscale_tiled(self.upscale_float, lr.astype(np.float32) / 255.0, self.scale, self.tile, self.tile_pad)


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB `imresize(lr, scale, 'bicubic')`."""
    upscale = lambda x: imresize(x[0], scale=scale)[None].astype(np.float32)  # noqa: E731
    return Upscaler("bicubic", scale, upscale, tile_pad=TILE_PADS["bicubic"])


def keras_upscaler(model, name: str) -> Upscaler:
    """Wrap a Keras generator (float32 [0, 1] in and out); the scale is read from the model."""
    scale = model_scale(model)
    # One trace for every image size: TF's retracing detector counts traces per code object, so
    # several upscalers each tracing a few shapes would otherwise warn about "excessive retracing".
    predict = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    return Upscaler(name, scale, lambda x: predict(tf.constant(x, tf.float32)).numpy(), tile_pad=default_tile_pad(model))


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
