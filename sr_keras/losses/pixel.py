"""Pixel losses between HR targets and SR outputs, float32 [N, H, W, C] in [0, 1] -> scalar.

Both are means over every element (batch, pixels, channels), as PyTorch's MSELoss / L1Loss with
reduction='mean' (SRGAN's MSE and ESRGAN's L1).  Inputs are cast to float32 so that under mixed
precision the loss is reduced in float32.
"""

from __future__ import annotations

import tensorflow as tf


def mse(hr: tf.Tensor, sr: tf.Tensor) -> tf.Tensor:
    """Mean squared error (SRResNet-MSE)."""
    return tf.reduce_mean(tf.square(tf.cast(hr, tf.float32) - tf.cast(sr, tf.float32)))


def l1(hr: tf.Tensor, sr: tf.Tensor) -> tf.Tensor:
    """Mean absolute error (ESRGAN's PSNR stage and its 1e-2 * L1 term)."""
    return tf.reduce_mean(tf.abs(tf.cast(hr, tf.float32) - tf.cast(sr, tf.float32)))
