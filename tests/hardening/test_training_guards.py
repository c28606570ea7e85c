"""Training never saves a poisoned "last good" checkpoint and never loses or mixes up a run:
the weight guard, config validation, resume after a stop as its message says, fallback past a
missing or corrupt latest checkpoint, one writer per run folder (a lock released on kill -9),
config.json kept per start, generator.keras made again when missing or unreadable."""

import glob
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import config as config_lib
from sr_keras.training import loop, run_folder
from tests.training.conftest import replace, tiny_config  # noqa: F401  (photo_dir fixture below)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from PIL import Image

    from tests.training.conftest import smooth_photo

    folder = tmp_path_factory.mktemp("photos")
    for i in range(2):
        Image.fromarray(smooth_photo(i)).save(folder / f"photo{i}.png")
    return str(folder)


@pytest.fixture(scope="module")
def trained_runs(photos, tmp_path_factory):
    """{steps: run folder} of `small` runs trained once for the module (checkpoints every 2 steps);
    a test that changes a run works on its own copy (`copy_of`)."""
    runs = {}
    for steps in (2, 4):
        runs[steps] = str(tmp_path_factory.mktemp(f"trained_{steps}") / "run")
        loop.train(small(photos, steps=steps), runs[steps], verbose=0)
    return runs


def copy_of(run_dir, tmp_path):
    """A copy of a finished run folder, as the run left it (checkpoints, logs, config records, generator.keras)."""
    return shutil.copytree(run_dir, str(tmp_path / "run"))


def small(photos, **overrides):
    values = dict(steps=4, checkpoint_every=2, jit_compile=False, learning_rate=1e-3)
    values.update(overrides)
    return tiny_config(photos, **values)


def checkpoint_steps(run_dir):
    state = tf.train.get_checkpoint_state(os.path.join(run_dir, "checkpoints"))
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths] if state else []


def all_finite_and_bounded(prefix, limit=1e3):
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and "optimizer" not in name.lower():
            if not (np.isfinite(value).all() and np.abs(value).max(initial=0) <= limit):
                return False
    return True


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1e-4", "1e39"])
def test_config_refuses_a_learning_rate_that_cannot_train(value):
    with pytest.raises(ValueError, match=r"learning_rate=.* must be"):
        config_lib.TrainConfig(learning_rate=config_lib.parse_override("learning_rate", value))


@pytest.mark.parametrize("field,value", [("lr_gamma", 0.0), ("beta1", 1.0), ("beta2", -0.1), ("crop_size", 0), ("keep_checkpoints", 0),
                                         ("adversarial_weight", -1.0), ("log_every", 0), ("validate_every", -1), ("perceptual_feature_scale", float("nan"))])
def test_config_refuses_other_out_of_range_numbers(field, value):
    with pytest.raises(ValueError, match=field):
        config_lib.TrainConfig(**{field: value})


def test_weight_guard_flags_non_finite_and_exploded_weights():
    from sr_keras.archs import SRResNet

    model = SRResNet(num_blocks=1, num_features=8)
    bounds = loop.weight_bounds(model)
    assert loop.weights_problem(model, bounds) is None
    kernel = model.trainable_variables[0]
    initial = kernel.numpy()
    bound = loop.EXPLOSION_FACTOR * max(np.abs(initial).max(), 1.0)
    kernel.assign(initial * 0 + bound * 0.999)  # just inside
    assert loop.weights_problem(model, bounds) is None
    kernel.assign(initial * 0 + bound * 1.001)  # just outside
    assert "exploded" in loop.weights_problem(model, bounds) and kernel.path in loop.weights_problem(model, bounds)
    kernel.assign(np.full_like(initial, np.nan))
    assert "1 variable(s) became NaN/Inf" in loop.weights_problem(model, bounds)


