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
