"""Architectures: parameter counts derived by hand from the papers' layer shapes, shapes, config
round trips, residual scaling, initialisation statistics, BN modes, XLA tracing."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from sr_keras.archs import RRDBNet, SRGANDiscriminator, SRResNet, VGGStyleDiscriminator


def conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def bn(c):  # gamma, beta, moving mean, moving variance
    return 4 * c


def srresnet_count(blocks, f, scale):
    steps = {2: 1, 4: 2, 8: 3}[scale]
    first = conv(9, 3, f) + f  # conv + PReLU (one slope per channel)
    block = 2 * conv(3, f, f) + 2 * bn(f) + f
    body = conv(3, f, f) + bn(f)
    up = steps * (conv(3, f, 4 * f) + f)
    return first + blocks * block + body + up + conv(9, f, 3)


def rrdbnet_count(blocks, f, g, scale):
    steps = {2: 1, 4: 2, 8: 3}[scale]
    rdb = sum(conv(3, f + k * g, g) for k in range(4)) + conv(3, f + 4 * g, f)
    return conv(3, 3, f) + blocks * 3 * rdb + conv(3, f, f) + steps * conv(3, f, f) + conv(3, f, f) + conv(3, f, 3)


def srgan_d_count(p, f):
    convs = conv(3, 3, f)
    chans = [f, f, 2 * f, 2 * f, 4 * f, 4 * f, 8 * f, 8 * f]
    for cin, cout in zip(chans[:-1], chans[1:]):
        convs += conv(3, cin, cout, bias=False) + bn(cout)
    return convs + (p // 16) ** 2 * 8 * f * 1024 + 1024 + 1024 + 1


def vgg_d_count(p, f):
    total = conv(3, 3, f) + conv(4, f, f, bias=False) + bn(f)
    cin = f
    for cout in (2 * f, 4 * f, 8 * f, 8 * f):
        total += conv(3, cin, cout, bias=False) + bn(cout) + conv(4, cout, cout, bias=False) + bn(cout)
        cin = cout
    return total + (p // 32) ** 2 * 8 * f * 100 + 100 + 100 + 1


def test_paper_sizes_have_the_hand_derived_parameter_counts():
    assert srresnet_count(16, 64, 4) == 1_554_883  # "about 1.55 M"
    assert rrdbnet_count(23, 64, 32, 4) == 16_697_987  # SPEC: exactly
    assert SRResNet().count_params() == 1_554_883
    assert RRDBNet().count_params() == 16_697_987
    assert SRGANDiscriminator(96).count_params() == srgan_d_count(96, 64)
    assert VGGStyleDiscriminator(128).count_params() == vgg_d_count(128, 64)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_small_variants_counts_and_any_input_size(scale):
    g = SRResNet(num_blocks=2, num_features=8, scale=scale)
    r = RRDBNet(num_blocks=1, num_features=8, growth=4, scale=scale)
    assert g.count_params() == srresnet_count(2, 8, scale)
    assert r.count_params() == rrdbnet_count(1, 8, 4, scale)
    for h, w in [(7, 9), (16, 12)]:
        x = tf.random.uniform([2, h, w, 3])
        assert g(x).shape == (2, scale * h, scale * w, 3)
        assert r(x).shape == (2, scale * h, scale * w, 3)


def test_discriminators_output_one_logit_and_other_patch_sizes():
    for d, p in [(SRGANDiscriminator(32, num_features=8), 32), (VGGStyleDiscriminator(64, num_features=8), 64)]:
        assert d(tf.random.uniform([3, p, p, 3])).shape == (3, 1)
    assert SRGANDiscriminator(128, 8).count_params() == srgan_d_count(128, 8)
    assert VGGStyleDiscriminator(64, 8).count_params() == vgg_d_count(64, 8)
    with pytest.raises(ValueError, match="multiple of 16"):
        SRGANDiscriminator(100)


def test_prelu_has_one_slope_per_channel():
    g = SRResNet(num_blocks=1, num_features=8)
    assert g.get_layer("prelu_first").get_weights()[0].shape == (1, 1, 8)


@pytest.mark.parametrize("cls,kwargs", [(SRResNet, dict(num_blocks=1, num_features=8)), (RRDBNet, dict(num_blocks=1, num_features=8, growth=4)),
                                        (SRGANDiscriminator, dict(patch_size=32, num_features=8)), (VGGStyleDiscriminator, dict(patch_size=32, num_features=8))])
def test_config_round_trip_and_keras_file(cls, kwargs, tmp_path):
    model = cls(**kwargs)
    clone = cls.from_config(model.get_config())
    assert clone.get_config() == model.get_config() and clone.count_params() == model.count_params()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = tf.random.uniform([1, 32, 32, 3])
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


def test_residual_scaling_zero_conv5_makes_blocks_identities():
    # With every conv5 zeroed, RDB(x) = x + 0.2*0 = x, so RRDB(x) = x + 0.2*x = 1.2x.
    r = RRDBNet(num_blocks=1, num_features=8, growth=4)
    for layer in r.layers:
        if layer.name.endswith("_conv5"):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = tf.random.uniform([1, 6, 6, 3])
    first = r.get_layer("conv_first")(x)
    probe = keras.Model(r.input, r.get_layer("body_0_residual").output)
    np.testing.assert_allclose(probe(x), 1.2 * first.numpy(), rtol=1e-5, atol=1e-6)


def test_rdb_init_is_small_kaiming_normal_with_zero_bias():
    r = RRDBNet(num_blocks=2, num_features=64, growth=32)
    kernel, bias = r.get_layer("body_0_rdb1_conv5").get_weights()
    fan_in = 3 * 3 * (64 + 4 * 32)
    expected = 0.1 * np.sqrt(2.0 / fan_in)
    # 3*3*192*64 = 110,592 samples: the sample std is within 1% of the true std with huge margin.
    assert kernel.std() == pytest.approx(expected, rel=0.02)
    assert abs(kernel.mean()) < 3 * expected / np.sqrt(kernel.size) * 3
    assert not bias.any()
    first = r.get_layer("conv_first").get_weights()[0]
    bound = 1 / np.sqrt(3 * 3 * 3)  # PyTorch default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.9 * bound


def test_batch_norm_uses_moving_statistics_at_test_time():
    g = SRResNet(num_blocks=1, num_features=8)
    x = tf.random.uniform([2, 8, 8, 3])
    a, b = g(x, training=False), g(x, training=False)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(g(x, training=True), a)


def test_generators_trace_under_xla():
    for model in (SRResNet(num_blocks=1, num_features=8), RRDBNet(num_blocks=1, num_features=8, growth=4)):
        fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
        x = tf.random.uniform([1, 6, 5, 3])
        np.testing.assert_allclose(fn(x), model(x, training=False), atol=1e-5)


def test_srresnet_without_batch_norm_drops_exactly_the_bn_parameters_and_round_trips():
    f, blocks = 8, 2
    plain = SRResNet(num_blocks=blocks, num_features=f, batch_norm=False)
    assert plain.count_params() == srresnet_count(blocks, f, 4) - (2 * blocks + 1) * bn(f)
    assert not [layer for layer in plain.layers if isinstance(layer, keras.layers.BatchNormalization)]
    clone = SRResNet.from_config(plain.get_config())
    assert clone.get_config()["batch_norm"] is False and clone.count_params() == plain.count_params()
    assert "batch_norm" not in SRResNet(num_blocks=1, num_features=4).get_config()  # default configs unchanged
