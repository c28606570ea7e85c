"""Pixel and adversarial losses against hand-computed values and numpy formulas written from the papers."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.losses import adversarial, pixel


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


def neg_log_d(z):
    """-log D = -log sigmoid(z), in float64 (finite for |z| <= 700)."""
    return -np.log(1.0 / (1.0 + np.exp(-np.asarray(z, np.float64))))


def neg_log_1_minus_d(z):
    """-log(1 - D) = -log(1 - sigmoid(z)) = -log(1 / (1 + exp(z))), in float64."""
    return -np.log(1.0 / (1.0 + np.exp(np.asarray(z, np.float64))))


REAL = np.array([2.0, -0.5, 1.5, 0.25], np.float32)
FAKE = np.array([-1.0, 0.75, -2.0, 0.5], np.float32)


# --- pixel losses ---------------------------------------------------------------------------------
def test_mse_and_l1_on_hand_computed_arrays():
    hr = np.zeros((1, 2, 2, 3), np.float32)
    sr = np.zeros((1, 2, 2, 3), np.float32)
    sr[0, 0, 0, 0] = 0.5  # error 0.5 on one of 12 elements
    sr[0, 1, 1, 2] = -1.0  # error 1.0 on another
    assert float(pixel.mse(hr, sr)) == pytest.approx((0.25 + 1.0) / 12)
    assert float(pixel.l1(hr, sr)) == pytest.approx((0.5 + 1.0) / 12)
    assert float(pixel.mse(sr, sr)) == 0.0 and float(pixel.l1(sr, sr)) == 0.0


def test_pixel_losses_on_the_srgan_papers_range_by_hand():
    # The same images on [-1, 1] (x -> 2x - 1): HR 0 -> -1, SR 0.5 -> 0 (error 1), SR -1 -> -3 (error 2).
    hr = np.zeros((1, 2, 2, 3), np.float32)
    sr = np.zeros((1, 2, 2, 3), np.float32)
    sr[0, 0, 0, 0] = 0.5
    sr[0, 1, 1, 2] = -1.0
    assert float(pixel.mse(hr, sr, value_range=(-1.0, 1.0))) == pytest.approx((1.0 + 4.0) / 12)  # 4x the [0, 1] MSE
    assert float(pixel.l1(hr, sr, value_range=(-1.0, 1.0))) == pytest.approx((1.0 + 2.0) / 12)  # 2x the [0, 1] L1
    # On [0, 255]: errors 127.5 and 255.
    assert float(pixel.mse(hr, sr, value_range=(0.0, 255.0))) == pytest.approx((127.5**2 + 255.0**2) / 12, rel=1e-6)


def test_value_range_text():
    assert pixel.parse_value_range("[-1, 1]") == (-1.0, 1.0)
    assert pixel.parse_value_range("[0,1]") == (0.0, 1.0)
    assert pixel.parse_value_range(" 0, 255 ") == (0.0, 255.0)
    for bad in ("[1, 0]", "[0]", "[-1, 1, 2]", "unit", "[a, b]"):
        with pytest.raises(ValueError, match="pixel_range"):
            pixel.parse_value_range(bad)


def test_pixel_losses_reduce_in_float32_for_bfloat16_inputs():
    hr = tf.constant(np.full((2, 4, 4, 3), 0.25), tf.bfloat16)
    sr = tf.constant(np.full((2, 4, 4, 3), 0.75), tf.bfloat16)
    assert pixel.mse(hr, sr).dtype == tf.float32 and float(pixel.mse(hr, sr)) == pytest.approx(0.25)
    assert pixel.l1(hr, sr).dtype == tf.float32 and float(pixel.l1(hr, sr)) == pytest.approx(0.5)


# --- SRGAN ----------------------------------------------------------------------------------------
def test_srgan_discriminator_and_generator_losses():
    # L_D = -E[log D(x_r)] - E[log(1 - D(x_f))], L_G = -E[log D(x_f)], D = sigmoid(logit).
    expected_d = np.mean(neg_log_d(REAL)) + np.mean(neg_log_1_minus_d(FAKE))
    expected_g = np.mean(neg_log_d(FAKE))
    assert float(adversarial.gan_discriminator_loss(REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert float(adversarial.gan_generator_loss(FAKE)) == pytest.approx(expected_g, rel=1e-6)
    # [N, 1] logits (what the discriminators output) give the same values.
    assert float(adversarial.gan_discriminator_loss(REAL[:, None], FAKE[:, None])) == pytest.approx(expected_d, rel=1e-6)


def test_srgan_losses_at_known_points():
    # D(x) = 1/2 everywhere: each term is log 2.
    zeros = np.zeros(3, np.float32)
    assert float(adversarial.gan_discriminator_loss(zeros, zeros)) == pytest.approx(2 * np.log(2))
    assert float(adversarial.gan_generator_loss(zeros)) == pytest.approx(np.log(2))


# --- ESRGAN relativistic average GAN ----------------------------------------------------------------
def ragan_numpy(real, fake):
    """D_Ra(a, b) = sigmoid(C(a) - mean C(b)); returns (L_D, L_G) summed as in the paper."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    real_fake = real - fake.mean()  # D_Ra(x_r, x_f) = sigmoid(real_fake)
    fake_real = fake - real.mean()  # D_Ra(x_f, x_r) = sigmoid(fake_real)
    loss_d = np.mean(neg_log_d(real_fake)) + np.mean(neg_log_1_minus_d(fake_real))
    loss_g = np.mean(neg_log_1_minus_d(real_fake)) + np.mean(neg_log_d(fake_real))
    return loss_d, loss_g


