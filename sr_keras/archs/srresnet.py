"""SRResNet, the SRGAN generator (Ledig et al. 2017, Fig. 4).

conv 9x9 F + PReLU -> B x [conv 3x3 F, BN, PReLU, conv 3x3 F, BN, + block input]
-> conv 3x3 F, BN, + output of the first conv -> log2(scale) x [conv 3x3 4F, pixel shuffle x2,
PReLU] -> conv 9x9 3 (computed on space-to-depth blocks: `CONV_LAST_BLOCK`).

Input: float32 RGB [N, H, W, 3] in [0, 1], any H, W.  Output: [N, sH, sW, 3] in [0, 1]; by
default the last conv is linear (not clipped; `tanh_output` maps a tanh by (x + 1) / 2 instead).
The paper scales HR targets to [-1, 1], so its MSE is 4x that of [0, 1] images.  Adam's step is
invariant to that factor only when the MSE is the whole loss (SRResNet-MSE); in a weighted sum
(SRGAN-MSE: MSE + 1e-3 * adversarial) it sets the balance, so the pixel loss takes the range as an
option (TrainConfig.pixel_range, losses/pixel.py).
PReLU has one slope per channel, shared over space, so any input size works.
BN uses batch statistics when training and moving statistics at inference; it is
`synchronized` so that under tf.distribute the batch statistics are those of the global batch.

Options for generators trained elsewhere (e.g. krasserm's Keras 2 SRGAN, `sr_keras.weights.krasserm`):
  * tanh_output=True: the last conv is followed by tanh, a [-1, 1] output, mapped to [0, 1] by
    (x + 1) / 2 (layer `output_to_unit`), so the model's output range stays [0, 1];
  * batch_norm_epsilon: the BN epsilon (default 1e-5, PyTorch's; Keras 2 / tf.keras used 1e-3).
"""

from __future__ import annotations

import math

import keras

from sr_keras.archs import layers as sr_layers
from sr_keras.archs.layers import PixelShuffle


DEFAULT_BATCH_NORM_EPSILON = 1e-5  # PyTorch's BatchNorm2d default
# conv_last's space-to-depth block (sr_keras.archs.layers.Conv2D).  Measured on a 2-core Zen 3 (AVX2),
# ms for the conv alone: training forward + both gradients at 16 x 96 x 96 x 64 / inference forward
# at 1 x 512 x 512 x 64.  XLA: Conv2D 447 / 290, block 2 261 / 208, block 4 262 / 212;
# TF's kernels: Conv2D 1549 / 311, block 2 757 / 237, block 4 515 / 240.
CONV_LAST_BLOCK = 4


def _batch_norm(name: str, epsilon: float = DEFAULT_BATCH_NORM_EPSILON) -> keras.layers.BatchNormalization:
    # PyTorch's BatchNorm2d defaults (momentum 0.1 there = 0.9 here, eps 1e-5).
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=epsilon, synchronized=True, name=name)


def _prelu(name: str) -> keras.layers.PReLU:
    return keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2], name=name)


def upsampling_steps(scale: int) -> int:
    """Number of x2 upsampling blocks for scale 2, 4 or 8."""
    steps = int(round(math.log2(scale))) if scale > 0 else 0
    if scale not in (2, 4, 8):
        raise ValueError(f"scale must be 2, 4 or 8, got {scale}")
    return steps


@keras.saving.register_keras_serializable(package="sr_keras")
class SRResNet(keras.Model):
    """SRResNet generator: `num_blocks` residual blocks of `num_features` channels, x`scale`.

    batch_norm=False removes every BN layer (ESRGAN's ablation, Fig. 8 column 2); the BN
    positions become identity layers so that the layer names stay those of the BN model.
    batch_norm_epsilon is BN's epsilon; tanh_output=True ends in (tanh(conv_last) + 1) / 2
    (see the module docstring).  Both are for imported generators; the defaults are the
    project's own.
    """

    def __init__(
        self,
        num_blocks: int = 16,
        num_features: int = 64,
        scale: int = 4,
        batch_norm: bool = True,
        batch_norm_epsilon: float = DEFAULT_BATCH_NORM_EPSILON,
        tanh_output: bool = False,
        **kwargs,
    ):
        steps = upsampling_steps(scale)
        f = num_features
        if batch_norm:
            norm = lambda name: _batch_norm(name, batch_norm_epsilon)  # noqa: E731
        else:
            norm = lambda name: keras.layers.Identity(name=name)  # noqa: E731
        inputs = keras.Input(shape=(None, None, 3), name="lr")
        x = sr_layers.Conv2D(f, 9, padding="same", name="conv_first")(inputs)
        x = skip = _prelu("prelu_first")(x)
        for i in range(num_blocks):
            y = sr_layers.Conv2D(f, 3, padding="same", name=f"body_{i}_conv1")(x)
            y = norm(f"body_{i}_bn1")(y)
            y = _prelu(f"body_{i}_prelu")(y)
            y = sr_layers.Conv2D(f, 3, padding="same", name=f"body_{i}_conv2")(y)
            y = norm(f"body_{i}_bn2")(y)
            x = keras.layers.Add(name=f"body_{i}_add")([x, y])
        x = sr_layers.Conv2D(f, 3, padding="same", name="conv_body")(x)
        x = norm("bn_body")(x)
        x = keras.layers.Add(name="add_body")([skip, x])
        for i in range(steps):
            x = sr_layers.Conv2D(4 * f, 3, padding="same", name=f"upsample_{i}_conv")(x)
            x = PixelShuffle(2, name=f"upsample_{i}_shuffle")(x)
            x = _prelu(f"upsample_{i}_prelu")(x)
        # The 9x9 F -> 3 output conv, computed on 4x4 space-to-depth blocks: the same kernel and
        # function, 1.4-3x faster on CPUs than a 3-column matrix product (CONV_LAST_BLOCK above).
        outputs = sr_layers.Conv2D(3, 9, block=CONV_LAST_BLOCK, padding="same", activation="tanh" if tanh_output else None, name="conv_last")(x)
        if tanh_output:  # [-1, 1] -> [0, 1]
            outputs = keras.layers.Rescaling(0.5, offset=0.5, name="output_to_unit")(outputs)
        super().__init__(inputs=inputs, outputs=outputs, name=kwargs.pop("name", "srresnet"), **kwargs)
        self.num_blocks = num_blocks
        self.num_features = num_features
        self.scale = scale
        self.batch_norm = batch_norm
        self.batch_norm_epsilon = float(batch_norm_epsilon)
        self.tanh_output = bool(tanh_output)

    def get_config(self):
        config = {"num_blocks": self.num_blocks, "num_features": self.num_features, "scale": self.scale, "name": self.name}
        # Options only when not the default, so configs saved before them still compare equal.
        if not self.batch_norm:
            config["batch_norm"] = False
        if self.batch_norm_epsilon != DEFAULT_BATCH_NORM_EPSILON:
            config["batch_norm_epsilon"] = self.batch_norm_epsilon
        if self.tanh_output:
            config["tanh_output"] = True
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
