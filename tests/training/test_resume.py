"""Checkpoints: an interrupted run resumes to the same weights; NaN stops with the last good checkpoint."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import loop

from .conftest import replace


def weights(model):
    return model.generator.get_weights() + (model.discriminator.get_weights() if hasattr(model, "discriminator") else [])


@pytest.mark.parametrize("gan", ["none", "standard"])
def test_resumed_run_equals_uninterrupted_run(make_config, tmp_path, gan):
    config = make_config(gan=gan, steps=4, checkpoint_every=2)
    full = loop.train(config, str(tmp_path / "full"), verbose=0)
    loop.train(replace(config, steps=2), str(tmp_path / "split"), verbose=0)  # "interrupted" after step 2
    resumed = loop.train(config, str(tmp_path / "split"), verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 4
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


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(make_config, tmp_path):
    loop.train(make_config(steps=2, checkpoint_every=2, jit_compile=False), str(tmp_path), verbose=0)  # a good checkpoint
    config = make_config(steps=40, checkpoint_every=1, learning_rate=1e12, jit_compile=False)
    # lr 1e12: the loss becomes NaN/Inf, or the weights explode first (caught before saving).
    with pytest.raises(loop.TrainingDiverged, match=r"(became NaN/Inf|exploded).* at step \d+.*last good checkpoint is .*ckpt-2"):
        loop.train(config, str(tmp_path), verbose=0)
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert latest.endswith("ckpt-2")
    reader = tf.train.load_checkpoint(latest)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), name


def test_hard_kill_loses_at_most_the_steps_since_the_last_checkpoint(photo_dir, tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "sr_keras.programs.train", f"--run_dir={run_dir}", f"--data={photo_dir}",
        "--num_blocks=1", "--num_features=8", "--crop_size=16", "--batch_size=2", "--steps=100000",
        "--checkpoint_every=3", "--log_every=1000", "--verbose=0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state_file = run_dir / "checkpoints" / "checkpoint"
    deadline = time.time() + 240
    while time.time() < deadline and not (state_file.exists() and "ckpt-6" in state_file.read_text()):
        assert process.poll() is None, process.stderr.read().decode()[-2000:]  # died before step 6
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = int(tf.train.latest_checkpoint(str(run_dir / "checkpoints")).rsplit("-", 1)[1])
    assert saved >= 6 and saved % 3 == 0
    # Resume for 3 more steps: the step count continues from the checkpoint.
    result = subprocess.run(command[:-4] + [f"--steps={saved + 3}", "--checkpoint_every=3", "--log_every=1000", "--verbose=0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith(f"ckpt-{saved + 3}")


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
    # Validation and checkpoint saving each take 1 s more here; the logged update time must not include them.
    slow = lambda original: lambda *args, **kwargs: (time.sleep(1.0), original(*args, **kwargs))[1]  # noqa: E731
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
    # 3 validations + 4 saves (one per epoch and the final one) sleep 7 s; the logged updates exclude all of it.
    assert wall > 7.0
    assert 2 * seconds.sum() < wall - 7.0
    assert np.all(seconds[1:] < 0.5)  # a tiny update on this CPU is milliseconds, far from the 1 s sleeps
