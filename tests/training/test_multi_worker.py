"""Two `sr-train` workers on 127.0.0.1 (MultiWorkerMirroredStrategy from TF_CONFIG) train as one process does.

SRResNet with (synchronized) batch norm, no GAN: with the SRGAN discriminator and SGD at this rate,
even one process with two replicas (MirroredStrategy) ended 0.32 away from the one-device D weights
after 3 updates (G: 3.4e-5), where a 2x gradient moved D by 3.1: D's training amplifies float32
summation-order differences (likely through the E[x^2] - E[x]^2 variance of Keras' synchronized BN),
so a D comparison could not tell a fault from rounding.  The job runs in two legs (stopped after 3 updates, resumed to 6) with plain SGD, so each weight is
w0 - lr * sum of the global-batch gradients: a worker that double-counted its gradient, saw other
examples or missed the chief's state at resume would land far from the single-process weights.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from sr_keras.training import builders, distributed, loop

from .conftest import tiny_config

# float32 all-reduce order: a worker's gradient is the sum of two half-batch gradients (each itself
# a float32 reduction over 10^3-10^4 products), and synchronized BN sums its moments from two
# partial sums; the single process reduces the whole batch in one pass.  Each rounds differently at
# ~6e-8 relative per operation, so after 6 SGD updates (lr 0.05, gradients of order 1) weights of
# order 0.1-1 may differ by tens of ulps (measured: 1.8e-7).  1e-5 leaves room for that and is 100x
# below how far the 6 updates move the weights (asserted below), so a 2x gradient, a wrong batch or a
# missed resume fails.
TOLERANCE = 1e-5
LEARNING_RATE = 0.05
TIMEOUT = 420  # seconds per leg: generous, the test machine's 2 cores are shared


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the OS picks them; released just before the workers bind them)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def sr_train_command(run_dir, photo_dir, steps):
    return [
        sys.executable, "-m", "sr_keras.programs.train", f"--run_dir={run_dir}", f"--data={photo_dir}",
        "--strategy=multi_worker", "--num_blocks=1", "--num_features=8", "--crop_size=16",
        "--batch_size=4", f"--steps={steps}", "--checkpoint_every=3", "--log_every=1", "--optimizer=sgd",
        f"--learning_rate={LEARNING_RATE}", "--jit_compile=false", "--verbose=0",
    ]


def run_workers(command, temp_dirs, logs_dir, leg):
    """Start one process per worker with its TF_CONFIG, wait for all; always kill what is left."""
    ports = free_ports(len(temp_dirs))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, logs = [], []
    try:
        for index, temp in enumerate(temp_dirs):
            env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}), TMPDIR=str(temp))
            log = open(logs_dir / f"{leg}_worker{index}.log", "w+")
            logs.append(log)
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and any(p.poll() is None for p in processes):
            if any(p.poll() not in (None, 0) for p in processes):
                break  # one failed: its peer would wait for it forever
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    texts = []
    for log in logs:
        log.seek(0)
        texts.append(log.read())
        log.close()
    for index, process in enumerate(processes):
        assert process.returncode == 0, f"worker {index} of leg {leg} exited with {process.returncode}:\n{texts[index][-3000:]}"
    return texts


def generator_weights(path):
    import sr_keras.archs  # noqa: F401  (registers custom objects)

    return np.concatenate([np.ravel(w) for w in keras.saving.load_model(path, compile=False).get_weights()])


def checkpoint_weights(checkpoint_dir):
    """Every float variable of the latest checkpoint in `checkpoint_dir`, by name."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(checkpoint_dir))
    values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    return {name: value for name, value in values.items() if isinstance(value, np.ndarray) and value.dtype.kind == "f"}


