"""One training step at a time: which variables change, and loss values vs independent formulas."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import builders
from sr_keras.training.config import TrainConfig

from .conftest import replace


def batch(config: TrainConfig, seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.random((config.batch_size, config.crop_size, config.crop_size, 3)).astype(np.float32)
    lr = rng.random((config.batch_size, config.crop_size // 4, config.crop_size // 4, 3)).astype(np.float32)
    return tf.constant(lr), tf.constant(hr)


def snapshot(model):
    return [v.numpy().copy() for v in model.variables]


def changed(before, model):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, model.variables)]


def softplus(x):
    return np.logaddexp(0.0, x)


@pytest.fixture
def srgan(make_config):
    config = make_config(gan="standard", discriminator="srgan", jit_compile=False)
    return config, builders.build_training_model(config)


def test_generator_step_leaves_the_discriminator_untouched(srgan):
    config, model = srgan
    lr, hr = batch(config)
    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    model.generator_step(lr, hr)
    assert not any(changed(d_before, model.discriminator))  # weights AND BN moving statistics
    g_trainable = {id(v) for v in model.generator.trainable_variables}
    moved = dict(zip([id(v) for v in model.generator.variables], changed(g_before, model.generator)))
    assert all(moved[i] for i in g_trainable)  # every G weight got a gradient


def test_discriminator_step_leaves_the_generator_untouched(srgan):
    config, model = srgan
    lr, hr = batch(config)
    sr = model.generate(lr, training=True)
    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    model.discriminator_step(hr, sr)
    assert not any(changed(g_before, model.generator))
    moved = changed(d_before, model.discriminator)
    assert all(m for m, v in zip(moved, model.discriminator.variables) if v.trainable)


def test_srgan_losses_match_hand_formulas(srgan):
    config, model = srgan
    lr, hr = batch(config, seed=1)
    # Before any update: SR and D's logits with batch statistics, computed independently.
    sr = model.generate(lr, training=True).numpy()
    fake = model._discriminate_statelessly(tf.constant(sr)).numpy().ravel()
    real = model._discriminate_statelessly(hr).numpy().ravel()
    expected_pixel = np.mean((hr.numpy() - sr) ** 2)
    expected_adv = 1e-3 * np.mean(softplus(-fake))  # -log sigmoid(z) = softplus(-z)
    expected_d = np.mean(softplus(-real)) + np.mean(softplus(fake))  # -log D(x) - log(1 - D(G(z)))
    _, g_logs = model.generator_step(lr, hr)
    assert float(g_logs["pixel_loss"]) == pytest.approx(expected_pixel, rel=1e-4)
    assert float(g_logs["adversarial_loss"]) == pytest.approx(expected_adv, rel=1e-4)
    assert float(g_logs["g_loss"]) == pytest.approx(expected_pixel + expected_adv, rel=1e-4)
    d_logs = model.discriminator_step(hr, tf.constant(sr))
    assert float(d_logs["d_loss"]) == pytest.approx(expected_d, rel=1e-4)


def test_srgan_mse_step_weighs_the_minus_one_to_one_mse_against_the_adversarial_loss(make_config):
    # SRGAN-MSE as the paper: G loss = MSE of HR and SR mapped to [-1, 1] (= 4x the [0, 1] MSE) + 1e-3 * -log D(G(LR)).
    config = make_config(gan="standard", discriminator="srgan", pixel_range="[-1, 1]", jit_compile=False)
    model = builders.build_training_model(config)
    lr, hr = batch(config, seed=6)
    sr = model.generate(lr, training=True).numpy()
    fake = model._discriminate_statelessly(tf.constant(sr)).numpy().ravel()
    expected_pixel = np.mean(((2 * hr.numpy() - 1) - (2 * sr - 1)) ** 2)
    expected_adv = 1e-3 * np.mean(softplus(-fake))
    _, g_logs = model.generator_step(lr, hr)
    assert float(g_logs["pixel_loss"]) == pytest.approx(expected_pixel, rel=1e-4)
    assert float(g_logs["g_loss"]) == pytest.approx(expected_pixel + expected_adv, rel=1e-4)


def test_psnr_model_step_reports_mse_and_moves_only_the_generator(make_config):
    config = make_config(jit_compile=True)
    model = builders.build_training_model(config)
    lr, hr = batch(config, seed=2)
    expected = np.mean((hr.numpy() - model.generate(lr, training=True).numpy()) ** 2)
    logs = model.train_on_batch(lr, hr, return_dict=True)
    assert logs["g_loss"] == pytest.approx(expected, rel=1e-4)
    assert int(model.optimizer.iterations.numpy()) == 1


def test_esrgan_generator_loss_uses_relativistic_logits(make_config):
    config = make_config(gan="relativistic", discriminator="vgg_style", crop_size=32, adversarial_weight=5e-3,
                         pixel_loss="l1", pixel_weight=1e-2, jit_compile=False, generator="rrdbnet", num_blocks=1, growth=4)
    model = builders.build_training_model(config)
    lr, hr = batch(config, seed=3)
    sr = model.generate(lr, training=True)
    real = model._discriminate_statelessly(hr).numpy().ravel()
    fake = model._discriminate_statelessly(sr).numpy().ravel()
    # L_G = -E[log(1 - D_Ra(xr, xf))] - E[log D_Ra(xf, xr)], D_Ra(a, b) = sigmoid(C(a) - mean C(b)).
    expected = np.mean(softplus(real - fake.mean())) + np.mean(softplus(-(fake - real.mean())))
    _, logs = model.generator_step(lr, hr)
    assert float(logs["adversarial_loss"]) == pytest.approx(5e-3 * expected, rel=1e-4)
    assert float(logs["pixel_loss"]) == pytest.approx(1e-2 * np.mean(np.abs(hr.numpy() - sr.numpy())), rel=1e-4)


def test_full_srgan_vgg22_train_step_under_xla(make_config):
    """SRGAN-VGG22 (VGG content loss only, adversarial term, D step) compiles and runs under XLA (one
    compilation for both: G, D and the VGG are the expensive part of it)."""
    config = make_config(gan="standard", pixel_weight=0.0, perceptual_layer="block2_conv2", perceptual_feature_scale=1 / 12.75, jit_compile=True)
    model = builders.build_training_model(config, perceptual_weights=None)  # random VGG: tests only
    lr, hr = batch(config, seed=4)
    logs = model.train_on_batch(lr, hr, return_dict=True)
    assert set(logs) >= {"g_loss", "perceptual_loss", "adversarial_loss", "d_loss", "d_real", "d_fake"}
    assert "pixel_loss" not in logs and logs["perceptual_loss"] > 0
    assert all(np.isfinite(v) for v in logs.values())
    assert int(model.optimizer.iterations.numpy()) == 1 and int(model.d_optimizer.iterations.numpy()) == 1


def test_bfloat16_mixed_precision_trains_in_bfloat16_and_restores_the_policy(make_config):
    import keras

    config = make_config(gan="standard", mixed_precision="bfloat16", jit_compile=False)
    model = builders.build_training_model(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # not leaked to later models
    assert model.generator.get_layer("conv_first").compute_dtype == "bfloat16"
    assert model.generator.get_layer("conv_first").kernel.dtype == "float32"  # float32 master weights
    lr, hr = batch(config, seed=6)
    first = model.train_on_batch(lr, hr, return_dict=True)
    assert all(np.isfinite(v) for v in first.values())
    assert int(model.optimizer.iterations.numpy()) == 1 and int(model.d_optimizer.iterations.numpy()) == 1
