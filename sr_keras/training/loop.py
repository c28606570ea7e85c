"""Running a training job: `train(config, run_dir)` — resumable, observable, stopped on NaN.

A run directory holds
  config.json            the TrainConfig of the run's first start (never overwritten);
  configs/               the TrainConfig of every start, config-<start step>-<UTC time>.json (a
                         resume with other flags adds one; the newest is what a resume reads);
  checkpoints/           tf.train checkpoints of G, D, both optimizers (their `iterations` is the
                         step); written every `checkpoint_every` steps, `keep_checkpoints` kept.
                         TF writes each checkpoint to temporary files and then updates the
                         `checkpoint` index atomically, so a hard kill leaves the last one intact;
                         a missing or corrupt latest one is skipped for the newest intact one;
  logs/                  TensorBoard: every loss term, learning rates, validation PSNR/SSIM,
                         LR/SR/HR image triplets;
  generator.keras        the trained generator, written (atomically) when training ends, and
                         again by a rerun if it is missing or unreadable;
  .lock                  held (fcntl.flock) by the one sr-train writing the folder; the kernel
                         releases it when that process ends, even on kill -9.
(The lock, the config records and generator.keras: sr_keras.training.run_folder.)
Nothing poisoned is saved: before each checkpoint the weights are checked (`weights_problem`).
The data stream is a pure function of (seed, step) (see sr_keras.data.pipeline), so resuming
from a checkpoint at step s continues with exactly the batches an uninterrupted run would see.
"""

from __future__ import annotations

import glob
import math
import os
import re
import time

import keras
import tensorflow as tf
from absl import logging

from sr_keras.data import pipeline, sources
from sr_keras.training import builders, distributed, hardware
from sr_keras.training.run_folder import generator_is_readable, lock_run_dir, save_generator, write_config_record
from sr_keras.training.config import TrainConfig


class TrainingDiverged(RuntimeError):
    """A loss or the weights became NaN/Inf or exploded; the message names the step and the last
    good checkpoint."""


def _step(model) -> int:
    return int(model.optimizer.iterations.numpy())


