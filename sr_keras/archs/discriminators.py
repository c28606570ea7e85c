"""The two discriminators: SRGAN's (Ledig et al. 2017, Fig. 4) and ESRGAN's VGG-style one (BasicSR).

Both take float32 RGB [N, P, P, 3] in [0, 1] (P = patch_size) and return ONE LOGIT per image,
[N, 1]: the papers' final sigmoid is applied inside the losses (sr_keras.losses.adversarial),
which is the numerically stable form.  Convs followed by BN have no bias (BN's beta replaces it).
BN: momentum 0.9, epsilon 1e-5 (PyTorch's defaults), synchronized across replicas.
"""

from __future__ import annotations

import keras

from sr_keras.archs.layers import Conv2D


def _batch_norm(name: str) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True, name=name)


def _lrelu(name: str) -> keras.layers.LeakyReLU:
    return keras.layers.LeakyReLU(negative_slope=0.2, name=name)


@keras.saving.register_keras_serializable(package="sr_keras")
class SRGANDiscriminator(keras.Model):
    """SRGAN D: conv 3x3 F s1 + LReLU; 7 x [conv 3x3, BN, LReLU] with (F,2) (2F,1) (2F,2) (4F,1)
    (4F,2) (8F,1) (8F,2); dense 1024 + LReLU; dense 1 (logit).

    The paper's network sees 96x96 patches (patch_size=96, flatten 6x6x512); other multiples of
    16 change only the size of the first dense layer's input, (P/16)^2 * 8F.
    """

    def __init__(self, patch_size: int = 96, num_features: int = 64, **kwargs):
        if patch_size % 16:
            raise ValueError(f"SRGANDiscriminator patch_size must be a multiple of 16, got {patch_size}")
        f = num_features
        inputs = keras.Input(shape=(patch_size, patch_size, 3), name="image")
        x = _lrelu("lrelu0")(Conv2D(f, 3, padding="same", name="conv0")(inputs))
        for i, (filters, stride) in enumerate([(f, 2), (2 * f, 1), (2 * f, 2), (4 * f, 1), (4 * f, 2), (8 * f, 1), (8 * f, 2)], start=1):
            x = Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}")(x)
            x = _lrelu(f"lrelu{i}")(_batch_norm(f"bn{i}")(x))
        x = keras.layers.Flatten(name="flatten")(x)
        x = _lrelu("dense1_lrelu")(keras.layers.Dense(1024, name="dense1")(x))
        outputs = keras.layers.Dense(1, name="logit")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=kwargs.pop("name", "srgan_discriminator"), **kwargs)
        self.patch_size = patch_size
        self.num_features = num_features

    def get_config(self):
        return {"patch_size": self.patch_size, "num_features": self.num_features, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="sr_keras")
class VGGStyleDiscriminator(keras.Model):
    """ESRGAN D (BasicSR VGGStyleDiscriminator): conv0_0 3x3 F + LReLU; conv0_1 4x4 s2 + BN + LReLU;
    for channels 2F, 4F, 8F, 8F: conv 3x3 s1 + BN + LReLU, conv 4x4 s2 + BN + LReLU;
    flatten (4x4x8F at 128 px); dense 100 + LReLU; dense 1 (logit).

    The 4x4 stride-2 convs pad 1 pixel on every side, as PyTorch's padding=1 (Keras 'same' would
    pad only after), so PyTorch weights give identical outputs.  patch_size must be a multiple of 32.
    """

    def __init__(self, patch_size: int = 128, num_features: int = 64, **kwargs):
        if patch_size % 32:
            raise ValueError(f"VGGStyleDiscriminator patch_size must be a multiple of 32, got {patch_size}")
        f = num_features
        inputs = keras.Input(shape=(patch_size, patch_size, 3), name="image")
        x = _lrelu("lrelu0_0")(Conv2D(f, 3, padding="same", name="conv0_0")(inputs))
        stages = [(0, f), (1, 2 * f), (2, 4 * f), (3, 8 * f), (4, 8 * f)]
        for stage, filters in stages:
            if stage > 0:
                x = Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{stage}_0")(x)
                x = _lrelu(f"lrelu{stage}_0")(_batch_norm(f"bn{stage}_0")(x))
            x = keras.layers.ZeroPadding2D(1, name=f"pad{stage}_1")(x)
            x = Conv2D(filters, 4, strides=2, padding="valid", use_bias=False, name=f"conv{stage}_1")(x)
            x = _lrelu(f"lrelu{stage}_1")(_batch_norm(f"bn{stage}_1")(x))
        x = keras.layers.Flatten(name="flatten")(x)
        x = _lrelu("linear1_lrelu")(keras.layers.Dense(100, name="linear1")(x))
        outputs = keras.layers.Dense(1, name="linear2")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=kwargs.pop("name", "vgg_style_discriminator"), **kwargs)
        self.patch_size = patch_size
        self.num_features = num_features

    def get_config(self):
        return {"patch_size": self.patch_size, "num_features": self.num_features, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
