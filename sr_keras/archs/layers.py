"""Small custom layers shared by the architectures (all serializable, all TFLite builtins)."""

from __future__ import annotations

import keras
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


@keras.saving.register_keras_serializable(package="sr_keras")
class SpaceToDepthConv2D(keras.layers.Conv2D):
    """A stride-2 `Conv2D` computed as space-to-depth followed by a stride-1 convolution.

    Same kernel [k, k, C_in, C_out], bias, output and gradients as Conv2D(strides=2) with 'same'
    or 'valid' padding (so weights and checkpoints are interchangeable).  The kernel is zero-padded
    to an even size 2m and rearranged to [m, m, 4 C_in, C_out]; the input's 2x2 blocks become
    4 C_in channels.  Why: XLA:CPU lowers the input and kernel gradients of a strided convolution
    to slow generic loops (`convolution-base-dilated`, `-window-dilated`; 11-14% of a GAN
    update's op time in benchmarks/RESULTS.md), while every gradient here is an ordinary stride-1
    convolution.  Costs (2m)^2 / k^2 of the multiply-adds: 16/9 for 3x3, none for 4x4.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.setdefault("strides", 2)
        super().__init__(filters, kernel_size, **kwargs)
        if tuple(self.strides) != (2, 2) or tuple(self.dilation_rate) != (1, 1) or self.groups != 1:
            raise ValueError(f"{self.name}: SpaceToDepthConv2D is a stride-2, undilated, ungrouped convolution")
        if self.data_format != "channels_last":
            raise ValueError(f"{self.name}: SpaceToDepthConv2D needs channels_last")

    def _pads(self, length: int, k: int) -> tuple[int, int, int]:
        """(before, after, output length) of one spatial axis, as Conv2D(strides=2) pads it."""
        if self.padding == "same":
            out = -(-length // 2)
            total = max((out - 1) * 2 + k - length, 0)
            before = total // 2
        else:
            out = (length - k) // 2 + 1
            before = 0
        m = -(-k // 2)
        needed = 2 * (out + m - 1)  # rows read by the even (2m) kernel, starting at the padded origin
        return before, needed - length - before, out

    def call(self, inputs):
        kh, kw = self.kernel_size
        _, height, width, channels = inputs.shape
        if height is None or width is None:
            height, width = keras.ops.shape(inputs)[1], keras.ops.shape(inputs)[2]
        top, bottom, out_h = self._pads(height, kh)
        left, right, out_w = self._pads(width, kw)
        x = inputs
        # Negative "after" pads crop rows/columns only the zero kernel taps would read.
        x = x[:, : height + min(bottom, 0), : width + min(right, 0), :]
        x = keras.ops.pad(x, [[0, 0], [top, max(bottom, 0)], [left, max(right, 0)], [0, 0]])
        mh, mw = -(-kh // 2), -(-kw // 2)
        x = keras.ops.reshape(x, [-1, out_h + mh - 1, 2, out_w + mw - 1, 2, channels])
        x = keras.ops.transpose(x, [0, 1, 3, 2, 4, 5])
        x = keras.ops.reshape(x, [-1, out_h + mh - 1, out_w + mw - 1, 4 * channels])
        kernel = keras.ops.pad(self.kernel, [[0, 2 * mh - kh], [0, 2 * mw - kw], [0, 0], [0, 0]])
        kernel = keras.ops.reshape(kernel, [mh, 2, mw, 2, channels, self.filters])
        kernel = keras.ops.transpose(kernel, [0, 2, 1, 3, 4, 5])
        kernel = keras.ops.reshape(kernel, [mh, mw, 4 * channels, self.filters])
        outputs = keras.ops.conv(x, kernel, strides=1, padding="valid", data_format="channels_last")
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
