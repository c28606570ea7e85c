"""XLA's strided convolution vs the four-phase form for every stride-2 convolution of the GAN updates.

For each shape (batch 16, H x W input, k x k kernel, C -> C, padding; the discriminator layers that
have it) the XLA-compiled time of forward + input gradient + kernel gradient, and of the forward
alone, with tf.nn.conv2d(strides=2) and with sr_keras.ops.strided_conv.conv2d_stride2, alternating in
one process (benchmarks/experiments/conv_timing.py).  sr_keras.archs.layers.stride2_phases_pay's rule
is read from this table (benchmarks/RESULTS.md).

  python -m benchmarks.experiments.stride2_shapes [--output=FILE] [--repeats=9]
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS

# (input height = width, kernel size, channels, padding): where the updates have them.
SHAPES = {
    (96, 3, 64, "same"): "SRGAN D conv1 (96 px patches)",
    (48, 3, 128, "same"): "SRGAN D conv3",
    (24, 3, 256, "same"): "SRGAN D conv5",
    (12, 3, 512, "same"): "SRGAN D conv7",
    (130, 4, 64, "valid"): "VGG-style D conv0_1 (128 px patches, 1 px zero padding)",
    (66, 4, 128, "valid"): "VGG-style D conv1_1",
    (34, 4, 256, "valid"): "VGG-style D conv2_1",
    (18, 4, 512, "valid"): "VGG-style D conv3_1",
    (10, 4, 512, "valid"): "VGG-style D conv4_1",
}
BATCH = 16


def define_flags() -> None:
    flags.DEFINE_integer("repeats", 9, "Timed calls per variant (after one untimed).")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def measure(height: int, kernel_size: int, channels: int, padding: str, repeats: int) -> dict:
    import numpy as np
    import tensorflow as tf

    from benchmarks.experiments import conv_timing
    from sr_keras.ops import strided_conv

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((BATCH, height, height, channels)), tf.float32)
    shape = (kernel_size, kernel_size, channels, channels)
    kernel = tf.Variable((rng.standard_normal(shape) / np.sqrt(kernel_size**2 * channels)).astype(np.float32))
    ways = {"direct": lambda x, k: tf.nn.conv2d(x, k, 2, padding.upper()), "phases": lambda x, k: strided_conv.conv2d_stride2(x, k, padding)}
    out = -(-height // 2) if padding == "same" else (height - kernel_size) // 2 + 1
    flop = 2 * BATCH * out * out * channels * channels * kernel_size**2
    return conv_timing.compare(x, kernel, ways, repeats, forward_flop=flop)


def main(argv):
    del argv
    from benchmarks import timing
    from benchmarks.experiments import conv_timing

    result = conv_timing.result_header(BATCH, FLAGS.repeats)
    for (height, kernel_size, channels, padding), where in SHAPES.items():
        entry = {"height": height, "width": height, "kernel_size": kernel_size, "channels": channels, "padding": padding, "where": where}
        entry.update(measure(height, kernel_size, channels, padding, FLAGS.repeats))
        print(f"{height}px {kernel_size}x{kernel_size} {channels} {padding}: train x{entry['train_speedup']:.2f}, forward x{entry['forward_speedup']:.2f}", flush=True)
        result["shapes"].append(entry)
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
