"""Checkpoints and resuming: an interrupted run resumes to the same weights, schedules and logs continue.

How runs stop (divergence, a hard kill) is in test_stops.py."""

import os
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import loop

from .conftest import replace


def weights(model):
    return model.generator.get_weights() + (model.discriminator.get_weights() if hasattr(model, "discriminator") else [])


def stopped_after(finished_run, run_dir, step):
    """Copy `finished_run` to `run_dir` as a run stopped right after its checkpoint at `step` leaves it:
    the later checkpoints and generator.keras are gone, and the checkpoint state file lists only the
    checkpoints up to `step`, each with the time it was written (as tf.train.CheckpointManager wrote
    them: `model_checkpoint_path: "ckpt-4"`, then paired `all_model_checkpoint_paths` and
    `all_model_checkpoint_timestamps` lines, then `last_preserved_timestamp`)."""
    shutil.copytree(finished_run, run_dir)
    checkpoints = os.path.join(run_dir, "checkpoints")
    for name in os.listdir(checkpoints):
        if name.startswith("ckpt-") and int(name[len("ckpt-"):].split(".")[0]) > step:
            os.remove(os.path.join(checkpoints, name))
    fields = [line.split(": ", 1) for line in open(os.path.join(checkpoints, "checkpoint")).read().splitlines()]
    paths = [value for key, value in fields if key == "all_model_checkpoint_paths"]
    times = [value for key, value in fields if key == "all_model_checkpoint_timestamps"]
    kept = [index for index, path in enumerate(paths) if int(path.strip('"').rsplit("-", 1)[1]) <= step]
    lines = [f'model_checkpoint_path: "ckpt-{step}"']
    lines += [f"all_model_checkpoint_paths: {paths[i]}" for i in kept]
    lines += [f"all_model_checkpoint_timestamps: {times[i]}" for i in kept]
    lines += [f"{key}: {value}" for key, value in fields if key == "last_preserved_timestamp"]
    with open(os.path.join(checkpoints, "checkpoint"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.remove(os.path.join(run_dir, "generator.keras"))


@pytest.mark.parametrize("gan", ["none", "standard"])
def test_resumed_run_equals_uninterrupted_run(make_config, tmp_path, gan):
    config = make_config(gan=gan, steps=4, checkpoint_every=2)
    full = loop.train(config, str(tmp_path / "full"), verbose=0)
    # "Interrupted" after step 2: its checkpoint, written by the uninterrupted run, is all that is left.
    stopped_after(str(tmp_path / "full"), str(tmp_path / "split"), 2)
    assert int(tf.train.latest_checkpoint(str(tmp_path / "split" / "checkpoints")).rsplit("-", 1)[1]) == 2
    resumed = loop.train(config, str(tmp_path / "split"), verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 4
    # It started from step 2 (configs/config-<start step>-<time>.json), not again from scratch.
    assert sorted(name.split("-")[1] for name in os.listdir(tmp_path / "split" / "configs")) == ["00000000", "00000002"]
    for a, b in zip(weights(full), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    checkpoints = tf.train.get_checkpoint_state(str(tmp_path / "split" / "checkpoints")).all_model_checkpoint_paths
    assert [p.rsplit("-", 1)[1] for p in checkpoints] == ["2", "4"]
    assert os.path.isfile(tmp_path / "full" / "generator.keras")
    assert os.listdir(tmp_path / "full" / "logs")  # TensorBoard events


def test_keep_only_the_last_k_checkpoints(make_config, tmp_path):
    loop.train(make_config(steps=6, checkpoint_every=1, keep_checkpoints=2), str(tmp_path), verbose=0)
    state = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] == ["5", "6"]


def test_logged_losses_are_means_over_each_logging_interval(make_config, tmp_path):
    from sr_keras import reports

    config = make_config(steps=4, checkpoint_every=4, log_every=1, jit_compile=False)
    loop.train(config, str(tmp_path), verbose=0)
    steps, values = reports.read_scalars(str(tmp_path))["train/g_loss"]
    assert list(steps) == [1, 2, 3, 4]
    # The same seeded run logged every 2 steps writes the mean of each pair of per-step losses.
    loop.train(replace(config, log_every=2), str(tmp_path / "pairs"), verbose=0)
    steps2, values2 = reports.read_scalars(str(tmp_path / "pairs"))["train/g_loss"]
    assert list(steps2) == [2, 4]
    np.testing.assert_allclose(values2, [values[:2].mean(), values[2:].mean()], rtol=1e-5)


def test_schedule_values_and_resume_with_new_milestones(make_config, tmp_path):
    """MultiStepDecay by hand; a run stopped at a constant rate resumes with a decay (same optimizer slots)."""
    from sr_keras.training.builders import MultiStepDecay

    schedule = MultiStepDecay(2e-4, (3, 5), 0.5)
    assert [float(schedule(step)) for step in range(7)] == pytest.approx([2e-4] * 3 + [1e-4] * 2 + [5e-5] * 2)
    assert float(MultiStepDecay(1e-4)(10**6)) == pytest.approx(1e-4)
    assert float(tf.function(schedule, jit_compile=True)(tf.constant(4, tf.int64))) == pytest.approx(1e-4)

    config = make_config(steps=2, checkpoint_every=2)
    loop.train(config, str(tmp_path), verbose=0)
    resumed = loop.train(replace(config, steps=4, lr_milestones=(2,), lr_gamma=0.1), str(tmp_path), verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 4
    assert float(resumed.optimizer.learning_rate) == pytest.approx(config.learning_rate * 0.1)


def test_seconds_per_update_leaves_out_the_monitors_own_work(make_config, tmp_path, monkeypatch):
    # Validation and checkpoint saving each take 0.5 s more here; the logged update time must not include them.
    slow = lambda original: lambda *args, **kwargs: (time.sleep(0.5), original(*args, **kwargs))[1]  # noqa: E731
    monkeypatch.setattr(loop.TrainingMonitor, "_validate", slow(loop.TrainingMonitor._validate))
    monkeypatch.setattr(loop.TrainingMonitor, "save", slow(loop.TrainingMonitor.save))
    config = make_config(steps=6, checkpoint_every=2, log_every=2, validate_every=2, jit_compile=False)
    started = time.perf_counter()
    loop.train(config, str(tmp_path), verbose=0)
    wall = time.perf_counter() - started
    from sr_keras import reports

    steps, seconds = reports.read_scalars(str(tmp_path))["train/seconds_per_update"]
    assert list(steps) == [2, 4, 6]
    assert np.all(seconds > 0)
    # 3 validations + 4 saves (one per epoch and the final one) sleep 3.5 s; the logged updates exclude all of it.
    assert wall > 3.5
    assert 2 * seconds.sum() < wall - 3.5
    assert np.all(seconds[1:] < 0.25)  # a tiny update on this CPU is milliseconds, far from the 0.5 s sleeps
