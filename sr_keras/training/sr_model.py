"""PSNR-oriented training (SRResNet-MSE, SRResNet-VGG, ESRGAN stage 1): a generator and a content loss.

`SRModel` is a `keras.Model` whose `train_step` updates the generator on the content loss and
whose `test_step` reports the papers' metrics (Y PSNR/SSIM, border crop = scale, on 8-bit
rounded outputs).  `SRGANModel` (srgan_model.py) adds the discriminator.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from sr_keras import metrics


def scale_for_replicas(loss: tf.Tensor) -> tf.Tensor:
    """Per-replica mean loss -> its share of the global-batch mean (gradients are summed over replicas)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


class ContentLoss:
    """Weighted sum of a pixel loss and a perceptual (VGG feature) loss between HR and SR.

    Calling it returns a dict of already-weighted terms, e.g.
    {"pixel_loss": w_pix * mse(hr, sr), "perceptual_loss": w_vgg * vgg(hr, sr)}; terms with weight 0
    are left out.  Inputs are float32 [N, H, W, 3] in [0, 1].
    """

    def __init__(self, pixel: Callable | None = None, pixel_weight: float = 1.0, perceptual: Callable | None = None, perceptual_weight: float = 1.0):
        self.pixel = pixel if pixel_weight else None
        self.pixel_weight = pixel_weight
        self.perceptual = perceptual if perceptual_weight else None
        self.perceptual_weight = perceptual_weight

    def __call__(self, hr: tf.Tensor, sr: tf.Tensor) -> dict[str, tf.Tensor]:
        terms = {}
        if self.pixel is not None:
            terms["pixel_loss"] = self.pixel_weight * self.pixel(hr, sr)
        if self.perceptual is not None:
            terms["perceptual_loss"] = self.perceptual_weight * self.perceptual(hr, sr)
        return terms


class SRModel(keras.Model):
    """Trains `generator` (float32 [0, 1] LR -> [0, 1] SR) on `content_loss` with one optimizer."""

    def __init__(self, generator: keras.Model, content_loss: ContentLoss, scale: int, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.content_loss = content_loss
        self.scale = scale
        self.validation_lpips = None  # an sr_keras.metrics.LPIPS: test_step then also reports "lpips"
        self._term_trackers: dict[str, keras.metrics.Mean] = {}

    def call(self, lr, training=False):
        return self.generator(lr, training=training)

    # --- metrics -------------------------------------------------------------------------------
    def _term_tracker(self, name: str) -> keras.metrics.Mean:
        if name not in self._term_trackers:
            self._term_trackers[name] = keras.metrics.Mean(name=name)
        return self._term_trackers[name]

    def _report(self, values: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        logs = {}
        for name, value in values.items():
            tracker = self._term_tracker(name)
            tracker.update_state(value)
            logs[name] = tracker.result()
        return logs

    @property
    def metrics(self):
        return list(self._term_trackers.values())

    def build_trackers(self, names) -> None:
        """Create the loss trackers before tracing (Keras variables cannot be made inside XLA)."""
        for name in names:
            self._term_tracker(name)

    @property
    def loss_names(self) -> list[str]:
        """Names of the values train_step reports (for building trackers up front)."""
        names = ["g_loss"]
        if self.content_loss.pixel is not None:
            names.append("pixel_loss")
        if self.content_loss.perceptual is not None:
            names.append("perceptual_loss")
        return names

    # --- steps ---------------------------------------------------------------------------------
    def generate(self, lr: tf.Tensor, training: bool) -> tf.Tensor:
        """Generator output as float32 (under mixed precision the network computes in bfloat16)."""
        return tf.cast(self.generator(lr, training=training), tf.float32)

    def train_step(self, data):
        lr, hr, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            sr = self.generate(lr, training=True)
            terms = self.content_loss(hr, sr)
            loss = tf.add_n(list(terms.values()))
            scaled = scale_for_replicas(loss)
        variables = self.generator.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._report({"g_loss": loss, **terms})

    def test_step(self, data):
        lr, hr, _ = keras.utils.unpack_x_y_sample_weight(data)
        sr = self.generate(lr, training=False)
        values = {
            "psnr": tf.reduce_mean(metrics.psnr_tf(hr, sr, crop=self.scale)),
            "ssim": tf.reduce_mean(metrics.ssim_tf(hr, sr, crop=self.scale)),
        }
        if self.validation_lpips is not None:  # on the 8-bit SR, border cropped like PSNR
            c = self.scale
            quantised = metrics.quantize_tf(sr) / 255.0
            values["lpips"] = tf.reduce_mean(self.validation_lpips([tf.cast(hr, tf.float32)[:, c:-c, c:-c], quantised[:, c:-c, c:-c]]))
        return self._report(values)

    def make_test_function(self, force=False):
        # Validation runs on whole images of many sizes: XLA would compile once per size, so the
        # test function is traced without it (training keeps jit_compile).
        jit_compile = self.jit_compile
        self.jit_compile = False
        try:
            return super().make_test_function(force)
        finally:
            self.jit_compile = jit_compile

    def checkpoint_items(self) -> dict:
        """Trackables a checkpoint must hold to resume this model exactly."""
        return {"generator": self.generator, "optimizer": self.optimizer}

    def build_optimizers(self) -> None:
        """Create optimizer slots now (inside the strategy scope), so checkpoints restore into them."""
        self.optimizer.build(self.generator.trainable_variables)
