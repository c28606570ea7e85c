"""Small custom layers shared by the architectures (all serializable, all TFLite builtins)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sr_keras")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution's rearrangement [N, H, W, C*r^2] -> [N, rH, rW, C] (Shi et al. 2016).

    Uses TF's `depth_to_space` channel order (channel (i*r + j)*C + c goes to offset (i, j) of
    channel c), which differs from PyTorch's `pixel_shuffle` (c*r^2 + i*r + j): weights imported
    from PyTorch must permute the output channels of the preceding convolution.
    Lowers to the TFLite builtin DEPTH_TO_SPACE.
    """

    def __init__(self, scale: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.scale
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="sr_keras")
class ScaledResidual(keras.layers.Layer):
    """x + scale * y: ESRGAN's residual scaling (scale 0.2) of dense blocks and RRDBs."""

    def __init__(self, scale: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        x, y = inputs
        return x + self.scale * y

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def space_to_depth_kernel_index(kernel_size: int, block: int) -> np.ndarray:
    """Where each tap of the space-to-depth kernel comes from: int32 [k', k', b, b, b, b].

    Entry [A, B, i, j, r, s] is the flat tap dy * k + dx of the k x k kernel that links input offset
    (i, j) of block (P + A - R', Q + B - R') to output offset (r, s) of block (P, Q), or k * k where
    no tap does (a zero).  R = k // 2, R' = ceil(R / b), k' = 2 R' + 1; dy = b (A - R') + i - r + R.
    """
    k, b = int(kernel_size), int(block)
    radius = k // 2
    block_radius = -(-radius // b)
    size = 2 * block_radius + 1
    index = np.full((size, size, b, b, b, b), k * k, dtype=np.int32)
    for a, bb, i, j, r, s in np.ndindex(index.shape):
        dy = b * (a - block_radius) + i - r + radius
        dx = b * (bb - block_radius) + j - s + radius
        if 0 <= dy < k and 0 <= dx < k:
            index[a, bb, i, j, r, s] = dy * k + dx
    return index


@keras.saving.register_keras_serializable(package="sr_keras")
class Conv2D(keras.layers.Conv2D):
    """keras' Conv2D, optionally computed on `block` x `block` space-to-depth blocks of its input.

    Named Conv2D on purpose: Keras names a layer's group in .weights.h5 files after its class
    (layers/conv2d_6), so a model using this layer reads and writes the same weight files as one
    built with keras.layers.Conv2D.  block=1 is keras' Conv2D.  block > 1 (a stride-1 "same"
    convolution only) keeps the kernel [k, k, C, N] and bias variables and the outputs and
    gradients up to float32 summation order; only the computation differs:

        y = depth_to_space(conv(space_to_depth(x, b), K'), b),   K' [k', k', b^2 C, b^2 N]

    with K' gathered from the kernel (`space_to_depth_kernel_index`; k' = 2 ceil((k // 2) / b) + 1).
    It is worth it for convolutions with few output channels, which leave a CPU's matrix kernels
    mostly idle: SRResNet's 9 x 9 64 -> 3 output convolution runs as a 3 x 3 1024 -> 48 one
    (block 4: 1.78x the multiply-adds, yet faster; `srresnet.CONV_LAST_BLOCK`, benchmarks/RESULTS.md).  Inputs whose
    height or width is not a multiple of `block` are padded with zeros at the bottom / right and
    the output cropped, which "same" zero padding makes exact.
    """

    def __init__(self, filters, kernel_size, block: int = 1, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.block = int(block)
        if self.block < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        if self.block == 1:
            return
        size = self.kernel_size
        if size[0] != size[1] or size[0] % 2 != 1:
            raise ValueError(f"Conv2D(block={self.block}) needs a square odd kernel, got {size}")
        if self.padding != "same" or tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1) or self.groups != 1:
            raise ValueError(f"Conv2D(block={self.block}) is a stride-1, dilation-1, padding='same', groups=1 convolution")
        if self.data_format != "channels_last":
            raise ValueError(f"Conv2D(block={self.block}) needs channels_last")
        self._index = space_to_depth_kernel_index(size[0], self.block)

    def blocked_kernel(self, dtype):
        """K' [k', k', b^2 C, b^2 N] of the current kernel, in `dtype`."""
        k, b = self.kernel_size[0], self.block
        channels, filters = self.kernel.shape[2], self.kernel.shape[3]
        taps = tf.reshape(tf.cast(self.kernel, dtype), [k * k, channels, filters])
        taps = tf.concat([taps, tf.zeros([1, channels, filters], dtype)], axis=0)  # tap k * k: zero
        gathered = tf.gather(taps, self._index)  # [k', k', b, b, b, b, C, N]: (A, B, i, j, r, s, c, o)
        gathered = tf.transpose(gathered, [0, 1, 2, 3, 6, 4, 5, 7])  # (A, B, i, j, c, r, s, o)
        size = self._index.shape[0]
        return tf.reshape(gathered, [size, size, b * b * channels, b * b * filters])

    def call(self, inputs):
        b = self.block
        if b == 1:
            return super().call(inputs)
        shape = tf.shape(inputs)
        height, width = shape[1], shape[2]
        pad_h, pad_w = (-height) % b, (-width) % b
        x = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        # A pad by computed amounts loses the static channel count, which TFLite's conv needs back.
        x = tf.reshape(x, tf.stack([shape[0], height + pad_h, width + pad_w, inputs.shape[-1]]))
        y = tf.nn.conv2d(tf.nn.space_to_depth(x, b), self.blocked_kernel(inputs.dtype), 1, "SAME")
        y = tf.nn.depth_to_space(y, b)[:, :height, :width, :]
        if self.use_bias:
            y = y + tf.cast(self.bias, y.dtype)
        return self.activation(y) if self.activation is not None else y

    def get_config(self):
        return {**super().get_config(), "block": self.block}
