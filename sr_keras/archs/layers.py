"""Small custom layers shared by the architectures (all serializable, all TFLite builtins)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sr_keras.ops import strided_conv
from sr_keras.ops import winograd as winograd_ops


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
    """keras' Conv2D, optionally computed on `block` x `block` space-to-depth blocks of its input, or by
    Winograd's F(4x4, 3x3) where `use_winograd` switched that on and it pays (`winograd_pays`), or, for a
    stride-2 convolution, on its input's four phases where `use_stride2_phases` switched that on and it
    pays (`stride2_phases_pay`).

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
        # How to compute, not what: set by use_winograd (sr-train under XLA), never saved in configs.
        self.winograd = False
        self.stride2_phases = False
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

    def _plain(self) -> bool:
        """Unblocked, undilated, ungrouped, channels_last: the convolutions the training forms replace."""
        return self.block == 1 and tuple(self.dilation_rate) == (1, 1) and self.groups == 1 and self.data_format == "channels_last"

    def winograd_applies(self, input_shape, dtype) -> bool:
        """True where call computes by Winograd: switched on, a 3x3 stride-1 'same' float32 conv of a
        static spatial size and channel count for which `winograd_pays`."""
        if not (self.winograd and self._plain() and tuple(self.kernel_size) == (3, 3) and tuple(self.strides) == (1, 1) and self.padding == "same"):
            return False
        _, height, width, channels = input_shape
        if height is None or width is None or channels is None or keras.backend.standardize_dtype(dtype) != "float32":
            return False
        return winograd_pays(height, width, channels, self.filters)

    def stride2_phases_apply(self, input_shape) -> bool:
        """True where call computes on the input's phases (`sr_keras.ops.strided_conv`): switched on, a
        stride-2 'same' or 'valid' conv of a static spatial size for which `stride2_phases_pay`."""
        if not (self.stride2_phases and self._plain() and tuple(self.strides) == (2, 2) and self.padding in ("same", "valid")):
            return False
        _, height, width, _ = input_shape
        if height is None or width is None:
            return False
        return stride2_phases_pay(height, width, self.kernel_size[0], self.kernel_size[1])

    def finish(self, y):
        """Bias and activation on the convolution's result y."""
        if self.use_bias:
            y = y + tf.cast(self.bias, y.dtype)
        return self.activation(y) if self.activation is not None else y

    def call(self, inputs):
        b = self.block
        if b == 1:
            if self.winograd_applies(inputs.shape, inputs.dtype):
                return self.finish(winograd_ops.conv2d_3x3(inputs, tf.cast(self.kernel, inputs.dtype)))
            if self.stride2_phases_apply(inputs.shape):
                return self.finish(strided_conv.conv2d_stride2(inputs, tf.cast(self.kernel, inputs.dtype), self.padding))
            return super().call(inputs)
        shape = tf.shape(inputs)
        height, width = shape[1], shape[2]
        pad_h, pad_w = (-height) % b, (-width) % b
        x = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        # A pad by computed amounts loses the static channel count, which TFLite's conv needs back.
        x = tf.reshape(x, tf.stack([shape[0], height + pad_h, width + pad_w, inputs.shape[-1]]))
        y = tf.nn.conv2d(tf.nn.space_to_depth(x, b), self.blocked_kernel(inputs.dtype), 1, "SAME")
        return self.finish(tf.nn.depth_to_space(y, b)[:, :height, :width, :])

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def winograd_pays(height: int, width: int, in_channels: int, out_channels: int) -> bool:
    """Whether Winograd F(4x4, 3x3) beats XLA:CPU's direct convolution in training at this shape.

    Read from benchmarks/experiments/winograd_shapes.py (every 3x3 stride-1 conv shape of the four
    training workloads, batch 16, forward + both gradients; benchmarks/RESULTS.md) on a 2-core Zen 3:
      * faster, 1.2-1.9x: at least 64 output channels on maps from 12 x 12 to 48 x 48 pixels (SRResNet's
        body at 24 px 1.52x, its upsampling convs 1.45x / 1.21x, VGG19 blocks 2-4, the discriminators'
        middle convs; RRDBNet's conv_body 1.46x);
      * slower: 32 output channels (RRDBNet's dense convs with 96-160 inputs, 0.58x) and many more inputs
        than outputs (dense conv5, 192 -> 64: 0.83x), where the transforms of the wide input cost more
        than the products save;
      * maps of 64 px and more (0.82-1.27x: the transformed tiles, 2.25x the input, leave the cache) and of
        8 px or less (0.67-1.04x: 4 x 4 tiles waste most of the map).
    """
    maps = 12 <= min(height, width) and height * width <= 48 * 48
    return maps and out_channels >= 64 and in_channels <= 2 * out_channels


def stride2_phases_pay(height: int, width: int, kernel_height: int, kernel_width: int) -> bool:
    """Whether the four-phase form of a stride-2 convolution beats XLA:CPU's strided one in training.

    Measured on a 2-core Zen 3 (benchmarks/experiments/stride2_shapes.py, batch 16, forward + both
    gradients; benchmarks/RESULTS.md): the SRGAN discriminator's 3x3 convs 1.35x at 96 px and 1.14x at
    48 px but 0.94x at 24 and 12 px (the 1x1 and 1x2 phase kernels are thin); the VGG-style
    discriminator's 4x4 convs (four 2x2 phases) 1.50x at 130 px down to 1.07x at 18 px, 0.95x at 10 px.
    The forward alone is slower (0.36-0.98x), so inference and exports keep the strided convolution.
    """
    even = kernel_height % 2 == 0 and kernel_width % 2 == 0
    return min(height, width) >= (16 if even else 48)


def _switch(model: keras.Model, attribute: str, enabled: bool) -> int:
    switched = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, Conv2D):
            setattr(layer, attribute, bool(enabled))
            switched += 1
    return switched


def use_winograd(model: keras.Model, enabled: bool = True) -> int:
    """Compute the 3x3 stride-1 convolutions of `model` (nested models included) by Winograd where it pays.

    Sets `winograd` on every sr_keras Conv2D; the choice is made per call from the input shape
    (`Conv2D.winograd_applies`), so models traced at free sizes (exports) keep direct convolutions.
    Weights, configs and saved files are unchanged.  Returns the number of layers switched.
    """
    return _switch(model, "winograd", enabled)


def use_stride2_phases(model: keras.Model, enabled: bool = True) -> int:
    """Compute the stride-2 convolutions of `model` (nested models included) on their inputs' four
    phases where it pays (`Conv2D.stride2_phases_apply`, per call from the input shape).  The same
    multiply-adds and results (to float32 summation order); weights and configs unchanged.  Returns
    the number of sr_keras Conv2D layers switched."""
    return _switch(model, "stride2_phases", enabled)

