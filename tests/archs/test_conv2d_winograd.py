"""sr_keras' Conv2D switched to Winograd (use_winograd, as sr-train does under XLA) computes keras' Conv2D:
outputs and gradients against keras' layer; where it applies and where not; a training update of a tiny
SRResNet with and without it (a direct-convolution run as the expectation); configs and weight files unchanged."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.archs import SRResNet, layers
from sr_keras.archs.layers import Conv2D, use_winograd, winograd_pays
from sr_keras.training import builders
from sr_keras.training.config import TrainConfig


def _pair(filters, **kwargs):
    reference, layer = keras.layers.Conv2D(filters, 3, padding="same", **kwargs), Conv2D(filters, 3, padding="same", **kwargs)
    layer.winograd = True
    return reference, layer


@pytest.mark.parametrize("jit_compile", [False, True])
def test_outputs_and_gradients_equal_keras_conv2d(jit_compile):
    rng = np.random.default_rng(0)
    reference, layer = _pair(64, activation="relu")
    x = tf.constant(rng.normal(size=(2, 13, 14, 8)).astype(np.float32))  # not multiples of the 4 x 4 tile
    for conv in (reference, layer):
        conv.build(x.shape)
    reference.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in reference.get_weights()])
    layer.set_weights(reference.get_weights())
    assert layer.winograd_applies(x.shape, x.dtype)
    upstream = tf.constant(rng.normal(size=(2, 13, 14, 64)).astype(np.float32))
    results = []
    for conv in (reference, layer):

        @tf.function(jit_compile=jit_compile)
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(conv(x) * upstream)
            return [conv(x), *tape.gradient(loss, [x, *conv.trainable_variables])]

        results.append([t.numpy() for t in step(x)])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def test_where_it_applies():
    _, layer = _pair(64)
    assert layer.winograd_applies((16, 24, 24, 64), "float32")
    assert not layer.winograd_applies((1, None, None, 64), "float32")  # free sizes (exports): direct
    assert not layer.winograd_applies((16, 24, 24, 64), "bfloat16")
    assert layer.winograd_applies((16, 128, 128, 64), "float32") == winograd_pays(128, 128, 64, 64)
    strided = Conv2D(64, 3, strides=2, padding="same")
    strided.winograd = True
    assert not strided.winograd_applies((16, 24, 24, 64), "float32")
    assert not Conv2D(64, 3, padding="same").winograd_applies((16, 24, 24, 64), "float32")  # not switched on


def test_use_winograd_keeps_config_and_weights(tmp_path):
    model = SRResNet(num_blocks=2, num_features=8)
    config = model.get_config()
    path = str(tmp_path / "g.weights.h5")
    model.save_weights(path)
    assert use_winograd(model) == 2 * 2 + 1 + 2 + 2  # body convs, conv_body, upsampling convs, conv_first + conv_last
    assert model.get_config() == config
    plain = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Identity()])  # no sr_keras convs
    assert use_winograd(plain) == 0
    reloaded = SRResNet(num_blocks=2, num_features=8)
    reloaded.load_weights(path)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_training_update_matches_direct_convolutions(monkeypatch):
    # One plain-SGD update of a tiny SRResNet under XLA, with and without Winograd, from the same weights:
    # the direct-convolution run is the expectation.  SGD moves each weight by lr * g, so a wrong gradient shows.
    rng = np.random.default_rng(0)
    lr = tf.constant(rng.random((2, 12, 12, 3), dtype=np.float32))
    hr = tf.constant(rng.random((2, 48, 48, 3), dtype=np.float32))
    traced = []  # the convolutions computed by Winograd, one entry per traced call
    original = layers.winograd_ops.conv2d_3x3
    monkeypatch.setattr(layers.winograd_ops, "conv2d_3x3", lambda x, k: traced.append(tuple(x.shape)) or original(x, k))
    results = []
    for winograd in (False, True):
        keras.utils.set_random_seed(0)
        traced.clear()
        config = TrainConfig(num_blocks=1, num_features=64, batch_size=2, crop_size=48, optimizer="sgd", learning_rate=0.1,
                             jit_compile=True, winograd=winograd)  # fmt: skip
        assert builders.uses_winograd(config) == winograd
        model = builders.build_training_model(config, perceptual_weights=None)
        before = [w.copy() for w in model.generator.get_weights()]
        model.train_on_batch(lr, hr)
        results.append((before, model.generator.get_weights(), sorted(set(traced))))
    (before_d, after_d, switched_d), (before_w, after_w, switched_w) = results
    # Body conv1, conv2 and conv_body see 12 x 12 x 64, upsample_0 too; upsample_1 sees 24 x 24 x 64.
    assert switched_d == [] and switched_w == [(2, 12, 12, 64), (2, 24, 24, 64)]
    moved = 0
    for b_d, a_d, b_w, a_w in zip(before_d, after_d, before_w, after_w):
        np.testing.assert_array_equal(b_d, b_w)
        step_d, step_w = a_d - b_d, a_w - b_w
        # Winograd's ~4e-6 relative rounding, carried through BN and the loss, moves steps by up to ~3e-4 of the
        # largest (BN betas); a wrong gradient by O(1) of it.
        np.testing.assert_allclose(step_w, step_d, rtol=0, atol=2e-3 * max(np.abs(step_d).max(), 1e-6))
        moved += np.abs(step_d).max() > 0
    assert moved > len(before_d) // 2


def test_not_without_xla_or_in_bfloat16():
    assert not builders.uses_winograd(TrainConfig(jit_compile=False))
    assert not builders.uses_winograd(TrainConfig(jit_compile=True, mixed_precision="bfloat16"))
    assert not builders.uses_winograd(TrainConfig(jit_compile=True, winograd=False))

