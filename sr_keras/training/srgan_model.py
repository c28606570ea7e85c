"""SRGAN training (Ledig et al. 2017): the min-max game between generator G and discriminator D.

One `train_step` is one update of each network, alternately (k = 1):
  1. G step: SR = G(LR); G loss = content(HR, SR) + adversarial_weight * adversarial_G.
     D is evaluated with batch statistics but statelessly, so the G step changes nothing in D.
  2. D step on the same SR batch (gradient stopped): D loss = adversarial_D(real, fake).
The adversarial losses are methods, so ESRGAN's relativistic game (esrgan_model.py) is a small
subclass.  D outputs logits; sigmoids live inside the losses (numerically stable).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from sr_keras.losses import adversarial
from sr_keras.training.sr_model import ContentLoss, SRModel, scale_for_replicas


class SRGANModel(SRModel):
    """Adversarial training of `generator` against `discriminator` with two optimizers."""

    #: Whether the generator's adversarial loss needs D's logits on real images.
    generator_uses_real_logits = False

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        content_loss: ContentLoss,
        scale: int,
        adversarial_weight: float = 1e-3,
        **kwargs,
    ):
        super().__init__(generator, content_loss, scale, **kwargs)
        self.discriminator = discriminator
        self.adversarial_weight = adversarial_weight
        self.d_optimizer = None

    def compile(self, optimizer, d_optimizer, **kwargs):
        """`optimizer` updates G, `d_optimizer` updates D."""
        super().compile(optimizer=optimizer, **kwargs)
        self.d_optimizer = d_optimizer

    # --- the game (overridden by ESRGANModel) ------------------------------------------------
    def discriminator_loss(self, real_logits, fake_logits):
        """SRGAN: -log D(HR) - log(1 - D(G(LR)))."""
        return adversarial.gan_discriminator_loss(real_logits, fake_logits)

    def generator_adversarial_loss(self, real_logits, fake_logits):
        """SRGAN: -log D(G(LR)) (real_logits unused)."""
        del real_logits
        return adversarial.gan_generator_loss(fake_logits)

    # --- steps ---------------------------------------------------------------------------------
    def _discriminate_statelessly(self, images):
        """D(images) with batch statistics, discarding its BN moving-statistic updates."""
        logits, _ = self.discriminator.stateless_call(
            [v.value for v in self.discriminator.trainable_variables],
            [v.value for v in self.discriminator.non_trainable_variables],
            images,
            training=True,
        )
        return tf.cast(logits, tf.float32)

    @property
    def loss_names(self) -> list[str]:
        return super().loss_names + ["adversarial_loss", "d_loss", "d_real", "d_fake"]

    def generator_step(self, lr, hr):
        """One G update; returns (SR batch, dict of weighted G loss terms). D is not modified."""
        with tf.GradientTape() as tape:
            sr = self.generate(lr, training=True)
            fake_logits = self._discriminate_statelessly(sr)
            real_logits = self._discriminate_statelessly(hr) if self.generator_uses_real_logits else None
            terms = self.content_loss(hr, sr)
            terms["adversarial_loss"] = self.adversarial_weight * self.generator_adversarial_loss(
                None if real_logits is None else tf.stop_gradient(real_logits), fake_logits
            )
            g_loss = tf.add_n(list(terms.values()))
            scaled = scale_for_replicas(g_loss)
        variables = self.generator.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return sr, {"g_loss": g_loss, **terms}

    def discriminator_step(self, hr, sr):
        """One D update on real `hr` and generated `sr` (gradient stopped). G is not modified."""
        sr = tf.stop_gradient(sr)
        with tf.GradientTape() as tape:
            real_logits = tf.cast(self.discriminator(hr, training=True), tf.float32)
            fake_logits = tf.cast(self.discriminator(sr, training=True), tf.float32)
            d_loss = self.discriminator_loss(real_logits, fake_logits)
            scaled = scale_for_replicas(d_loss)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return {
            "d_loss": d_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),  # mean D(HR) before the D update
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),  # mean D(SR)
        }

    def train_step(self, data):
        lr, hr, _ = keras.utils.unpack_x_y_sample_weight(data)
        sr, g_logs = self.generator_step(lr, hr)
        d_logs = self.discriminator_step(hr, sr)
        return self._report({**g_logs, **d_logs})

    def checkpoint_items(self) -> dict:
        return {**super().checkpoint_items(), "discriminator": self.discriminator, "d_optimizer": self.d_optimizer}

    def build_optimizers(self) -> None:
        super().build_optimizers()
        self.d_optimizer.build(self.discriminator.trainable_variables)