@pytest.mark.parametrize("average", [False, True])
def test_ragan_losses_sum_and_average(average):
    loss_d, loss_g = ragan_numpy(REAL, FAKE)
    factor = 0.5 if average else 1.0
    got_d = float(adversarial.ragan_discriminator_loss(REAL, FAKE, average=average))
    got_g = float(adversarial.ragan_generator_loss(REAL, FAKE, average=average))
    assert got_d == pytest.approx(factor * loss_d, rel=1e-6)
    assert got_g == pytest.approx(factor * loss_g, rel=1e-6)


def test_ragan_roles_swap():
    # L_G(real, fake) is L_D with real and fake exchanged.
    assert float(adversarial.ragan_generator_loss(REAL, FAKE)) == pytest.approx(float(adversarial.ragan_discriminator_loss(FAKE, REAL)))


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_losses_are_finite_and_correct_for_extreme_logits(scale):
    real = np.array([1.0, -1.0, 1.0, -1.0], np.float32) * scale
    fake = np.array([-1.0, 1.0, 1.0, -1.0], np.float32) * scale
    loss_d, loss_g = ragan_numpy(real, fake)  # float64: exp(200) is fine there
    values = {
        "gan_d": (adversarial.gan_discriminator_loss(real, fake), np.mean(neg_log_d(real)) + np.mean(neg_log_1_minus_d(fake))),
        "gan_g": (adversarial.gan_generator_loss(fake), np.mean(neg_log_d(fake))),
        "ragan_d": (adversarial.ragan_discriminator_loss(real, fake), loss_d),
        "ragan_g": (adversarial.ragan_generator_loss(real, fake), loss_g),
    }
    for name, (got, expected) in values.items():
        assert np.isfinite(float(got)), name
        assert float(got) == pytest.approx(expected, rel=1e-5), name
    # Confident, wrong: -log sigmoid(-100) = 100.
    assert float(adversarial.gan_generator_loss(np.full(2, -100.0, np.float32))) == pytest.approx(100.0)


def test_gradients_are_finite_for_extreme_logits():
    real = tf.constant([100.0, -100.0, 100.0])
    fake = tf.constant([-100.0, 100.0, -100.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        losses = [
            adversarial.gan_discriminator_loss(real, fake),
            adversarial.gan_generator_loss(fake),
            adversarial.ragan_discriminator_loss(real, fake),
            adversarial.ragan_generator_loss(real, fake),
        ]
    for loss in losses:
        for grad in tape.gradient(loss, [real, fake]):
            assert grad is None or np.all(np.isfinite(grad.numpy()))


def test_ragan_generator_gets_gradients_from_both_terms():
    real = tf.constant(REAL)
    fake = tf.constant(FAKE)
    # The two terms of L_G written out; each must move the fake logits.
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(fake)
        term_real = tf.reduce_mean(tf.nn.softplus(real - tf.reduce_mean(fake)))  # -E[log(1 - D_Ra(x_r, x_f))]
        term_fake = tf.reduce_mean(tf.nn.softplus(-(fake - tf.reduce_mean(real))))  # -E[log D_Ra(x_f, x_r)]
        total = adversarial.ragan_generator_loss(real, fake)
    grad_real_term = tape.gradient(term_real, fake).numpy()
    grad_fake_term = tape.gradient(term_fake, fake).numpy()
    assert np.all(np.abs(grad_real_term) > 1e-3) and np.all(np.abs(grad_fake_term) > 1e-3)
    # Analytic derivatives (numpy): d/df_j term_real = -(1/N^2) sum_i sigmoid(r_i - mean f),
    # d/df_j term_fake = -(1/N) sigmoid(-(f_j - mean r)).
    n = len(FAKE)
    analytic_real = np.full(n, -np.sum(sigmoid(REAL - FAKE.mean())) / n**2)
    analytic_fake = -sigmoid(-(FAKE - REAL.mean())) / n
    np.testing.assert_allclose(grad_real_term, analytic_real, rtol=1e-5)
    np.testing.assert_allclose(grad_fake_term, analytic_fake, rtol=1e-5)
    # The library's gradient is the sum of both (neither term is cut off by a stop_gradient).
    np.testing.assert_allclose(tape.gradient(total, fake).numpy(), analytic_real + analytic_fake, rtol=1e-5)


def test_adversarial_losses_return_float32_for_bfloat16_logits():
    real, fake = tf.constant(REAL, tf.bfloat16), tf.constant(FAKE, tf.bfloat16)
    assert adversarial.ragan_generator_loss(real, fake).dtype == tf.float32
    assert adversarial.gan_discriminator_loss(real, fake).dtype == tf.float32


def test_adversarial_losses_compile_with_xla():
    step = tf.function(lambda r, f: adversarial.ragan_generator_loss(r, f, average=True), jit_compile=True)
    assert float(step(tf.constant(REAL), tf.constant(FAKE))) == pytest.approx(0.5 * ragan_numpy(REAL, FAKE)[1], rel=1e-6)
