"""Figures from training runs: TensorBoard scalars read back and plotted with matplotlib.

  python -m sr_keras.reports --run_dir=runs/srresnet --run_dir=runs/srgan --output=curves.png
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
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("tensor") and value.metadata.plugin_data.plugin_name == "scalars":
                    series[value.tag][event.step] = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    series[value.tag][event.step] = value.simple_value
    return {tag: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)])) for tag, points in series.items()}


def plot_training_curves(run_dirs: list[str], output: str, title: str = "") -> str:
    """One panel per scalar tag (losses, learning rates, validation PSNR/SSIM), one line per run."""
    import matplotlib
    import matplotlib.lines

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {os.path.basename(os.path.normpath(d)): read_scalars(d) for d in run_dirs}
    tags = sorted({tag for scalars in runs.values() for tag in scalars})
    if not tags:
        raise ValueError(f"no scalar summaries under {', '.join(d + '/logs' for d in run_dirs)}")
    columns = min(4, len(tags))
    rows = (len(tags) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    colours = {name: f"C{i}" for i, name in enumerate(runs)}  # one colour per run in every panel
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


def main(argv):
    del argv
    from absl import flags

    print(plot_training_curves(flags.FLAGS.run_dir, flags.FLAGS.output, flags.FLAGS.title))


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_multi_string("run_dir", None, "Run directories to plot.", required=True)
    flags.DEFINE_string("output", "training_curves.png", "PNG file to write.")
    flags.DEFINE_string("title", "", "Figure title.")
    app.run(main)
