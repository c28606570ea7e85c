"""Multi-worker training (`--strategy=multi_worker`): roles, write directories, state broadcast, the loop.

`tf.distribute.MultiWorkerMirroredStrategy` reads the cluster from the `TF_CONFIG` variable; every
worker runs the same `sr-train` command.  What this module adds to `sr_keras.training.loop.train`:

* Roles.  The chief (task type "chief", or worker 0 when the cluster has no "chief") writes the run
  directory.  Every other worker writes its config, checkpoints, TensorBoard events and
  generator.keras into a temporary directory of its own (`write_dir`), as tf.distribute prescribes:
  all workers must take part in saving (it may run collectives), but only the chief's files count.
* Resume.  Only the chief reads the run directory's latest checkpoint; `broadcast_from_chief` then
  copies its model and optimizer state (step count included) to every worker, so the other
  machines need neither the run directory nor a shared filesystem.
* Data.  Each worker builds only its contiguous slice of every global batch
  (`pipeline.training_dataset(..., shard_index, num_shards)`), so for a seed and step the workers
  together see exactly the batch a single process sees; gradients are summed over the replicas
  (each replica's loss is its share of the global-batch mean: `sr_model.scale_for_replicas`) and
  batch norm is synchronized, so an update equals the single-process update up to float32
  summation order.
* The loop.  Keras 3's `fit()` cannot run this strategy: its train function reduces the step's
  scalar logs with `strategy.reduce("MEAN", value, axis=0)`, which fails with "Invalid reduction
  dimension 0 for input with 0 dimensions" (tensorflow/tensorflow#72388; TensorFlow's own
  multi-worker Keras tutorial fails the same way under Keras 3: keras-team/keras#20585), and
  `evaluate()` reduces the same way.  `fit_multi_worker` runs the model's own `train_step` under
  `strategy.run` in a `tf.function` and drives the same `TrainingMonitor` callback as `fit()`
  (logging, NaN stop, checkpoints); validation runs on the chief alone (`evaluate_locally`).
  The distributed step runs without XLA: the gradient all-reduce is a TensorFlow collective op
  inside `train_step`, which XLA:CPU cannot compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time

import tensorflow as tf
from absl import logging


def cluster_role(tf_config: str | None = None) -> dict:
    """{"task_type", "task_id", "num_workers", "is_chief"} of this process from TF_CONFIG (text or the variable).

    Without TF_CONFIG (or with a one-task cluster) the process is the chief of a cluster of one.
    """
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    config = json.loads(text) if text.strip() else {}
    cluster = config.get("cluster", {})
    task = config.get("task", {})
    task_type, task_id = task.get("type", "worker"), int(task.get("index", 0))
    num_workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not cluster.get("chief"))
    return {"task_type": task_type, "task_id": task_id, "num_workers": max(num_workers, 1), "is_chief": is_chief}


def worker_write_dir(run_dir: str, task_type: str, task_id: int, base: str | None = None) -> str:
    """The temporary directory a non-chief worker writes instead of `run_dir` (under $TMPDIR by default)."""
    digest = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:10]
    return os.path.join(base or tempfile.gettempdir(), f"sr_keras_{task_type}{task_id}_{digest}")


def write_dir(strategy_name: str, run_dir: str) -> str:
    """Where this process writes: `run_dir`, except for a non-chief multi-worker task (a fresh temporary dir).

    The temporary directory is emptied at each start (a non-chief never resumes from it: the
    chief's state is broadcast) and kept after the run for inspection; it holds one model's
    checkpoints at most `keep_checkpoints` deep.
    """
    if strategy_name != "multi_worker":
        return run_dir
    role = cluster_role()
    if role["is_chief"]:
        return run_dir
    path = worker_write_dir(run_dir, role["task_type"], role["task_id"])
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    logging.info("%s %d of %d: the chief writes %s; this worker writes to the temporary %s",
                 role["task_type"], role["task_id"], role["num_workers"], run_dir, path)
    return path


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """True for a MultiWorkerMirroredStrategy that spans more than one worker."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    return not is_multi_worker(strategy) or cluster_role()["is_chief"]


def broadcast_from_chief(strategy: tf.distribute.Strategy, variables) -> None:
    """Set every worker's copy of `variables` to the chief's (replica 0's) values, exactly.

    Each replica contributes its value (replica 0) or zeros (the others) to a SUM all-reduce:
    x + 0 + ... + 0 == x in floating point, so the copy is bit-exact.  All workers must call this.
    """
    if not is_multi_worker(strategy):
        return
    variables = [getattr(v, "value", v) for v in variables]  # Keras variables -> their tf.Variables
    by_dtype: dict = {}
    for variable in variables:  # one all-reduce per dtype (an all-reduce packs its tensors into one)
        by_dtype.setdefault(variable.dtype, []).append(variable)

    @tf.function
    def chief_values():
        def replica_fn():
            context = tf.distribute.get_replica_context()
            from_chief = tf.equal(context.replica_id_in_sync_group, 0)
            return [
                context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.where(from_chief, tf.convert_to_tensor(v), tf.zeros_like(v)) for v in group])
                for group in by_dtype.values()
            ]

        return strategy.run(replica_fn)

    for group, values in zip(by_dtype.values(), chief_values()):
        for variable, value in zip(group, values):
            variable.assign(strategy.experimental_local_results(value)[0])
    logging.info("broadcast %d variables from the chief", len(variables))


