"""Pixel losses between HR targets and SR outputs, float32 [N, H, W, C] in [0, 1] -> scalar.

Both are means over every element (batch, pixels, channels), as PyTorch's MSELoss / L1Loss with
reduction='mean' (SRGAN's MSE and ESRGAN's L1).  Inputs are cast to float32 so that under mixed
precision the loss is reduced in float32.

`value_range` is the range of the images the loss is defined on.  The networks work on [0, 1];
a loss on (low, high) is that of both images mapped by low + (high - low) * x, i.e. the [0, 1]
MSE times (high - low)^2 and the L1 times (high - low).  BasicSR (ESRGAN) computes on [0, 1];
the SRGAN paper scales HR targets to [-1, 1], so its MSE is 4x the [0, 1] MSE.  For a pure pixel
loss the factor only rescales Adam's gradient, to which its step is invariant (up to epsilon);
in a weighted sum (SRGAN-MSE: MSE + 1e-3 * adversarial) it sets the balance of the terms.
"""

from __future__ import annotations

import tensorflow as tf

UNIT_RANGE = (0.0, 1.0)


def parse_value_range(text: str) -> tuple[float, float]:
    """'[-1, 1]' -> (-1.0, 1.0); brackets and spaces optional; raises ValueError unless low < high."""
    parts = text.strip().strip("[]").split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"pixel_range={text!r}: expected '[low, high]', e.g. '[0, 1]' or '[-1, 1]'") from None
    if not low < high:
        raise ValueError(f"pixel_range={text!r}: low must be below high")
    return low, high


def _scaled_difference(hr: tf.Tensor, sr: tf.Tensor, value_range: tuple[float, float]) -> tf.Tensor:
    """(low + w * hr) - (low + w * sr) = w * (hr - sr), w = high - low, in float32."""
    width = float(value_range[1]) - float(value_range[0])
    return width * (tf.cast(hr, tf.float32) - tf.cast(sr, tf.float32))


def mse(hr: tf.Tensor, sr: tf.Tensor, value_range: tuple[float, float] = UNIT_RANGE) -> tf.Tensor:
    """Mean squared error (SRResNet-MSE) of the images on `value_range`."""
    return tf.reduce_mean(tf.square(_scaled_difference(hr, sr, value_range)))


def l1(hr: tf.Tensor, sr: tf.Tensor, value_range: tuple[float, float] = UNIT_RANGE) -> tf.Tensor:
    """Mean absolute error (ESRGAN's PSNR stage and its 1e-2 * L1 term) of the images on `value_range`."""
    return tf.reduce_mean(tf.abs(_scaled_difference(hr, sr, value_range)))
