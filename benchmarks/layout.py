"""Data-layout experiment: the networks' 3x3 convolutions in NHWC vs NCHW under XLA:CPU.

  python -m benchmarks.layout [--output=FILE]

Each case is `depth` 3x3 convolutions (+ ReLU) of the same input at the shapes of one network's body,
timed for one training pass (forward + input gradient + weight gradient = 3x the forward FLOPs)
with `tf.function(jit_compile=True)`, in both layouts on the same numbers; NHWC also without XLA
(TensorFlow's CPU convolutions have no NCHW kernel, so NCHW runs only under XLA).  Prints one JSON
object with median/min/max seconds and the share of the numpy matmul peak, like benchmarks.run.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import timing  # noqa: E402

# name: (batch, height, width, input channels, output channels, depth, what)
CASES = {
    "srresnet_body": (16, 24, 24, 64, 64, 8, "SRResNet residual-block conv, 64->64 on 24x24 LR (batch 16, 96 px HR)"),
    "rrdb_dense_conv": (16, 32, 32, 128, 32, 8, "RRDB dense-block conv3, 128->32 on 32x32 LR (batch 16, 128 px HR)"),
    "vgg_block1": (16, 96, 96, 64, 64, 2, "VGG19 block1_conv2, 64->64 on 96x96 (batch 16)"),
}

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_integer("repeats", 5, "Timed repeats per case and layout.")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def train_pass(data_format: str, jit_compile: bool):
    """tf.function: loss = mean of the sum of relu(conv(x, k)) over the kernels; its gradients w.r.t. x and every k."""
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def step(x, kernels):
        with tf.GradientTape() as tape:
            tape.watch([x, *kernels])
            y = tf.add_n([tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME", data_format=data_format)) for kernel in kernels])
            loss = tf.reduce_mean(y)
        return tape.gradient(loss, [x, *kernels])

    return step


def run_case(name: str, repeats: int) -> dict:
    import numpy as np
    import tensorflow as tf

    n, h, w, cin, cout, depth, what = CASES[name]
    rng = np.random.default_rng(0)
    x_nhwc = rng.standard_normal((n, h, w, cin), dtype=np.float32)
    kernels = [tf.constant(rng.standard_normal((3, 3, cin, cout), dtype=np.float32) * 0.05) for _ in range(depth)]
    forward = depth * 2 * 9 * cin * cout * h * w * n
    result = {"what": what, "shape_nhwc": [n, h, w, cin], "output_channels": cout, "depth": depth,
              "flops": {"total": 3 * forward, "per": "training pass (forward + input and weight gradients)"}}  # fmt: skip
    outputs = {}
    for label, data_format, jit, x in (
        ("nhwc_xla", "NHWC", True, tf.constant(x_nhwc)),
        ("nchw_xla", "NCHW", True, tf.constant(x_nhwc.transpose(0, 3, 1, 2))),
        ("nhwc_no_xla", "NHWC", False, tf.constant(x_nhwc)),
    ):
        step = train_pass(data_format, jit)
        result[label] = timing.time_repeated(lambda: [g.numpy() for g in step(x, kernels)], repeats, warmup=2)
        grads = step(x, kernels)
        outputs[label] = grads[0].numpy().transpose(0, 2, 3, 1) if data_format == "NCHW" else grads[0].numpy()
    # Same numbers in both layouts: the input gradients agree.
    scale = float(np.abs(outputs["nhwc_xla"]).max())
    result["max_relative_difference_nchw_vs_nhwc"] = float(np.abs(outputs["nchw_xla"] - outputs["nhwc_xla"]).max() / scale)
    result["nchw_over_nhwc_xla"] = result["nchw_xla"]["median_s"] / result["nhwc_xla"]["median_s"]
    return result


def main(argv):
    del argv
    import tensorflow as tf

    result = {"tensorflow": tf.__version__, "matmul_peak": timing.matmul_peak_gflops(4096, repeats=5), "cases": {}}
    for name in CASES:
        result["cases"][name] = run_case(name, FLAGS.repeats)
    timing.add_achieved(result["cases"], result["matmul_peak"]["gflops_median"])
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
