"""SRResNet, the SRGAN generator (Ledig et al. 2017, Fig. 4).

conv 9x9 F + PReLU -> B x [conv 3x3 F, BN, PReLU, conv 3x3 F, BN, + block input]
-> conv 3x3 F, BN, + output of the first conv -> log2(scale) x [conv 3x3 4F, pixel shuffle x2,
PReLU] -> conv 9x9 3.

Input: float32 RGB [N, H, W, 3] in [0, 1], any H, W.  Output: [N, sH, sW, 3] in [0, 1]; the last
conv is linear (no tanh, not clipped).  The paper scales HR targets to [-1, 1], so its MSE is 4x
that of [0, 1] images.  Adam's step is invariant to that factor only when the MSE is the whole
loss (SRResNet-MSE); in a weighted sum (SRGAN-MSE: MSE + 1e-3 * adversarial) it sets the balance,
so the pixel loss takes the range as an option (TrainConfig.pixel_range, losses/pixel.py).
PReLU has one slope per channel, shared over space, so any input size works.
BN uses batch statistics when training and moving statistics at inference; it is
`synchronized` so that under tf.distribute the batch statistics are those of the global batch.
"""

from __future__ import annotations

import math

import keras

from sr_keras.archs.layers import PixelShuffle


def _batch_norm(name: str) -> keras.layers.BatchNormalization:
    # PyTorch's BatchNorm2d defaults (momentum 0.1 there = 0.9 here, eps 1e-5).
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True, name=name)


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
    """

    def __init__(self, num_blocks: int = 16, num_features: int = 64, scale: int = 4, batch_norm: bool = True, **kwargs):
        steps = upsampling_steps(scale)
        f = num_features
        norm = _batch_norm if batch_norm else (lambda name: keras.layers.Identity(name=name))
        inputs = keras.Input(shape=(None, None, 3), name="lr")
        x = keras.layers.Conv2D(f, 9, padding="same", name="conv_first")(inputs)
        x = skip = _prelu("prelu_first")(x)
        for i in range(num_blocks):
            y = keras.layers.Conv2D(f, 3, padding="same", name=f"body_{i}_conv1")(x)
            y = norm(f"body_{i}_bn1")(y)
            y = _prelu(f"body_{i}_prelu")(y)
            y = keras.layers.Conv2D(f, 3, padding="same", name=f"body_{i}_conv2")(y)
            y = norm(f"body_{i}_bn2")(y)
            x = keras.layers.Add(name=f"body_{i}_add")([x, y])
        x = keras.layers.Conv2D(f, 3, padding="same", name="conv_body")(x)
        x = norm("bn_body")(x)
        x = keras.layers.Add(name="add_body")([skip, x])
        for i in range(steps):
            x = keras.layers.Conv2D(4 * f, 3, padding="same", name=f"upsample_{i}_conv")(x)
            x = PixelShuffle(2, name=f"upsample_{i}_shuffle")(x)
            x = _prelu(f"upsample_{i}_prelu")(x)
        outputs = keras.layers.Conv2D(3, 9, padding="same", name="conv_last")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=kwargs.pop("name", "srresnet"), **kwargs)
        self.num_blocks = num_blocks
        self.num_features = num_features
        self.scale = scale
        self.batch_norm = batch_norm

    def get_config(self):
        config = {"num_blocks": self.num_blocks, "num_features": self.num_features, "scale": self.scale, "name": self.name}
        if not self.batch_norm:  # only when off, so configs saved before the option still compare equal
            config["batch_norm"] = False
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
