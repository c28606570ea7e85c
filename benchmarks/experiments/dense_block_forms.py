"""One RRDB residual dense block, two ways: as RRDBNet builds it, and "input-stationary" (not adopted).

  concatenating   conv k (k = 0..4) reads concat(x0, ..., xk): ESRGAN's dense connectivity as written
  stationary      no concatenation: each feature xi, once made, goes through ONE convolution with its
                  input-channel slices of every later kernel of the block (x0: 64 -> 32+32+32+32+64,
                  x1: 32 -> 160, ... x4: 32 -> 64), and the partial outputs are summed
  stationary_winograd   the same with `sr_keras.ops.winograd.conv2d_3x3` for its five convolutions

The same function of the same variables; timed as forward + gradients of every input and variable,
XLA-compiled, medians of alternating calls (batch 16, 32x32 maps, 64 features, growth 32: the RRDBNet
L1 update's shapes). Differences: largest |difference| from the concatenating form relative to its
largest magnitude, per output and gradient.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import timing  # noqa: E402

FLAGS = flags.FLAGS
FEATURES, GROWTH, CONVS = 64, 32, 5
RESIDUAL_SCALE = 0.2  # ESRGAN's beta (sr_keras.archs.rrdbnet.RESIDUAL_SCALE)


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_integer("batch", 16, "Batch size.")
    flags.DEFINE_integer("size", 32, "Map side in pixels.")
    flags.DEFINE_integer("repeats", 7, "Timed rounds (after one warm-up round).")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def block_variables(rng):
    """Kernels [3, 3, 64 + 32k, 32 (or 64 for the last)] and zero biases, as tf.Variables."""
    import tensorflow as tf

    inputs = [FEATURES + k * GROWTH for k in range(CONVS)]
    outputs = [GROWTH] * (CONVS - 1) + [FEATURES]
    kernels = [tf.Variable(rng.normal(0, 0.02, (3, 3, i, o)).astype("float32")) for i, o in zip(inputs, outputs)]
    biases = [tf.Variable(tf.zeros([o])) for o in outputs]
    return kernels, biases


def concatenating(x, kernels, biases, conv):
    import tensorflow as tf

    features = [x]
    for k in range(CONVS - 1):
        features.append(tf.nn.leaky_relu(conv(tf.concat(features, -1), kernels[k]) + biases[k], 0.2))
    return x + RESIDUAL_SCALE * (conv(tf.concat(features, -1), kernels[-1]) + biases[-1])


def stationary(x, kernels, biases, conv):
    import tensorflow as tf

    widths = [FEATURES] + [GROWTH] * (CONVS - 1)
    starts = [sum(widths[:i]) for i in range(CONVS + 1)]
    outputs = [int(k.shape[-1]) for k in kernels]
    sums = [None] * CONVS
    feature = x
    for i in range(CONVS):
        kernel = tf.concat([kernels[j][:, :, starts[i] : starts[i + 1], :] for j in range(i, CONVS)], -1)
        for j, part in zip(range(i, CONVS), tf.split(conv(feature, kernel), outputs[i:], -1)):
            sums[j] = part if sums[j] is None else sums[j] + part
        if i < CONVS - 1:
            feature = tf.nn.leaky_relu(sums[i] + biases[i], 0.2)
    return x + RESIDUAL_SCALE * (sums[-1] + biases[-1])


def main(argv):
    del argv
    import statistics
    import time

    import numpy as np
    import tensorflow as tf

    from sr_keras.ops import winograd

    rng = np.random.default_rng(0)
    kernels, biases = block_variables(rng)
    x = tf.constant(rng.normal(0, 1, (FLAGS.batch, FLAGS.size, FLAGS.size, FEATURES)).astype("float32"))
    direct = lambda t, k: tf.nn.conv2d(t, k, 1, "SAME")  # noqa: E731
    forms = {"concatenating": (concatenating, direct), "stationary": (stationary, direct), "stationary_winograd": (stationary, winograd.conv2d_3x3)}

    def training_pass(form, conv):
        @tf.function(jit_compile=True)
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = form(x, kernels, biases, conv)
                loss = tf.reduce_sum(y * y)
            return [y, *tape.gradient(loss, [x, *kernels, *biases])]

        return run

    programs = {name: training_pass(*form) for name, form in forms.items()}
    results = {name: [t.numpy() for t in program(x)] for name, program in programs.items()}  # warm-up
    samples = {name: [] for name in programs}
    for _ in range(FLAGS.repeats):
        for name, program in programs.items():
            start = time.perf_counter()
            [t.numpy() for t in program(x)]
            samples[name].append(time.perf_counter() - start)
    labels = ["output", "input_gradient", *[f"kernel{k}_gradient" for k in range(CONVS)], *[f"bias{k}_gradient" for k in range(CONVS)]]
    reference = results["concatenating"]
    result = {"machine": timing.machine(), "batch": FLAGS.batch, "size": FLAGS.size, "features": FEATURES, "growth": GROWTH,
              "ms_are": "median of alternating XLA-compiled calls; forward + gradients of the input and every variable", "forms": {}}  # fmt: skip
    for name in programs:
        entry = {"median_ms": statistics.median(samples[name]) * 1000, "samples_ms": [s * 1000 for s in samples[name]]}
        if name != "concatenating":
            entry["relative_difference"] = {
                label: float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)) for label, a, b in zip(labels, reference, results[name])
            }
            entry["speedup"] = statistics.median(samples["concatenating"]) / statistics.median(samples[name])
        result["forms"][name] = entry
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
