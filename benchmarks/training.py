"""Seconds per training update (G, or G + D) at the papers' sizes: XLA, oneDNN (no XLA), mixed_bfloat16.

The perceptual VGG uses random weights here (weights do not change the cost), so the benchmark
runs offline; everything else is the training model sr-train builds.  FLOPs are analytic
(benchmarks/flops.py), counted pass by pass as sr_keras/training/srgan_model.py runs them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from benchmarks import flops
from benchmarks.timing import time_repeated

CONFIGS = {
    # name: (experiment overrides of TrainConfig)
    "srresnet_mse_update": dict(generator="srresnet", num_blocks=16, gan="none", pixel_loss="mse", crop_size=96),
    "srgan_vgg54_update": dict(
        generator="srresnet", num_blocks=16, gan="standard", discriminator="srgan", pixel_weight=0.0,
        perceptual_layer="block5_conv4", perceptual_feature_scale=1 / 12.75, crop_size=96,
    ),
    # ESRGAN stage 1 (the RRDB-PSNR model): L1 only, 32 -> 128 px.
    "rrdbnet_l1_update": dict(generator="rrdbnet", num_blocks=23, gan="none", pixel_loss="l1", crop_size=128),
    "esrgan_gan_update": dict(
        generator="rrdbnet", num_blocks=23, gan="relativistic", discriminator="vgg_style", pixel_loss="l1",
        pixel_weight=1e-2, perceptual_layer="block5_conv4", perceptual_before_activation=True,
        perceptual_criterion="l1", adversarial_weight=5e-3, crop_size=128,
    ),
}  # fmt: skip

# (repeats, warm-up updates) on a 2-core CPU; the 23-block ESRGAN update takes tens of seconds.
DEFAULT_REPEATS = {"srresnet_mse_update": (5, 2), "srgan_vgg54_update": (3, 2), "rrdbnet_l1_update": (3, 1), "esrgan_gan_update": (3, 1)}
BATCH_SIZE = 16

# --smoke: tiny generators on 32 px crops (multiple of 32 for the VGG-style D), batch 2.
SMOKE = dict(num_blocks=1, num_features=16, growth=32, crop_size=32)  # growth 32: spandrel's RRDBNet (the PyTorch peer) fixes it
SMOKE_BATCH_SIZE = 2


def make_config(name: str, jit_compile: bool, smoke: bool = False, overrides: dict | None = None):
    """The TrainConfig of workload `name`; `overrides` (TrainConfig fields) are experiments (benchmarks.run --set)."""
    from sr_keras.training.config import TrainConfig

    batch_size = SMOKE_BATCH_SIZE if smoke else BATCH_SIZE
    fields = {**CONFIGS[name], **(SMOKE if smoke else {}), **(overrides or {})}
    return TrainConfig(batch_size=batch_size, jit_compile=jit_compile, **fields)


def build_model(config):
    from sr_keras.training import builders

    return builders.build_training_model(config, perceptual_weights=None)


def update_passes(model, config) -> list[dict]:
    """The network passes of one train_step with their analytic FLOPs (see flops.CONVENTION).

    SRModel: G forward + backward.  SRGANModel / ESRGANModel, G step: G fwd+bwd; D on SR (stateless,
    forward + input gradient); ESRGAN also D on HR (forward only, logits gradient-stopped); VGG on
    HR (forward only, features gradient-stopped) and on SR (forward + input gradient).  D step: D fwd+bwd on HR and on SR.
    """
    n, c, s = config.batch_size, config.crop_size, config.scale
    hr_shape, lr_shape = (c, c, 3), (c // s, c // s, 3)
    passes = [("generator", model.generator, n, lr_shape, 3, "G step: forward + input and weight gradients")]
    perceptual = model.content_loss.perceptual
    if perceptual is not None:
        passes.append(("vgg", perceptual.extractor, n, hr_shape, 1, "G step: VGG(HR), forward only (gradient stopped)"))
        passes.append(("vgg", perceptual.extractor, n, hr_shape, 2, "G step: VGG(SR), forward + input gradient"))
    if config.gan != "none":
        d = model.discriminator
        passes.append(("discriminator", d, n, hr_shape, 2, "G step: D(SR), forward + input gradient"))
        if model.generator_uses_real_logits:
            passes.append(("discriminator", d, n, hr_shape, 1, "G step: D(HR), forward only (gradient stopped)"))
        passes.append(("discriminator", d, 2 * n, hr_shape, 3, "D step: D(HR) and D(SR), forward + input and weight gradients"))
    per_image = {}
    result = []
    for network, keras_model, images, shape, factor, what in passes:
        key = (network, shape)
        if key not in per_image:
            per_image[key] = flops.count_flops(keras_model, (1, *shape)).total
        result.append(
            {"network": network, "images": images, "input": list(shape), "factor": factor, "what": what,
             "forward_flops_per_image": per_image[key], "flops": per_image[key] * images * factor}
        )  # fmt: skip
    return result


def update_flops(model, config) -> dict:
    passes = update_passes(model, config)
    return {"total": sum(p["flops"] for p in passes), "per": "update", "passes": passes}


def run(
    name: str, jit_compile: bool, smoke: bool = False, repeats: int | None = None, warmup: int | None = None,
    overrides: dict | None = None,
) -> dict:
    """Median/min/max seconds per update of workload `name` (see CONFIGS) on random batches."""
    import keras

    keras.backend.clear_session()
    config = make_config(name, jit_compile, smoke, overrides)
    model = build_model(config)
    default_repeats, default_warmup = (2, 1) if smoke else DEFAULT_REPEATS[name]
    repeats = repeats or default_repeats
    warmup = default_warmup if warmup is None else warmup
    rng = np.random.default_rng(0)
    n, c, s = config.batch_size, config.crop_size, config.scale
    hr = tf.constant(rng.random((n, c, c, 3), dtype=np.float32))
    lr = tf.constant(rng.random((n, c // s, c // s, 3), dtype=np.float32))
    timing = time_repeated(lambda: model.train_on_batch(lr, hr), repeats, warmup)
    return {
        "generator": {"arch": config.generator, "num_blocks": config.num_blocks, "num_features": config.num_features},
        "gan": config.gan,
        "batch_size": n,
        "hr_crop": c,
        "lr_crop": c // s,
        "jit_compile": jit_compile,
        "overrides": overrides or {},
        "seconds_are": "per update",
        **timing,
        "updates_per_s": 1.0 / timing["median_s"],
        "images_per_s": n / timing["median_s"],
        "hr_megapixels_per_s": n * c * c / 1e6 / timing["median_s"],
        "flops": update_flops(model, config),
    }