def test_exploding_lr_saves_nothing_poisoned_and_the_advised_resume_works(photos, trained_runs, tmp_path):
    run_dir = copy_of(trained_runs[2], tmp_path)  # a good checkpoint at step 2
    with pytest.raises(loop.TrainingDiverged) as stopped:
        loop.train(small(photos, steps=6, checkpoint_every=1, learning_rate=1e6), run_dir, verbose=0)
    message = str(stopped.value)
    print(message)
    assert "exploded" in message or "NaN/Inf" in message
    assert "at step 3" in message and message.rstrip(".").endswith("to resume from it")
    assert "last good checkpoint is " + os.path.join(run_dir, "checkpoints", "ckpt-2") in message
    assert checkpoint_steps(run_dir) == [2]  # the poisoned step 3 was not saved
    assert all_finite_and_bounded(os.path.join(run_dir, "checkpoints", "ckpt-2"))
    # "lower --learning_rate ... then run sr-train on RUN_DIR again to resume from it":
    resumed = loop.train(small(photos, steps=6, checkpoint_every=1, learning_rate=1e-3), run_dir, verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 6
    assert loop.weights_problem(resumed, loop.weight_bounds(resumed)) is None
    assert checkpoint_steps(run_dir)[-1] == 6 and all_finite_and_bounded(os.path.join(run_dir, "checkpoints", "ckpt-6"))


def test_first_update_explosion_with_finite_loss_is_caught_by_the_weights(photos, tmp_path):
    # Step 1's loss is computed with the initial weights (finite); the update makes them ~1e6.
    with pytest.raises(loop.TrainingDiverged, match=r"exploded.*at step 1; stopped without saving. The last good checkpoint is \(none yet\)"):
        loop.train(small(photos, steps=3, checkpoint_every=1, learning_rate=1e6), str(tmp_path), verbose=0)
    assert checkpoint_steps(str(tmp_path)) == []


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_latest_checkpoint_falls_back_with_one_warning(photos, trained_runs, tmp_path, damage, caplog):
    run_dir = copy_of(trained_runs[4], tmp_path)
    assert checkpoint_steps(run_dir) == [2, 4]
    files = glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-4.*"))
    for path in files:
        if damage == "missing":
            os.remove(path)
        elif path.endswith(".index") is False:
            size = os.path.getsize(path)
            with open(path, "r+b") as handle:
                handle.write(b"\xde\xad\xbe\xef" * (size // 4))
    with caplog.at_level(logging.WARNING):
        model = loop.train(small(photos, steps=6), run_dir, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "; using " in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert "ckpt-4" in warnings[0] and warnings[0].endswith("using " + os.path.join(run_dir, "checkpoints", "ckpt-2") + " instead")
    assert ("missing" if damage == "missing" else "unreadable") in warnings[0]


def test_no_intact_checkpoint_is_an_error_not_a_silent_restart(photos, trained_runs, tmp_path):
    run_dir = copy_of(trained_runs[2], tmp_path)
    for path in glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-*")):
        os.remove(path)
    with pytest.raises(RuntimeError, match="no intact checkpoint"):
        loop.train(small(photos, steps=4), run_dir, verbose=0)


def test_one_writer_per_run_dir_and_kill_9_releases_the_lock(tmp_path):
    run_dir = str(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from sr_keras.training import run_folder; "
         "lock = run_folder.lock_run_dir(sys.argv[1]); print('locked', flush=True); time.sleep(600)", run_dir],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(run_folder.RunDirInUse, match=rf"{run_dir} is in use by another sr-train \(pid {child.pid} on "):
            run_folder.lock_run_dir(run_dir)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    handle = run_folder.lock_run_dir(run_dir)  # released by the kernel on kill -9
    assert f"pid {os.getpid()}" in open(os.path.join(run_dir, ".lock")).read()
    handle.close()


def test_a_second_train_on_a_locked_run_dir_is_refused_without_touching_it(photos, tmp_path):
    run_dir = str(tmp_path)
    holder = run_folder.lock_run_dir(run_dir)  # flock locks conflict between two open files, even in one process
    try:
        with pytest.raises(run_folder.RunDirInUse):
            loop.train(small(photos, steps=2), run_dir, verbose=0)
    finally:
        holder.close()
    assert sorted(os.listdir(run_dir)) == [".lock"]


def test_config_is_kept_per_start_and_a_resume_reads_the_newest(photos, trained_runs, tmp_path):
    run_dir = copy_of(trained_runs[2], tmp_path)  # started once, trained for 2 steps
    time.sleep(1.1)  # records are named by the second
    loop.train(small(photos, steps=4, learning_rate=5e-4), run_dir, verbose=0)
    original = json.load(open(os.path.join(run_dir, "config.json")))
    assert original["learning_rate"] == 1e-3 and original["steps"] == 2  # the first start's settings, kept
    records = sorted(os.listdir(os.path.join(run_dir, "configs")))
    assert [r.split("-")[1] for r in records] == ["00000000", "00000002"]
    assert json.load(open(os.path.join(run_dir, "configs", records[1])))["learning_rate"] == 5e-4
    assert run_folder.load_run_config(run_dir)["learning_rate"] == 5e-4
    assert not [name for name in os.listdir(run_dir) if "partial" in name]


def test_corrupt_config_json_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text('{"steps": 4,')
    with pytest.raises(ValueError, match=rf"{tmp_path / 'config.json'}: not valid JSON \(Expecting .* at line 1, column 13\)"):
        run_folder.load_run_config(str(tmp_path))


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_generator_keras_is_made_again_when_missing_or_unreadable(photos, trained_runs, tmp_path, damage):
    import keras

    import sr_keras.archs  # noqa: F401  (registers the generator's layers for load_model)

    run_dir = copy_of(trained_runs[2], tmp_path)
    config = small(photos, steps=2)
    trained = keras.saving.load_model(os.path.join(trained_runs[2], "generator.keras"), compile=False)  # as the run saved it
    path = os.path.join(run_dir, "generator.keras")
    assert run_folder.generator_is_readable(path)
    if damage == "missing":
        os.remove(path)
    else:
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
    assert not run_folder.generator_is_readable(path)
    loop.train(config, run_dir, verbose=0)  # "already trained": writes the generator again
    assert run_folder.generator_is_readable(path)
    again = keras.saving.load_model(path, compile=False)
    for a, b in zip(again.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
