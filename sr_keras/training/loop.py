"""Running a training job: `train(config, run_dir)` — resumable, observable, stopped on NaN.

A run directory holds
  config.json            the resolved TrainConfig of the run;
  checkpoints/           tf.train checkpoints of G, D, both optimizers (their `iterations` is the
                         step); written every `checkpoint_every` steps, `keep_checkpoints` kept.
                         TF writes each checkpoint to temporary files and then updates the
                         `checkpoint` index atomically, so a hard kill leaves the last one intact;
  logs/                  TensorBoard: every loss term, learning rates, validation PSNR/SSIM,
                         LR/SR/HR image triplets;
  generator.keras        the trained generator, written when training ends.
The data stream is a pure function of (seed, step) (see sr_keras.data.pipeline), so resuming
from a checkpoint at step s continues with exactly the batches an uninterrupted run would see.
"""

from __future__ import annotations

import json
import math
import os
import time

import keras
import tensorflow as tf
from absl import logging

from sr_keras.data import pipeline, sources
from sr_keras.training import builders, hardware
from sr_keras.training.config import TrainConfig


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf; the message names the step and the last good checkpoint."""


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

    def __init__(self, config: TrainConfig, manager: tf.train.CheckpointManager, writer, validation=None, preview=None):
        super().__init__()
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
            self.diverged_at = (step, bad)
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
        step = _step(self.model)
        latest = self.manager.latest_checkpoint
        if latest is None or not latest.endswith(f"-{step}"):
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
        results = self.model.evaluate(self.validation, verbose=0, return_dict=True)
        with self.writer.as_default(step=step):
            tf.summary.scalar("validation/psnr_y", results["psnr"])
            tf.summary.scalar("validation/ssim_y", results["ssim"])
        self.writer.flush()
        logging.info("step %d: validation PSNR %.2f dB, SSIM %.4f", step, results["psnr"], results["ssim"])

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

    callbacks: more Keras callbacks for `fit` (e.g. `sr_keras.programs.progress.keras_callback`).

    Raises TrainingDiverged when a loss becomes NaN/Inf (the last good checkpoint stays intact).
    `perceptual_weights` overrides config.perceptual_weights (None = random VGG, for tests only).
    """
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as handle:
        handle.write(config.to_json())

    logging.info(
        "train step: %s (jit_compile=%s, mixed_precision=%s)",
        "XLA" if config.use_xla else "TensorFlow's oneDNN kernels, no XLA", config.jit_compile, config.mixed_precision or "float32",
    )
    if not config.mixed_precision and not config.use_xla and hardware.has_bfloat16_matmul():
        logging.info("this CPU computes bfloat16 natively (AMX/AVX512-BF16): --mixed_precision=bfloat16 trained 1.7-3.3x faster than float32 on such a CPU (benchmarks/RESULTS.md)")
    strategy = builders.make_strategy(config.strategy, config.tpu)
    keras.utils.set_random_seed(config.seed)  # initial weights are a function of the seed too
    with strategy.scope():
        model = builders.build_training_model(config, perceptual_weights)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"), max_to_keep=config.keep_checkpoints)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("resumed from %s", manager.latest_checkpoint)
    start = _step(model)
    if start >= config.steps:
        logging.info("%s: already trained for %d >= %d steps", run_dir, start, config.steps)
        return model

    images = sources.load_source(config.data, config.data_dir or None)
    dataset = pipeline.training_dataset(images, config.crop_size, config.scale, config.batch_size, config.seed, start_batch=start, augment=config.augment)
    validation_pairs = pipeline.evaluation_pairs(sources.load_source(config.val_data), config.scale) if config.val_data else []
    validation = pipeline.validation_dataset(validation_pairs) if validation_pairs else None
    preview = _preview_pair(validation_pairs, next(iter(dataset.take(1))) if not validation_pairs else None, config.scale)
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs"))
    monitor = TrainingMonitor(config, manager, writer, validation, preview)

    per_epoch = config.checkpoint_every
    model.fit(
        dataset,
        shuffle=False,  # the stream is already shuffled, statelessly (see sr_keras.data.pipeline)
        steps_per_epoch=per_epoch,
        initial_epoch=start // per_epoch,
        epochs=start // per_epoch + math.ceil((config.steps - start) / per_epoch),
        callbacks=[monitor, *callbacks],
        verbose=verbose,
    )
    if monitor.diverged_at is not None:
        step, names = monitor.diverged_at
        raise TrainingDiverged(
            f"{', '.join(names)} became NaN/Inf at step {step}; stopped without saving. The last good "
            f"checkpoint is {manager.latest_checkpoint or '(none yet)'}: lower --learning_rate or check the data, "
            f"then run sr-train on {run_dir} again to resume from it."
        )
    monitor.save()
    model.generator.save(os.path.join(run_dir, "generator.keras"))
    return model


def load_run_config(run_dir: str) -> dict:
    """The config.json of an existing run directory, or {} for a new one."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        values = json.load(handle)
    values["lr_milestones"] = tuple(values.get("lr_milestones", ()))
    return values

