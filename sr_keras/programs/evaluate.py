"""sr-eval: PSNR/SSIM of a model on benchmark images, with the SR papers' protocol.

  sr-eval --model=bicubic --hr_dir=PATH/Set5 --scale=4 --output=set5.json
  sr-eval --model=run/generator.keras --hr_dir=embedded
  sr-eval --model=realesrgan-x4plus --hr_dir=tfds:div2k/bicubic_x4:validation --data_dir=DIR

Each HR image is cropped to a multiple of the scale, its LR made by MATLAB bicubic, the SR output
rounded to uint8 and scored on Y (or RGB) after cropping `scale` pixels from every border.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    flags.DEFINE_string("model", "bicubic", "bicubic, a shipped model name, a .keras file or a SavedModel directory.")
    flags.DEFINE_string("hr_dir", "embedded", "HR images: a folder, 'embedded', or tfds:NAME[:SPLIT].")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for tfds: sources.")
    flags.DEFINE_integer("scale", 4, "Upscaling factor (used by bicubic; a model's own scale must match).")
    flags.DEFINE_integer("crop", None, "Border pixels removed before scoring (default: the scale).")
    flags.DEFINE_enum("channel", "y", ["y", "rgb"], "Score on the Y channel (papers) or on RGB.")
    flags.DEFINE_string("output", None, "Write the per-image and mean numbers to this JSON file.")


def main(argv):
    del argv
    from sr_keras import evaluation
    from sr_keras.data import pipeline, sources
    from sr_keras.inference import load_upscaler

    upscaler = load_upscaler(FLAGS.model, FLAGS.scale)
    if upscaler.scale != FLAGS.scale:
        raise app.UsageError(f"--model={FLAGS.model} upscales x{upscaler.scale} but --scale={FLAGS.scale}")
    pairs = pipeline.evaluation_pairs(sources.load_source(FLAGS.hr_dir, FLAGS.data_dir), FLAGS.scale)
    scores = evaluation.evaluate(upscaler, pairs, FLAGS.crop, FLAGS.channel)
    crop = FLAGS.scale if FLAGS.crop is None else FLAGS.crop
    title = f"{upscaler.name} x{FLAGS.scale} on {FLAGS.hr_dir} ({FLAGS.channel.upper()}, crop {crop})"
    print(evaluation.format_table(scores, title))
    if FLAGS.output:
        result = {"model": FLAGS.model, "hr_dir": FLAGS.hr_dir, "scale": FLAGS.scale, "crop": crop, "channel": FLAGS.channel}
        result.update(evaluation.summary(scores))
        folder = os.path.dirname(FLAGS.output)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(FLAGS.output, "w") as handle:
            json.dump(result, handle, indent=2)
        print(f"wrote {FLAGS.output}", file=sys.stderr)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
