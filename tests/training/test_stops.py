"""How runs stop: a diverging run stops with a clear message and keeps its last good checkpoint; a
killed run loses at most the steps since its last checkpoint and resumes from it.

(Kept apart from test_resume.py so that pytest-xdist, which runs one file per worker, can run the
two files side by side.)"""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import loop


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
        "--num_blocks=1", "--num_features=8", "--crop_size=16", "--batch_size=2", "--jit_compile=false",
        "--steps=100000", "--checkpoint_every=3", "--log_every=1000", "--verbose=0",
    ]  # no XLA: compiling would only delay the kill (the XLA train steps are tested in test_train_steps)
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
