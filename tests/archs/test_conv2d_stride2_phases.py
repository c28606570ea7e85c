"""sr_keras' Conv2D switched to the four-phase form of stride-2 convolutions (use_stride2_phases, as
sr-train does under XLA) computes keras' Conv2D: outputs and both gradients; only where the rule
says; configs and weights untouched; sr-train's builder switches the discriminators under XLA only."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.archs.discriminators import SRGANDiscriminator, VGGStyleDiscriminator
from sr_keras.archs.layers import Conv2D, stride2_phases_pay, use_stride2_phases
from sr_keras.training import builders
from sr_keras.training.config import TrainConfig


@pytest.mark.parametrize("size,kernel_size,padding", [(48, 3, "same"), (18, 4, "valid")])
def test_layer_equals_keras_conv2d_with_gradients(size, kernel_size, padding):
    rng = np.random.default_rng(0)
    reference = tf.keras.layers.Conv2D(6, kernel_size, strides=2, padding=padding, activation="relu")
    layer = Conv2D(6, kernel_size, strides=2, padding=padding, activation="relu")
    x = tf.constant(rng.normal(size=(2, size, size, 5)).astype(np.float32))
    reference(x), layer(x)
    layer.set_weights(reference.get_weights())
    layer.stride2_phases = True
    assert layer.stride2_phases_apply(x.shape)

    def run(conv):
        @tf.function(jit_compile=True)
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = conv(x)
                loss = tf.reduce_sum(tf.square(y))
            return [y, *tape.gradient(loss, [x, *conv.trainable_weights])]

        return [t.numpy() for t in f(x)]

    for want, got in zip(run(reference), run(layer)):
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.abs(want).max())


def test_applies_only_where_it_pays():
    three = Conv2D(8, 3, strides=2, padding="same")
    three.stride2_phases = True
    assert three.stride2_phases_apply((16, 96, 96, 64)) and three.stride2_phases_apply((16, 48, 48, 64))
    assert not three.stride2_phases_apply((16, 24, 24, 64))  # 0.94x measured
    assert not three.stride2_phases_apply((1, None, None, 64))  # free sizes (exports): strided conv
    four = Conv2D(8, 4, strides=2, padding="valid")
    four.stride2_phases = True
    assert four.stride2_phases_apply((16, 18, 18, 64)) and not four.stride2_phases_apply((16, 10, 10, 64))
    assert not Conv2D(8, 3, strides=2, padding="same").stride2_phases_apply((16, 96, 96, 64))  # not switched on
    stride_one = Conv2D(8, 3, padding="same")
    stride_one.stride2_phases = True
    assert not stride_one.stride2_phases_apply((16, 96, 96, 64))
    assert stride2_phases_pay(48, 48, 3, 3) and not stride2_phases_pay(47, 96, 3, 3) and stride2_phases_pay(16, 16, 4, 4)


def test_switching_keeps_config_and_weights():
    model = VGGStyleDiscriminator(patch_size=32, num_features=4)
    config, weights = model.get_config(), [w.copy() for w in model.get_weights()]
    assert use_stride2_phases(model) == 10  # 5 stage convs 3x3 (conv0_0 and conv1..4_0) + 5 strided 4x4
    assert model.get_config() == config
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_builder_switches_the_discriminator_under_xla_only():
    assert builders.uses_stride2_phases(TrainConfig(jit_compile=True))
    assert builders.uses_stride2_phases(TrainConfig(jit_compile=True, mixed_precision="bfloat16"))  # exact in any precision
    assert not builders.uses_stride2_phases(TrainConfig(jit_compile=False))
    assert not builders.uses_stride2_phases(TrainConfig(jit_compile=True, stride2_phases=False))
    discriminator = SRGANDiscriminator(patch_size=96, num_features=4)
    use_stride2_phases(discriminator)
    strided = [layer for layer in discriminator.layers if isinstance(layer, Conv2D) and layer.strides == (2, 2)]
    applies = [layer.stride2_phases_apply(layer.input.shape) for layer in strided]
    assert applies == [True, True, False, False]  # conv1 at 96 px, conv3 at 48; conv5, conv7 at 24 and 12 px stay strided