def test_two_workers_train_like_one_process_and_resume(photo_dir, tmp_path):
    run_dir = tmp_path / "run"
    temp_dirs = [tmp_path / "tmp0", tmp_path / "tmp1"]
    for folder in temp_dirs:
        folder.mkdir()
    first = run_workers(sr_train_command(run_dir, photo_dir, 3), temp_dirs, tmp_path, "leg1")  # the job stops at step 3
    second = run_workers(sr_train_command(run_dir, photo_dir, 6), temp_dirs, tmp_path, "leg2")  # and resumes to 6
    assert "resumed from" in second[0] and "ckpt-3" in second[0]
    assert "resumed from" not in second[1]  # the other worker got the chief's state by broadcast
    assert "broadcast" in second[1]
    assert all("step 3/3" in text for text in first) and all("step 6/6" in text for text in second)

    # The chief alone wrote the run directory; worker 1 wrote its own temporary directory.
    worker_dir = distributed.worker_write_dir(str(run_dir), "worker", 1, base=str(temp_dirs[1]))
    assert os.path.isfile(os.path.join(worker_dir, "generator.keras"))
    assert not os.path.exists(distributed.worker_write_dir(str(run_dir), "worker", 0, base=str(temp_dirs[0])))
    events = [name for name in os.listdir(run_dir / "logs") if "tfevents" in name]
    assert len(events) == 2, events  # one TensorBoard file per leg, from the chief only
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(run_dir / "checkpoints"))
    assert [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] == ["3", "6"]

    # The same global batches in one process, from the same seed.
    config = tiny_config(photo_dir, steps=6, checkpoint_every=3, optimizer="sgd", learning_rate=LEARNING_RATE, jit_compile=False)
    single = loop.train(config, str(tmp_path / "single"), verbose=0)
    reference = np.concatenate([np.ravel(w) for w in single.generator.get_weights()])
    keras.utils.set_random_seed(config.seed)  # as loop.train builds it: the weights before the first update
    start = np.concatenate([np.ravel(w) for w in builders.build_training_model(config, None).generator.get_weights()])

    chief = generator_weights(run_dir / "generator.keras")
    worker = generator_weights(os.path.join(worker_dir, "generator.keras"))
    chief_ckpt, worker_ckpt = checkpoint_weights(str(run_dir / "checkpoints")), checkpoint_weights(os.path.join(worker_dir, "checkpoints"))
    single_ckpt = checkpoint_weights(str(tmp_path / "single" / "checkpoints"))
    assert chief_ckpt.keys() == worker_ckpt.keys() == single_ckpt.keys()
    flat = lambda values: np.concatenate([np.ravel(values[n]) for n in sorted(values)])  # noqa: E731  incl. BN statistics
    numbers = {
        "generator_worker_vs_worker": float(np.abs(chief - worker).max()),
        "generator_chief_vs_single": float(np.abs(chief - reference).max()),
        "checkpoint_worker_vs_worker": float(np.abs(flat(chief_ckpt) - flat(worker_ckpt)).max()),
        "checkpoint_chief_vs_single": float(np.abs(flat(chief_ckpt) - flat(single_ckpt)).max()),
        "largest_update": float(np.abs(reference - start).max()),
    }
    print("MULTI_WORKER_NUMBERS", json.dumps(numbers))
    (tmp_path / "numbers.json").write_text(json.dumps(numbers))
    assert numbers["generator_worker_vs_worker"] <= TOLERANCE and numbers["checkpoint_worker_vs_worker"] <= TOLERANCE
    assert numbers["generator_chief_vs_single"] <= TOLERANCE and numbers["checkpoint_chief_vs_single"] <= TOLERANCE
    assert numbers["largest_update"] >= 100 * TOLERANCE  # the comparison can fail: training moved the weights


def test_cluster_roles_from_tf_config():
    cluster = {"worker": ["a:1", "b:2", "c:3"]}
    role = lambda task, spec=cluster: distributed.cluster_role(json.dumps({"cluster": spec, "task": task}))  # noqa: E731
    assert role({"type": "worker", "index": 0}) == {"task_type": "worker", "task_id": 0, "num_workers": 3, "is_chief": True}
    assert role({"type": "worker", "index": 2})["is_chief"] is False
    with_chief = {"chief": ["a:1"], "worker": ["b:2"]}
    assert role({"type": "chief", "index": 0}, with_chief) == {"task_type": "chief", "task_id": 0, "num_workers": 2, "is_chief": True}
    assert role({"type": "worker", "index": 0}, with_chief)["is_chief"] is False
    assert distributed.cluster_role("") == {"task_type": "worker", "task_id": 0, "num_workers": 1, "is_chief": True}


def test_only_a_non_chief_worker_writes_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    run_dir = str(tmp_path / "run")
    assert distributed.write_dir("default", run_dir) == run_dir
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}))
    assert distributed.write_dir("multi_worker", run_dir) == run_dir
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}))
    temp = distributed.write_dir("multi_worker", run_dir)
    assert temp == distributed.worker_write_dir(run_dir, "worker", 1) and temp.startswith(str(tmp_path)) and os.listdir(temp) == []
    with open(os.path.join(temp, "stale"), "w"):
        pass
    assert os.listdir(distributed.write_dir("multi_worker", run_dir)) == []  # emptied at each start
    assert distributed.worker_write_dir("/a/run", "worker", 1) != distributed.worker_write_dir("/b/run", "worker", 1)


@pytest.mark.parametrize("batch_size,replicas", [(6, 4)])
def test_a_global_batch_that_does_not_split_is_refused(batch_size, replicas):
    class Strategy:
        num_replicas_in_sync = replicas

    with pytest.raises(ValueError, match="batch_size 6 must be a multiple of the 4 replicas"):
        distributed.distributed_dataset(Strategy(), None, batch_size)
