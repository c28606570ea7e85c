"""RRDBNet, the ESRGAN generator (Wang et al. 2018, Sec. 3.1, Figs. 3-4; BasicSR's RRDBNet).

conv_first 3x3 F -> B x RRDB -> conv_body 3x3 F -> + conv_first output
-> log2(scale) x [nearest x2, conv 3x3 F, LeakyReLU 0.2] -> conv_hr 3x3 F + LeakyReLU 0.2
-> conv_last 3x3 out_channels.
RRDB(x) = x + 0.2 * RDB3(RDB2(RDB1(x))); residual dense block: conv k (k = 1..4) sees the
concatenation of the block input and all previous outputs and emits `growth` channels +
LeakyReLU 0.2; conv5 emits F channels, linear; RDB(x) = x + 0.2 * conv5.  No batch norm.

Input float32 RGB [N, H, W, 3] in [0, 1], any size; output [N, sH, sW, 3] in [0, 1], linear.
Layer names are BasicSR's state-dict keys with '.' -> '_' (body.0.rdb1.conv1 -> body_0_rdb1_conv1),
so PyTorch and ncnn weights map by name.  Initialisation as BasicSR: RDB convs Kaiming-normal
(fan_in, gain sqrt 2) scaled by 0.1 with zero bias ("smaller initialisation"); the other convs
PyTorch's default (uniform, bound 1/sqrt(fan_in)).
Defaults (23 blocks, 64 features, growth 32, x4, RGB): exactly 16,697,987 parameters.
"""

from __future__ import annotations

import keras

from sr_keras.archs.layers import Conv2D, ScaledResidual
from sr_keras.archs.srresnet import upsampling_steps

RESIDUAL_SCALE = 0.2


def _small_kaiming():
    # std = 0.1 * sqrt(2 / fan_in)  <=>  variance = 0.02 / fan_in
    return keras.initializers.VarianceScaling(scale=0.02, mode="fan_in", distribution="untruncated_normal")


def _torch_default():
    # kaiming_uniform(a=sqrt(5)): bound = sqrt(6 / (6 fan_in)) = sqrt(3 * (1/3) / fan_in)
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def _conv(filters: int, name: str, initializer=None) -> Conv2D:
    return Conv2D(filters, 3, padding="same", kernel_initializer=initializer or _torch_default(), name=name)


def _lrelu(name: str) -> keras.layers.LeakyReLU:
    return keras.layers.LeakyReLU(negative_slope=0.2, name=name)


def residual_dense_block(x, num_features: int, growth: int, prefix: str):
    """5 densely connected convs; returns x + 0.2 * conv5."""
    features = [x]
    for k in range(1, 5):
        inputs = features[0] if k == 1 else keras.layers.Concatenate(name=f"{prefix}_concat{k}")(features)
        y = _conv(growth, f"{prefix}_conv{k}", _small_kaiming())(inputs)
        features.append(_lrelu(f"{prefix}_lrelu{k}")(y))
    y = _conv(num_features, f"{prefix}_conv5", _small_kaiming())(keras.layers.Concatenate(name=f"{prefix}_concat5")(features))
    return ScaledResidual(RESIDUAL_SCALE, name=f"{prefix}_residual")([x, y])


def rrdb(x, num_features: int, growth: int, prefix: str):
    """Residual-in-residual dense block: x + 0.2 * RDB3(RDB2(RDB1(x)))."""
    y = x
    for j in range(1, 4):
        y = residual_dense_block(y, num_features, growth, f"{prefix}_rdb{j}")
    return ScaledResidual(RESIDUAL_SCALE, name=f"{prefix}_residual")([x, y])


@keras.saving.register_keras_serializable(package="sr_keras")
class RRDBNet(keras.Model):
    """ESRGAN generator with `num_blocks` RRDBs of `num_features` channels, x`scale` (2, 4, 8)."""

    def __init__(
        self,
        num_blocks: int = 23,
        num_features: int = 64,
        growth: int = 32,
        scale: int = 4,
        in_channels: int = 3,
        out_channels: int = 3,
        **kwargs,
    ):
        steps = upsampling_steps(scale)
        f = num_features
        inputs = keras.Input(shape=(None, None, in_channels), name="lr")
        first = _conv(f, "conv_first")(inputs)
        x = first
        for i in range(num_blocks):
            x = rrdb(x, f, growth, f"body_{i}")
        x = _conv(f, "conv_body")(x)
        x = keras.layers.Add(name="add_body")([first, x])
        for k in range(1, steps + 1):
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"upsample{k}")(x)
            x = _lrelu(f"conv_up{k}_lrelu")(_conv(f, f"conv_up{k}")(x))
        x = _lrelu("conv_hr_lrelu")(_conv(f, "conv_hr")(x))
        outputs = _conv(out_channels, "conv_last")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=kwargs.pop("name", "rrdbnet"), **kwargs)
        self.num_blocks = num_blocks
        self.num_features = num_features
        self.growth = growth
        self.scale = scale
        self.in_channels = in_channels
        self.out_channels = out_channels

    def get_config(self):
        return {
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
            "growth": self.growth,
            "scale": self.scale,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
