"""MATLAB-exact bicubic `imresize`, as used to make the LR images of every SR benchmark.

One definition, two faces:
  * `resize_weights` builds, in numpy float64, the [out, in] matrix of MATLAB's
    `contributions()` (cubic kernel a = -0.5, kernel support 4, widened by 1/scale and scaled by
    `scale` when shrinking with antialiasing, rows normalised to sum to 1, symmetric borders);
  * `imresize` (numpy, for evaluation) and `imresize_tf` (TF ops, for `tf.data`) both apply those
    matrices along height then width.  Resizing is separable and linear, so the pass order only
    changes float rounding.

Sizes follow MATLAB: with a scale factor s, the output length is ceil(s * input length) and the
kernel uses s itself (not output/input); with an explicit output size, s = output/input.
Values are not clipped or rounded: callers decide (MATLAB clips and rounds for uint8 input).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's `cubic`), support [-2, 2]."""
    absx = np.abs(x)
    absx2 = absx**2
    absx3 = absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0
    ) * ((absx > 1) & (absx <= 2))


def output_length(in_length: int, scale: float) -> int:
    """MATLAB's output length for a scale factor: ceil(scale * in_length)."""
    # Round first so that e.g. 0.25 * 96 is not pushed to 25 by float error.
    return int(math.ceil(round(scale * in_length, 9)))


def resize_weights(in_length: int, out_length: int, scale: float, antialiasing: bool = True) -> np.ndarray:
    """The [out_length, in_length] float64 bicubic resampling matrix of MATLAB `imresize`.

    Row i holds the weights with which input samples contribute to output sample i; each row sums
    to 1.  Out-of-range taps are folded back with MATLAB's symmetric padding
    (..., 1, 0 | 0, 1, ..., n-1 | n-1, n-2, ...).
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f"resize lengths must be positive, got {in_length} -> {out_length}")
    kernel_width = 4.0
    shrinking_with_aa = scale < 1 and antialiasing
    if shrinking_with_aa:
        kernel_width /= scale
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output sample centres in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based input positions
    distance = u[:, None] - indices
    if shrinking_with_aa:
        weights = scale * cubic(scale * distance)
    else:
        weights = cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric boundary: MATLAB's aux = [1:n, n:-1:1], indexed modulo 2n.
    aux = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    folded = aux[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.repeat(np.arange(out_length), taps)
    np.add.at(matrix, (rows, folded.ravel()), weights.ravel())
    return matrix


def _size_and_scales(height: int, width: int, scale: float | None, size: tuple[int, int] | None):
    if (scale is None) == (size is None):
        raise ValueError("pass exactly one of scale= or size=")
    if size is not None:
        out_h, out_w = int(size[0]), int(size[1])
        return out_h, out_w, out_h / height, out_w / width
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return output_length(height, scale), output_length(width, scale), float(scale), float(scale)


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialiasing: bool = True,
) -> np.ndarray:
    """MATLAB `imresize(image, scale, 'bicubic')` in float64.

    Args:
      image: [H, W] or [H, W, C] array, any real dtype (uint8 is taken as values 0..255).
      scale: resize factor (e.g. 0.25 for x4 downsampling, 4 for upsampling), or
      size: (out_h, out_w) instead of scale.
      antialiasing: MATLAB's 'Antialiasing' option; only matters when shrinking.
    Returns:
      float64 array of the resized image in the input's value range, neither clipped nor rounded.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim not in (2, 3):
        raise ValueError(f"imresize expects an [H, W] or [H, W, C] image, got shape {image.shape}")
    height, width = image.shape[:2]
    out_h, out_w, scale_h, scale_w = _size_and_scales(height, width, scale, size)
    weights_h = resize_weights(height, out_h, scale_h, antialiasing)
    weights_w = resize_weights(width, out_w, scale_w, antialiasing)
    out = np.tensordot(weights_h, image, axes=(1, 0))  # [out_h, W, (C)]
    out = np.tensordot(weights_w, out, axes=(1, 1))  # [out_w, out_h, (C)]
    return np.swapaxes(out, 0, 1)


def imresize_tf(
    image: tf.Tensor,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialiasing: bool = True,
    dtype: tf.DType = tf.float32,
) -> tf.Tensor:
    """The TF face of `imresize`, usable inside `tf.data` (and traced graphs).

    Args:
      image: [H, W, C] or [N, H, W, C] tensor, any real dtype (cast to `dtype`).
      scale / size / antialiasing: as for `imresize`.
      dtype: computation and output dtype: float32, or float64 where values rounded to 8 bits
        must equal the float64 numpy `imresize`'s (float32 flips about 1 in 10^5 roundings).
    Returns:
      `dtype` tensor, neither clipped nor rounded.

    With a static spatial shape (e.g. fixed-size training crops) the resampling matrices are
    numpy constants, so the op is two matmuls.  With a dynamic shape they are built by the same
    numpy `resize_weights` through `tf.numpy_function` (cheap: two small matrices per image).
    """
    dtype = tf.as_dtype(dtype)
    image = tf.cast(tf.convert_to_tensor(image), dtype)
    height, width = image.shape[-3], image.shape[-2]
    if height is not None and width is not None:
        out_h, out_w, scale_h, scale_w = _size_and_scales(height, width, scale, size)
        weights_h = tf.constant(resize_weights(height, out_h, scale_h, antialiasing), dtype)
        weights_w = tf.constant(resize_weights(width, out_w, scale_w, antialiasing), dtype)
    else:
        dynamic_hw = tf.shape(image)[-3:-1]

        def weights_for(hw):
            h, w = int(hw[0]), int(hw[1])
            out_h, out_w, s_h, s_w = _size_and_scales(h, w, scale, size)
            return (
                resize_weights(h, out_h, s_h, antialiasing).astype(dtype.as_numpy_dtype),
                resize_weights(w, out_w, s_w, antialiasing).astype(dtype.as_numpy_dtype),
            )

        weights_h, weights_w = tf.numpy_function(weights_for, [dynamic_hw], [dtype, dtype])
        weights_h.set_shape([None, None])
        weights_w.set_shape([None, None])
    out = _resample_axis(weights_h, image, axis=-3)
    return _resample_axis(weights_w, out, axis=-2)


def _resample_axis(weights: tf.Tensor, image: tf.Tensor, axis: int) -> tf.Tensor:
    """out[.., o, ..] = sum_i weights[o, i] image[.., i, ..] along `axis`.

    The matrix is banded (about 4/scale + 2 taps per row), so it is applied as a sparse matrix:
    a whole photo costs taps multiply-adds per output value, not its full side length.
    """
    rank = image.shape.rank
    axis %= rank
    order = [axis] + [d for d in range(rank) if d != axis]
    moved = tf.transpose(image, order)
    rows = tf.reshape(moved, [tf.shape(moved)[0], -1])
    resampled = tf.sparse.sparse_dense_matmul(tf.sparse.from_dense(weights), rows)
    resampled = tf.reshape(resampled, tf.concat([tf.shape(weights)[:1], tf.shape(moved)[1:]], axis=0))
    return tf.transpose(resampled, [order.index(d) for d in range(rank)])
