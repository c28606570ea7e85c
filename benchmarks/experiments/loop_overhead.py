"""Training-loop overhead in one process (issue 6, deliverable 4), SRResNet-MSE, batch 16, 96 px.

Alternates, in rounds, the benchmark's `train_on_batch` on fixed tensors with `fit()` on the real
tf.data pipeline: without callbacks, with Keras' progress bar, and with sr-train's
TrainingMonitor (NaN check, TensorBoard scalars every 10 steps; it also writes one checkpoint per
fit call, as sr-train does at each epoch's end).  One process, so the machine's between-process
spread does not enter the comparison.  Seconds per update, median over the rounds.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_string("data", "../shared/data/train_hr", "Training photos (a folder, or 'embedded').")
    flags.DEFINE_integer("steps", 10, "Updates per timed call.")
    flags.DEFINE_integer("rounds", 3, "Rounds of all variants.")
    flags.DEFINE_string("jit_compile", "auto", "TrainConfig.jit_compile.")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def main(argv):
    del argv
    import statistics
    import tempfile
    import time

    import tensorflow as tf

    from benchmarks import timing, training
    from sr_keras.data import pipeline, sources
    from sr_keras.training import loop

    never = 10**9  # the monitor never stops, validates or checkpoints on its own
    config = training.make_config("srresnet_mse_update", jit_compile=FLAGS.jit_compile,
                                  overrides=dict(steps=never, checkpoint_every=never, log_every=10))  # fmt: skip
    model = training.build_model(config)
    dataset = pipeline.training_dataset(sources.load_source(FLAGS.data), config.crop_size, config.scale, config.batch_size, config.seed)
    lr, hr = next(iter(dataset))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(**model.checkpoint_items()), tempfile.mkdtemp(), max_to_keep=1)
    writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    n = FLAGS.steps

    def train_on_batch():
        for _ in range(n):
            model.train_on_batch(lr, hr)

    def fit(verbose: int, monitor: bool = False):
        callbacks = [loop.TrainingMonitor(config, manager, writer)] if monitor else []
        model.fit(dataset, steps_per_epoch=n, epochs=1, verbose=verbose, callbacks=callbacks)

    variants = {
        "train_on_batch": train_on_batch,
        "fit": lambda: fit(0),
        "fit_progress_bar": lambda: fit(1),
        "fit_training_monitor": lambda: fit(0, monitor=True),
    }
    for run in variants.values():
        run()  # tracing (and XLA compilation) out of the timings
    samples = {name: [] for name in variants}
    for _ in range(FLAGS.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) / n)
    base = statistics.median(samples["train_on_batch"])
    result = {"xla": config.use_xla, "steps_per_call": n, "seconds_are": "per update", "variants": {}}
    for name, values in samples.items():
        median = statistics.median(values)
        result["variants"][name] = {"median_s": median, "min_s": min(values), "max_s": max(values), "samples_s": values,
                                    "vs_train_on_batch": median / base - 1.0}  # fmt: skip
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
