"""Two ways of computing one convolution, timed and compared: the shared core of the shape experiments
(winograd_shapes.py, stride2_shapes.py).

For input x and kernel, each way's XLA-compiled forward + input gradient + kernel gradient ("train")
and forward alone, alternating in one process (the VM's drifts hit both alike); medians in ms, the
speedup baseline / candidate, and the largest differences of the candidate's output and gradients
from the baseline's, relative to the baseline's largest magnitude.
"""

from __future__ import annotations

from benchmarks import timing


def compare(x, kernel, ways: dict, repeats: int, forward_flop: int) -> dict:
    """ways: {name: conv(x, kernel)}, the baseline first and the candidate second; forward_flop: the
    baseline's forward FLOPs (2 per multiply-add), for its training GFLOP/s (3x forward)."""
    import numpy as np
    import tensorflow as tf

    base, candidate = ways  # the names, in order

    def training_pass(conv):
        @tf.function(jit_compile=True)
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = conv(x, kernel)
                loss = tf.reduce_sum(tf.square(y))
            dx, dk = tape.gradient(loss, [x, kernel])
            return y, dx, dk

        return run

    def forward(conv):
        return tf.function(lambda x: conv(x, kernel), jit_compile=True)

    programs = {(name, kind): make(conv) for name, conv in ways.items() for kind, make in (("train", training_pass), ("forward", forward))}
    outputs = {key: program(x) for key, program in programs.items()}  # compiles
    samples = {key: [] for key in programs}
    for _ in range(repeats):
        for key, program in programs.items():
            samples[key].append(timing.time_repeated(lambda: tf.nest.map_structure(lambda t: t.numpy(), program(x)), 1, 0)["median_s"])
    median = {key: float(np.median(values)) * 1e3 for key, values in samples.items()}

    def relative(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return float(np.abs(a - b).max() / np.abs(a).max())

    ours, theirs = outputs[(base, "train")], outputs[(candidate, "train")]
    return {
        "train_ms": {base: median[(base, "train")], candidate: median[(candidate, "train")]},
        "forward_ms": {base: median[(base, "forward")], candidate: median[(candidate, "forward")]},
        "train_speedup": median[(base, "train")] / median[(candidate, "train")],
        "forward_speedup": median[(base, "forward")] / median[(candidate, "forward")],
        f"{base}_train_gflops": 3 * forward_flop / median[(base, "train")] / 1e6,
        "relative_difference": {"output": relative(ours[0], theirs[0]), "input_gradient": relative(ours[1], theirs[1]),
                                "kernel_gradient": relative(ours[2], theirs[2])},  # fmt: skip
    }


def result_header(batch: int, repeats: int) -> dict:
    """The start of an experiment's JSON: this machine, the batch, the repeats; `shapes` to fill."""
    return {
        "machine": timing.machine(),
        "batch": batch,
        "repeats": repeats,
        "ms_are": "median of alternating XLA-compiled calls; train = forward + input gradient + kernel gradient",
        "shapes": [],
    }
