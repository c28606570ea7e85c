"""Reports: training curves read back from TensorBoard logs, and the comparison report of sr-demo.

  python -m sr_keras.reports --run_dir=runs/srresnet --run_dir=runs/srgan --output=curves.png

Training curves: `read_scalars` (TensorBoard scalars of a run) and `plot_training_curves` (one
panel per tag, one colour per run: `run_colours` names them, so a text can say which is which).

The comparison report (what `sr-demo` writes; any set of models scored on photos with a held-out
split): `model_entry` (one model's metrics.json entry), `metrics_markdown` (the mean and
per-image tables), `findings` (sentences stating how each model compares with bicubic, from the
numbers) and `report_markdown` (the report's README.md).  They take the numbers and write text;
nothing here trains or scores.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict

import numpy as np
import tensorflow as tf


def read_scalars(run_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """All scalar summaries under run_dir/logs: tag -> (steps, values), sorted by step.

    A resumed run writes several event files; a step logged twice keeps its last value.
    """
    series: dict[str, dict[int, float]] = defaultdict(dict)
    for path in sorted(glob.glob(os.path.join(run_dir, "logs", "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):  # what the deprecated summary_iterator reads
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.HasField("tensor") and value.metadata.plugin_data.plugin_name == "scalars":
                    series[value.tag][event.step] = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    series[value.tag][event.step] = value.simple_value
    return {tag: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)])) for tag, points in series.items()}


# matplotlib's default colour cycle, C0, C1, ... and what to call each colour in a text.
COLOUR_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan")


def run_colours(names: list[str]) -> dict[str, tuple[str, str]]:
    """run name -> (matplotlib colour "C0", "C1", ..., its name "blue", "orange", ...), in order.

    `plot_training_curves` draws run k (in the order of its run_dirs) in colour k; a report says
    which run is which colour with the same mapping.
    """
    return {name: (f"C{i % 10}", COLOUR_NAMES[i % 10]) for i, name in enumerate(names)}


def run_name(run_dir: str) -> str:
    """The name a run is plotted under: its folder's name."""
    return os.path.basename(os.path.normpath(run_dir))


