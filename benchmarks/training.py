"""Seconds per training update (G, or G + D) at the papers' sizes, with and without XLA.

The perceptual VGG uses random weights here (weights do not change the cost), so the benchmark
runs offline; everything else is the training model sr-train builds.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from benchmarks.timing import time_repeated

CONFIGS = {
    # name: (experiment overrides of TrainConfig)
    "srresnet_mse_update": dict(generator="srresnet", num_blocks=16, gan="none", pixel_loss="mse", crop_size=96),
    "srgan_vgg54_update": dict(
        generator="srresnet", num_blocks=16, gan="standard", discriminator="srgan", pixel_weight=0.0,
        perceptual_layer="block5_conv4", perceptual_feature_scale=1 / 12.75, crop_size=96,
    ),
    "esrgan_gan_update": dict(
        generator="rrdbnet", num_blocks=23, gan="relativistic", discriminator="vgg_style", pixel_loss="l1",
        pixel_weight=1e-2, perceptual_layer="block5_conv4", perceptual_before_activation=True,
        perceptual_criterion="l1", adversarial_weight=5e-3, crop_size=128,
    ),
}


def run(name: str, jit_compile: bool, batch_size: int = 16, repeats: int = 5, warmup: int = 2) -> dict:
    """Median/min/max seconds per update of workload `name` (see CONFIGS) on random batches."""
    import keras

    from sr_keras.training import builders
    from sr_keras.training.config import TrainConfig

    keras.backend.clear_session()
    config = TrainConfig(batch_size=batch_size, jit_compile=jit_compile, **CONFIGS[name])
    model = builders.build_training_model(config, perceptual_weights=None)
    rng = np.random.default_rng(0)
    c, s = config.crop_size, config.scale
    hr = tf.constant(rng.random((batch_size, c, c, 3), dtype=np.float32))
    lr = tf.constant(rng.random((batch_size, c // s, c // s, 3), dtype=np.float32))
    timing = time_repeated(lambda: model.train_on_batch(lr, hr), repeats, warmup)
    return {"batch_size": batch_size, "hr_crop": c, "jit_compile": jit_compile, "seconds_are": "per update", **timing}
