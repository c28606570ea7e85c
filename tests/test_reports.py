"""Training curves: TensorBoard scalars read back exactly (a resumed run's repeated step keeps its last value)."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from sr_keras import reports


def write_run(run_dir, points, tag="train/g_loss"):
    """One event file per list of (step, value): a resumed run writes a second file."""
    for chunk in points:
        writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs"))
        with writer.as_default():
            for step, value in chunk:
                tf.summary.scalar(tag, value, step=step)
        writer.close()


def test_scalars_round_trip_and_resumed_steps_keep_the_last_value(tmp_path):
    run = str(tmp_path / "run")
    write_run(run, [[(1, 0.5), (2, 0.25)], [(2, 0.2), (3, 0.125)]])
    steps, values = reports.read_scalars(run)["train/g_loss"]
    np.testing.assert_array_equal(steps, [1, 2, 3])
    np.testing.assert_allclose(values, [0.5, 0.2, 0.125])


def test_plot_has_one_panel_per_tag_and_names_every_run(tmp_path):
    write_run(str(tmp_path / "a"), [[(1, 1.0), (2, 0.5)]])
    write_run(str(tmp_path / "b"), [[(1, 0.9), (2, 0.4)]])
    write_run(str(tmp_path / "b"), [[(1, 0.7)]], tag="train/d_loss")
    path = reports.plot_training_curves([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "out" / "curves.png"))
    width, height = Image.open(path).size
    assert (width, height) == (int(4.2 * 2 * 110), int(3.0 * 110))  # 2 tags -> 2 panels in one row, dpi 110