def model_state(model) -> list:
    """Every variable a checkpoint of `model` holds (networks incl. BN statistics, optimizers incl. step)."""
    state = []
    for item in model.checkpoint_items().values():
        state.extend(item.variables)
    return state


def evaluate_locally(model, dataset) -> dict:
    """Validation Y PSNR/SSIM of whole images on this worker alone (no collectives): the means over images."""
    from sr_keras import metrics

    psnr, ssim = [], []
    for lr, hr in dataset:
        sr = model.generate(lr, training=False)
        psnr.append(float(tf.reduce_mean(metrics.psnr_tf(hr, sr, crop=model.scale))))
        ssim.append(float(tf.reduce_mean(metrics.ssim_tf(hr, sr, crop=model.scale))))
    return {"psnr": sum(psnr) / len(psnr), "ssim": sum(ssim) / len(ssim)}


def distributed_dataset(strategy: tf.distribute.Strategy, make_dataset, global_batch_size: int):
    """`make_dataset(shard_index, num_shards)` per worker, split into per-replica batches.

    Worker i builds shard i of n (its contiguous B/n slice of each global batch); with several
    devices on a worker, consecutive per-replica batches of that slice go to its replicas in order,
    so replica r of the job always holds examples r*B/R .. (r+1)*B/R - 1 of the global batch.
    """
    if global_batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size {global_batch_size} must be a multiple of the {strategy.num_replicas_in_sync} replicas")

    def dataset_fn(context: tf.distribute.InputContext):
        dataset = make_dataset(context.input_pipeline_id, context.num_input_pipelines)
        per_replica = context.get_per_replica_batch_size(global_batch_size)
        if per_replica != global_batch_size // context.num_input_pipelines:
            dataset = dataset.rebatch(per_replica, drop_remainder=True)
        return dataset

    return strategy.distribute_datasets_from_function(dataset_fn)


def fit_multi_worker(model, strategy, make_dataset, monitor, start: int, steps: int, per_epoch: int, global_batch_size: int) -> None:
    """Train from step `start` to `steps`, calling `monitor` as `fit()` would (Keras fit fails here: module doc).

    Epochs are `per_epoch` updates counted from `start`, as in loop.train's `fit()` call, so
    checkpoints fall at the same steps on every path.  Every worker runs this with the same
    arguments; all stop at the same step because the logs they test for NaN are all-reduced.
    """
    iterator = iter(distributed_dataset(strategy, make_dataset, global_batch_size))
    logging.info("multi-worker loop: %d replicas, %d examples each per update; no XLA, one update per call",
                 strategy.num_replicas_in_sync, global_batch_size // strategy.num_replicas_in_sync)

    @tf.function
    def update(iterator):
        logs = strategy.run(model.train_step, args=(next(iterator),))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in logs.items()}

    monitor.set_model(model)
    monitor.on_train_begin()
    model.stop_training = False
    epoch, step, started = start // per_epoch, start, time.perf_counter()
    while step < steps and not model.stop_training:
        for batch in range(per_epoch):
            logs = {name: float(value) for name, value in update(iterator).items()}
            step += 1
            monitor.on_train_batch_end(batch, logs)
            if step % monitor.config.log_every == 0 or step >= steps:
                values = ", ".join(f"{name} {value:.6g}" for name, value in logs.items())
                logging.info("step %d/%d: %s (%.2f s/update since start)", step, steps, values, (time.perf_counter() - started) / (step - start))
            if model.stop_training or step >= steps:
                break
        monitor.on_epoch_end(epoch)
        epoch += 1
