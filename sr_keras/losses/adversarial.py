"""Adversarial losses on discriminator LOGITS (the sigmoid lives here, in its stable form).

-log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z), so no log(0) can occur.
Every function takes logits [N, 1] (or [N]) and returns a float32 scalar (means over the batch).

SRGAN (Ledig et al. 2017):
  L_D = -E[log D(x_r)] - E[log(1 - D(x_f))]
  L_G = -E[log D(x_f)]                                 (the "non-saturating" generator loss)
ESRGAN relativistic average GAN (Wang et al. 2018, Eqs. 1-2), C = logits:
  D_Ra(x_r, x_f) = sigmoid(C(x_r) - E[C(x_f)])
  L_D = -E[log D_Ra(x_r, x_f)] - E[log(1 - D_Ra(x_f, x_r))]
  L_G = -E[log(1 - D_Ra(x_r, x_f))] - E[log D_Ra(x_f, x_r)]
The paper sums the two terms; the authors' code (BasicSR) averages them (`average=True`).
"""

from __future__ import annotations

import tensorflow as tf


def _logits(z) -> tf.Tensor:
    return tf.reshape(tf.cast(z, tf.float32), [-1])


def gan_discriminator_loss(real_logits, fake_logits) -> tf.Tensor:
    """-E[log D(real)] - E[log(1 - D(fake))]."""
    return tf.reduce_mean(tf.nn.softplus(-_logits(real_logits))) + tf.reduce_mean(tf.nn.softplus(_logits(fake_logits)))


def gan_generator_loss(fake_logits) -> tf.Tensor:
    """-E[log D(fake)] (SRGAN's adversarial loss before its 1e-3 weight)."""
    return tf.reduce_mean(tf.nn.softplus(-_logits(fake_logits)))


def _relativistic(real_logits, fake_logits):
    real, fake = _logits(real_logits), _logits(fake_logits)
    # real_vs_fake = C(x_r) - E[C(x_f)], fake_vs_real = C(x_f) - E[C(x_r)]
    return real - tf.reduce_mean(fake), fake - tf.reduce_mean(real)


def ragan_discriminator_loss(real_logits, fake_logits, average: bool = False) -> tf.Tensor:
    """-E[log D_Ra(x_r, x_f)] - E[log(1 - D_Ra(x_f, x_r))]; halved when `average`."""
    real_vs_fake, fake_vs_real = _relativistic(real_logits, fake_logits)
    loss = tf.reduce_mean(tf.nn.softplus(-real_vs_fake)) + tf.reduce_mean(tf.nn.softplus(fake_vs_real))
    return loss / 2.0 if average else loss


def ragan_generator_loss(real_logits, fake_logits, average: bool = False) -> tf.Tensor:
    """-E[log(1 - D_Ra(x_r, x_f))] - E[log D_Ra(x_f, x_r)]; halved when `average`.

    Both terms depend on the fake logits (the first through E[C(x_f)]), so G gets gradients from both.
    """
    real_vs_fake, fake_vs_real = _relativistic(real_logits, fake_logits)
    loss = tf.reduce_mean(tf.nn.softplus(real_vs_fake)) + tf.reduce_mean(tf.nn.softplus(-fake_vs_real))
    return loss / 2.0 if average else loss