def plot_training_curves(run_dirs: list[str], output: str, title: str = "") -> str:
    """One panel per scalar tag (losses, learning rates, validation PSNR/SSIM), one line per run."""
    import matplotlib
    import matplotlib.lines

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {run_name(d): read_scalars(d) for d in run_dirs}
    tags = sorted({tag for scalars in runs.values() for tag in scalars})
    if not tags:
        raise ValueError(f"no scalar summaries under {', '.join(d + '/logs' for d in run_dirs)}")
    columns = min(4, len(tags))
    rows = (len(tags) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    colours = {name: colour for name, (colour, _) in run_colours(list(runs)).items()}  # one colour per run in every panel
    for axis, tag in zip(axes.ravel(), tags):
        for name, scalars in runs.items():
            if tag in scalars:
                steps, values = scalars[tag]
                axis.plot(steps, values, marker="." if len(steps) < 30 else None, label=name, color=colours[name])
        axis.set_title(tag, fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=7)
        if tag.startswith(("train/", "learning_rate/")) and np.all([np.all(s[tag][1] > 0) for s in runs.values() if tag in s]):
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    for axis in axes.ravel()[len(tags) :]:
        axis.axis("off")
    handles = [matplotlib.lines.Line2D([], [], color=colours[name], label=name) for name in runs]
    figure.legend(handles=handles, loc="upper right", fontsize=8)  # one legend naming every run
    if title:
        figure.suptitle(title)
    figure.tight_layout(rect=(0, 0, 0.92, 1))
    folder = os.path.dirname(output)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


# --------------------------------------------------------------------------------------------
# The comparison report (sr-demo)
# --------------------------------------------------------------------------------------------


def model_entry(key: str, label: str, scores, held_out: str, seconds: float, kind: str) -> dict:
    """One model's entry of metrics.json: means over the held-out photo and the training photos.

    scores: `sr_keras.evaluation.ImageScore` per photo.  kind: "baseline" (bicubic), "ours"
    (trained by the demo on the training photos) or "pretrained" (trained elsewhere).
    """
    def mean(items, field):
        return float(np.mean([getattr(s, field) for s in items])) if items else float("nan")

    test = [s for s in scores if s.name == held_out]
    seen = [s for s in scores if s.name != held_out]
    return {
        "model": key,
        "label": label,
        "kind": kind,
        "held_out_psnr": mean(test, "psnr"),
        "held_out_ssim": mean(test, "ssim"),
        "training_photos_psnr": mean(seen, "psnr"),
        "training_photos_ssim": mean(seen, "ssim"),
        "seconds": round(seconds, 1),
        "images": [{**s.as_dict(), "split": "held_out" if s.name == held_out else "training"} for s in scores],
    }


def metrics_markdown(rows: list[dict], held_out: str, scale: int, notes: list[str] = ()) -> str:
    """The table of means and the per-image table (whole-image scores), as markdown."""
    scored = sum(1 for image in rows[0]["images"] if image["split"] == "training")
    lines = [
        f"Y-channel PSNR (dB) / SSIM of the whole image, x{scale}, {scale} border pixels cropped; LR = MATLAB bicubic of the HR.",
        "",
        f"| model | held-out `{held_out}` PSNR | SSIM | training photos (mean of {scored}) PSNR | SSIM |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['held_out_psnr']:.2f} | {row['held_out_ssim']:.4f} "
            f"| {row['training_photos_psnr']:.2f} | {row['training_photos_ssim']:.4f} |"
        )
    lines += [""]
    if any(row["kind"] == "ours" for row in rows):
        lines += [
            "The training photos were seen by the demo's own models during training (random crops): their numbers "
            "there are not a test result; the held-out photo is.",
            "",
        ]
    lines += [*(f"{note}\n" for note in notes)]
    lines += [
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


def findings(rows: list[dict], held_out: str, baseline: str = "bicubic") -> list[str]:
    """One sentence per model: its held-out PSNR/SSIM and how far above or below the baseline it is.

    Written from the numbers, so a report never claims more than it measured.
    """
    base = next((row for row in rows if row["model"] == baseline), None)
    sentences = []
    for row in rows:
        if base is None or row is base:
            continue
        psnr_diff = row["held_out_psnr"] - base["held_out_psnr"]
        ssim_diff = row["held_out_ssim"] - base["held_out_ssim"]
        if abs(psnr_diff) < 0.005:
            relation = f"equal to {base['label']} in PSNR"
        else:
            relation = f"{abs(psnr_diff):.2f} dB {'above' if psnr_diff > 0 else 'below'} {base['label']}"
        ssim_relation = "higher" if ssim_diff > 0 else "lower" if ssim_diff < 0 else "equal"
        sentences.append(
            f"{row['label']}: {row['held_out_psnr']:.2f} dB / {row['held_out_ssim']:.4f} on the held-out `{held_out}`, "
            f"{relation} ({base['held_out_psnr']:.2f} dB); SSIM {ssim_relation} ({ssim_diff:+.4f})."
        )
    return sentences


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def report_markdown(
    root: str,
    *,
    minutes: float,
    quick: bool,
    procedure: list[str],
    rows: list[dict],
    held_out: str,
    figure_caption: str,
    curves: dict[str, str],
    exports: dict,
    stage_seconds: dict[str, float],
    total_seconds: float,
    pngs: list[tuple[str, str, str]],
    skipped: list[str] = (),
) -> str:
    """The report's README.md.

    root: the report folder (links are relative to it; metrics.md must be written there first).
    procedure: the numbered "What was done" items (markdown, one per item).  curves: run name ->
    what it is, in the order given to `plot_training_curves` (the text names each run's colour with
    `run_colours`).  exports: {"saved_model"|"tflite": {path, bytes, max_abs_diff,
    uint8_pixels_differing, ...}, "check_image": text}.  pngs: (photo, kind, relative path) of the
    images written.  skipped: one line per model left out (and why).
    """
    lines = [
        "# sr_keras demo report",
        "",
        f"Written by `sr-demo` in {minutes:.1f} min" + (" (`--quick`: tiny settings, numbers are meaningless)" if quick else "") + ".",
        "",
        "## What was done",
        "",
        *(f"{number}. {item}" for number, item in enumerate(procedure, 1)),
        "",
        "## Results",
        "",
        "![comparison](comparison.png)",
        "",
        f"[comparison.png](comparison.png): {figure_caption}",
        "",
        "On the held-out photo (whole image):",
        "",
        *(f"- {sentence}" for sentence in findings(rows, held_out)),
        "",
    ]
    if skipped:
        lines += ["Left out: " + "; ".join(skipped), ""]
    with open(os.path.join(root, "metrics.md")) as handle:
        lines += [handle.read(), ""]
    colours = run_colours(list(curves))
    legend = ", ".join(f"{what} {colours[name][1]}" for name, what in curves.items())
    lines += [
        "## Training curves",
        "",
        "![training curves](training_curves.png)",
        "",
        f"Losses, learning rates and the held-out validation PSNR/SSIM of the training stages ({legend}; "
        "each stage counts its steps from 0). TensorBoard logs are in `runs/*/logs`: `tensorboard --logdir runs` in this folder.",
        "",
    ]
    if exports:
        lines += [
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
        ]
    lines += ["## Timings", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in stage_seconds.items()]
    lines += [f"| total | {total_seconds:.1f} |", "", "Settings and timings: [run.json](run.json).", ""]
    if pngs:
        kinds = list(dict.fromkeys(kind for _, kind, _ in pngs))
        lines += ["## Upscaled images", "", "| photo | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
        for photo in dict.fromkeys(photo for photo, _, _ in pngs):
            links = {kind: path for name, kind, path in pngs if name == photo}
            lines.append(f"| {photo} | " + " | ".join(f"[png]({links[k]})" if k in links else "" for k in kinds) + " |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# python -m sr_keras.reports
# --------------------------------------------------------------------------------------------


def main(argv):
    del argv
    from absl import flags

    print(plot_training_curves(flags.FLAGS.run_dir, flags.FLAGS.output, flags.FLAGS.title))


def run():
    """`python -m sr_keras.reports` (help: _PROGRAM_DOC)."""
    from absl import flags

    from sr_keras.programs import run_program

    flags.DEFINE_multi_string("run_dir", None, "An sr-train run directory (its logs/ are read); repeat the flag for several runs.", required=True)
    flags.DEFINE_string("output", "training_curves.png", "The PNG file to write (parent folders are created).")
    flags.DEFINE_string("title", "", "Figure title ('' = none).")
    run_program(main, doc=_PROGRAM_DOC)


_PROGRAM_DOC = """python -m sr_keras.reports: the training curves of sr-train runs as one PNG.

Reads the TensorBoard scalars of each --run_dir (every loss term, the learning rates, the
validation PSNR/SSIM, seconds per update) and draws one panel per tag with one line per run, each
run in its own colour in every panel (the legend names them); losses and learning rates are on a
log scale.  A resumed run's repeated steps keep their last value.

  python -m sr_keras.reports --run_dir=runs/srresnet --run_dir=runs/srgan --output=curves.png
  python -m sr_keras.reports --run_dir=runs/esrgan_psnr --title="ESRGAN stage 1"
"""


if __name__ == "__main__":
    run()