def _learning_rate(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class TrainingMonitor(keras.callbacks.Callback):
    """Stops at the last step or on NaN/Inf, writes TensorBoard summaries, saves checkpoints.

    `train/seconds_per_update` is the wall time per update since the previous write, not counting
    the monitor's own host work (validation, image summaries, checkpoints): it is comparable with
    `python -m benchmarks.run` (the first point also holds the XLA compilation).
    """

    def __init__(self, config: TrainConfig, manager: tf.train.CheckpointManager, writer, validation=None, preview=None, weight_bounds=None):
        super().__init__()
        self.weight_bounds = weight_bounds or []  # [(variable, max |w|)] from `weight_bounds`
        self.config = config
        self.manager = manager
        self.writer = writer
        self.validation = validation  # tf.data.Dataset of whole (lr, hr) images, or None
        self.preview = preview  # (lr [1,h,w,3], hr [1,H,W,3]) shown in TensorBoard
        self.diverged_at = None
        self.validate_every = config.validate_every or config.checkpoint_every
        self.image_every = config.image_every or config.checkpoint_every
        self.clock = (0, time.perf_counter())  # (step, seconds) where the current timing interval began

    def on_train_begin(self, logs=None):
        self.clock = (_step(self.model), time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        step = _step(self.model)
        logs = logs or {}
        bad = [name for name, value in logs.items() if name.endswith("loss") and not math.isfinite(float(value))]
        if bad:
            self.diverged_at = (step, [f"{', '.join(bad)} became NaN/Inf"])
            self.model.stop_training = True
            return
        if step % self.config.log_every == 0 or step >= self.config.steps:
            self._scalars(step, logs, seconds_per_update=(now - self.clock[1]) / max(step - self.clock[0], 1))
            self.clock = (step, now)
        if step % self.validate_every == 0 or step >= self.config.steps:
            self._validate(step)
        if step % self.image_every == 0 or step >= self.config.steps:
            self._images(step)
        if step >= self.config.steps:
            self.model.stop_training = True
        if self.clock[0] == step:  # this step's host work is not training time
            self.clock = (step, time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged_at is None:
            started = time.perf_counter()
            self.save()
            self.clock = (self.clock[0], self.clock[1] + time.perf_counter() - started)  # saving is not training

    def save(self) -> None:
        """Checkpoint the current step, unless the weights are poisoned (then stop, unsaved)."""
        if self.diverged_at is not None:
            return
        step = _step(self.model)
        latest = self.manager.latest_checkpoint
        if latest is None or not latest.endswith(f"-{step}"):
            problem = weights_problem(self.model, self.weight_bounds)
            if problem:
                self.diverged_at = (step, [problem])
                self.model.stop_training = True
                return
            self.manager.save(checkpoint_number=step)
            logging.info("step %d: saved %s", step, self.manager.latest_checkpoint)

    def _scalars(self, step, logs, seconds_per_update):
        """Write the loss means since the last write (the trackers restart after each write)."""
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                tf.summary.scalar(f"train/{name}", float(value))
            tf.summary.scalar("train/seconds_per_update", seconds_per_update)
            tf.summary.scalar("learning_rate/generator", _learning_rate(self.model.optimizer))
            if getattr(self.model, "d_optimizer", None) is not None:
                tf.summary.scalar("learning_rate/discriminator", _learning_rate(self.model.d_optimizer))
        self.writer.flush()
        for metric in self.model.metrics:  # so each point is the mean over its log_every steps
            metric.reset_state()

    def _validate(self, step):
        if self.validation is None:
            return
        results = self._evaluate()
        with self.writer.as_default(step=step):
            tf.summary.scalar("validation/psnr_y", results["psnr"])
            tf.summary.scalar("validation/ssim_y", results["ssim"])
            if "lpips" in results:
                tf.summary.scalar(f"validation/lpips_{self.config.val_lpips}", results["lpips"])
        self.writer.flush()
        logging.info("step %d: validation PSNR %.2f dB, SSIM %.4f", step, results["psnr"], results["ssim"])

    def _evaluate(self) -> dict:
        return self.model.evaluate(self.validation, verbose=0, return_dict=True)

    def _images(self, step):
        if self.preview is None:
            return
        lr, hr = self.preview
        sr = tf.clip_by_value(self.model.generate(lr, training=False), 0.0, 1.0)
        lr_big = tf.image.resize(lr, tf.shape(hr)[1:3], method="nearest")
        triplet = tf.concat([lr_big, sr, hr], axis=2)  # LR (nearest) | SR | HR side by side
        with self.writer.as_default(step=step):
            tf.summary.image("lr_sr_hr", triplet)
        self.writer.flush()


class MultiWorkerMonitor(TrainingMonitor):
    """The monitor of multi-worker runs: the chief validates alone, without Keras' evaluate(), whose
    scalar reduction fails under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388)."""

    def _evaluate(self) -> dict:
        return distributed.evaluate_locally(self.model, self.validation)


def _preview_pair(validation_pairs, train_batch, scale, size=48):
    """A small LR/HR pair for image summaries: a centre crop of the first validation image."""
    if validation_pairs:
        pair = validation_pairs[0]
        h, w = pair.lr.shape[:2]
        s = min(size, h, w)
        top, left = (h - s) // 2, (w - s) // 2
        lr = pair.lr[top : top + s, left : left + s]
        hr = pair.hr[top * scale : (top + s) * scale, left * scale : (left + s) * scale]
        return tf.constant(lr[None] / 255.0, tf.float32), tf.constant(hr[None] / 255.0, tf.float32)
    lr, hr = train_batch
    return lr[:1], hr[:1]


def train(config: TrainConfig, run_dir: str, perceptual_weights="config", verbose: int = 1, callbacks=()) -> keras.Model:
    """Train (or resume) the run in `run_dir`; returns the training model.

    Raises TrainingDiverged when a loss becomes NaN/Inf or the weights are poisoned (the last good
    checkpoint stays intact), RunDirInUse when another process trains in `run_dir`.
    callbacks: more Keras callbacks for `fit` (e.g. `sr_keras.programs.progress.keras_callback`;
    single-process runs only).
    `perceptual_weights` overrides config.perceptual_weights (None = random VGG, for tests only).
    """
    run_dir = distributed.write_dir(config.strategy, run_dir)  # a non-chief worker writes a temporary dir
    os.makedirs(run_dir, exist_ok=True)
    lock = lock_run_dir(run_dir)
    try:
        return _train_locked(config, run_dir, perceptual_weights, verbose, callbacks)
    finally:
        lock.close()  # releases the flock


def _train_locked(config: TrainConfig, run_dir: str, perceptual_weights, verbose: int, callbacks=()) -> keras.Model:
    # Before anything touches TensorFlow's runtime: MultiWorkerMirroredStrategy configures collective ops at start-up.
    strategy = builders.make_strategy(config.strategy, config.tpu)
    logging.info(
        "train step: %s (jit_compile=%s, mixed_precision=%s)",
        "XLA" if config.use_xla else "TensorFlow's oneDNN kernels, no XLA", config.jit_compile, config.mixed_precision or "float32",
    )
    if not config.mixed_precision and not config.use_xla and hardware.has_bfloat16_matmul():
        logging.info(
            "this CPU computes bfloat16 natively (AMX/AVX512-BF16): --mixed_precision=bfloat16 trained 1.7-3.3x faster than "
            "float32 on a Xeon with AMX and 1.3x on an AMD Zen 5 with AVX512-BF16 (SRResNet; benchmarks/RESULTS.md)"
        )
    keras.utils.set_random_seed(config.seed)  # initial weights are a function of the seed too
    with strategy.scope():
        model = builders.build_training_model(config, perceptual_weights)
    bounds = weight_bounds(model)  # from the initial weights, before any restore
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"), max_to_keep=config.keep_checkpoints)
    restored = restore_newest_intact(checkpoint, manager.directory)
    if restored:
        logging.info("resumed from %s", restored)
    distributed.broadcast_from_chief(strategy, distributed.model_state(model))  # multi-worker only
    start = _step(model)
    generator_path = os.path.join(run_dir, "generator.keras")
    if start >= config.steps:
        logging.info("%s: already trained for %d >= %d steps", run_dir, start, config.steps)
        if not generator_is_readable(generator_path):
            logging.warning("%s is missing or unreadable: writing it again from %s", generator_path, restored)
            save_generator(model.generator, generator_path)
        return model
    write_config_record(run_dir, config, start)

    images = sources.load_source(config.data, config.data_dir or None)
    dataset = pipeline.training_dataset(images, config.crop_size, config.scale, config.batch_size, config.seed, start_batch=start, augment=config.augment)
    validation_pairs = pipeline.evaluation_pairs(sources.load_source(config.val_data), config.scale) if config.val_data else []
    validation = pipeline.validation_dataset(validation_pairs) if validation_pairs else None
    preview = _preview_pair(validation_pairs, next(iter(dataset.take(1))) if not validation_pairs else None, config.scale)
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs"))
    per_epoch = config.checkpoint_every
    if distributed.is_multi_worker(strategy):
        validation = validation if distributed.is_chief(strategy) else None
        monitor = MultiWorkerMonitor(config, manager, writer, validation, preview, weight_bounds=bounds)
        make_dataset = lambda index, count: pipeline.training_dataset(  # noqa: E731
            images, config.crop_size, config.scale, config.batch_size, config.seed, start_batch=start, augment=config.augment,
            shard_index=index, num_shards=count,
        )
        distributed.fit_multi_worker(model, strategy, make_dataset, monitor, start, config.steps, per_epoch, config.batch_size)
    else:
        monitor = TrainingMonitor(config, manager, writer, validation, preview, weight_bounds=bounds)
        _fit(model, dataset, monitor, start, config.steps, per_epoch, verbose, callbacks)
    monitor.save()
    if monitor.diverged_at is not None:
        step, problems = monitor.diverged_at
        raise TrainingDiverged(
            f"{'; '.join(problems)} at step {step}; stopped without saving. The last good checkpoint is "
            f"{manager.latest_checkpoint or '(none yet)'}: lower --learning_rate (it was {config.learning_rate:g}) or check "
            f"the data, then run sr-train on {run_dir} again to resume from it."
        )
    save_generator(model.generator, generator_path)
    return model


def _fit(model, dataset, monitor, start: int, steps: int, per_epoch: int, verbose: int, callbacks=()) -> None:
    """Keras fit() from step `start` to `steps` in epochs of `per_epoch` updates (one checkpoint each)."""
    model.fit(
        dataset,
        shuffle=False,  # the stream is already shuffled, statelessly (see sr_keras.data.pipeline)
        steps_per_epoch=per_epoch,
        initial_epoch=start // per_epoch,
        epochs=start // per_epoch + math.ceil((steps - start) / per_epoch),
        callbacks=[monitor, *callbacks],
        verbose=verbose,
    )


# --------------------------------------------------------------------------------------------
# The weight guard: nothing non-finite or exploded is ever saved as "last good"
# --------------------------------------------------------------------------------------------

# A trainable variable has exploded when some |w| > EXPLOSION_FACTOR x max(its initial max |w|, 1).
# Adam moves a weight by at most about lr x (1 - beta1) / sqrt(1 - beta2) ~ 3.2 lr per update, so at
# the papers' rates (<= 2e-4, <= 1e6 updates) no weight can drift by more than ~640: a growth past
# 1000 means the run has diverged (lr 1e6 gets there in one update), even when the loss is finite.
EXPLOSION_FACTOR = 1000.0


def weight_bounds(model) -> list[tuple[tf.Variable, float]]:
    """[(trainable variable, largest allowed |w|)] from the current (initial) weights."""
    bounds = []
    for variable in model.trainable_variables:
        initial = float(tf.reduce_max(tf.abs(tf.cast(variable, tf.float32))).numpy()) if tf.size(variable) else 0.0
        bounds.append((variable, EXPLOSION_FACTOR * max(initial, 1.0)))
    return bounds


def weights_problem(model, bounds: list[tuple[tf.Variable, float]]) -> str | None:
    """None if every variable is finite and no trainable one exceeds its bound, else what is wrong.

    Checks all variables of the model (weights, BN statistics) for NaN/Inf, and the trainable
    ones against `bounds` (see EXPLOSION_FACTOR).
    """
    non_finite = [v.path for v in model.variables if "float" in str(v.dtype) and not bool(tf.reduce_all(tf.math.is_finite(v)).numpy())]
    if non_finite:
        shown = ", ".join(non_finite[:3]) + (f" and {len(non_finite) - 3} more" if len(non_finite) > 3 else "")
        return f"{len(non_finite)} variable(s) became NaN/Inf ({shown})"
    exploded = []
    for variable, bound in bounds:
        largest = float(tf.reduce_max(tf.abs(tf.cast(variable, tf.float32))).numpy()) if tf.size(variable) else 0.0
        if largest > bound:
            exploded.append((variable.path, largest, bound))
    if exploded:
        path, largest, bound = max(exploded, key=lambda item: item[1] / item[2])
        return (
            f"{len(exploded)} weight tensor(s) exploded (e.g. {path}: max |w| {largest:.3g} > {bound:.3g}, "
            f"{EXPLOSION_FACTOR:g} x its initial size)"
        )
    return None


# --------------------------------------------------------------------------------------------
# Checkpoints: resume from the newest intact one
# --------------------------------------------------------------------------------------------


def _checkpoint_step(prefix: str) -> int:
    match = re.search(r"-(\d+)$", prefix)
    return int(match.group(1)) if match else -1


def checkpoint_candidates(directory: str) -> list[str]:
    """Checkpoint prefixes in `directory`, newest first: those of its `checkpoint` index and any ckpt-N on disk."""
    state = tf.train.get_checkpoint_state(directory)
    found = set(state.all_model_checkpoint_paths) if state else set()
    found.update(path[: -len(".index")] for path in glob.glob(os.path.join(directory, "ckpt-*.index")))
    return sorted(found, key=_checkpoint_step, reverse=True)


def restore_newest_intact(
    checkpoint: tf.train.Checkpoint, directory: str, advice: str = "move the folder away to start the run over"
) -> str | None:
    """Restore the newest checkpoint in `directory` that reads completely; returns its prefix (None: none there).

    Every object of `checkpoint` must be restored from the file.  A missing, unreadable or ill-fitting
    newer checkpoint (one killed mid-write, or damaged) is skipped with a one-line warning.  If
    checkpoints exist but none is intact, raises RuntimeError naming each and why, then `advice`
    (the run is not silently restarted, a generator is not silently left random).
    """
    candidates = checkpoint_candidates(directory)
    failures = []
    for prefix in candidates:
        try:
            # expect_partial: values of the file that `checkpoint` does not hold (a discriminator, the
            # optimizer's slots when only the generator is loaded) are not warned about.
            checkpoint.restore(prefix).expect_partial().assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError, IndexError, KeyError, OSError) as error:
            reason = (getattr(error, "message", None) or str(error)).strip().splitlines()
            if isinstance(error, tf.errors.NotFoundError):
                kind = "missing"
            elif isinstance(error, AssertionError) or "incompatible" in str(error):
                kind = "does not fit"  # objects the file lacks, or a tensor of another shape
            else:
                kind = "unreadable"
            failures.append(f"{prefix} ({kind}: {reason[0][:160] if reason else type(error).__name__})")
            continue
        for failure in failures:
            logging.warning("checkpoint %s; using %s instead", failure, prefix)
        return prefix
    if candidates:
        raise RuntimeError(f"{directory}: no intact checkpoint ({'; '.join(failures)}){'; ' + advice if advice else ''}")
    return None
