"""Direct vs Winograd F(4x4, 3x3) for every 3x3 stride-1 convolution shape of the training workloads.

For each shape (batch 16, H x W, C -> K, the layers of benchmarks/training.py's models that have it)
the XLA-compiled time of forward + input gradient + kernel gradient, and of the forward alone, with
tf.nn.conv2d and with sr_keras.ops.winograd.conv2d_3x3, alternating in one process; medians in ms,
the speedup direct / Winograd and the largest differences relative to the direct result's largest
magnitude.  sr_keras.archs.layers.use_winograd's rule is read from this table (benchmarks/RESULTS.md).

  python -m benchmarks.experiments.winograd_shapes [--output=FILE] [--repeats=9] [--only=HxWxCxK]
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS

# (height = width, in channels, out channels): where the workloads have them.
SHAPES = {
    (24, 64, 64): "SRResNet body, conv_body (33 per update)",
    (24, 64, 256): "SRResNet upsample_0_conv",
    (48, 64, 256): "SRResNet upsample_1_conv",
    (48, 64, 128): "SRGAN D conv2",
    (24, 128, 256): "SRGAN D conv4; VGG19 block3_conv1 at 96 px",
    (12, 256, 512): "SRGAN D conv6; VGG19 block4_conv1 at 96 px",
    (96, 64, 64): "VGG19 block1_conv2 at 96 px",
    (48, 128, 128): "VGG19 block2_conv2 at 96 px",
    (24, 256, 256): "VGG19 block3_conv2-4 at 96 px",
    (12, 512, 512): "VGG19 block4_conv2-4 at 96 px",
    (6, 512, 512): "VGG19 block5 at 96 px",
    (32, 64, 32): "RRDBNet dense conv1 (69 per update each)",
    (32, 96, 32): "RRDBNet dense conv2",
    (32, 128, 32): "RRDBNet dense conv3",
    (32, 160, 32): "RRDBNet dense conv4",
    (32, 192, 64): "RRDBNet dense conv5",
    (32, 64, 64): "RRDBNet conv_body",
    (64, 64, 64): "RRDBNet conv_up1",
    (128, 64, 64): "RRDBNet conv_up2, conv_hr; VGG19 block1_conv2 at 128 px",
    (64, 64, 128): "VGG-style D conv1_0; VGG19 block2_conv1 at 128 px",
    (64, 128, 128): "VGG19 block2_conv2 at 128 px",
    (32, 128, 256): "VGG-style D conv2_0; VGG19 block3_conv1 at 128 px",
    (32, 256, 256): "VGG19 block3_conv2-4 at 128 px",
    (16, 256, 512): "VGG-style D conv3_0; VGG19 block4_conv1 at 128 px",
    (16, 512, 512): "VGG19 block4_conv2-4 at 128 px",
    (8, 512, 512): "VGG-style D conv4_0; VGG19 block5 at 128 px",
}
BATCH = 16


def define_flags() -> None:
    flags.DEFINE_integer("repeats", 9, "Timed calls per variant (after one untimed).")
    flags.DEFINE_multi_string("only", None, "HxWxCxK, e.g. 24x24x64x64 (default: every shape above).")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def measure(height: int, channels: int, filters: int, repeats: int) -> dict:
    import numpy as np
    import tensorflow as tf

    from benchmarks.experiments import conv_timing
    from sr_keras.ops import winograd

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((BATCH, height, height, channels)), tf.float32)
    kernel = tf.Variable((rng.standard_normal((3, 3, channels, filters)) / np.sqrt(9 * channels)).astype(np.float32))
    ways = {"direct": lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"), "winograd": winograd.conv2d_3x3}
    return conv_timing.compare(x, kernel, ways, repeats, forward_flop=2 * BATCH * height * height * channels * filters * 9)


def main(argv):
    del argv
    from benchmarks import timing
    from benchmarks.experiments import conv_timing

    shapes = dict(SHAPES)
    if FLAGS.only:
        wanted = [tuple(int(v) for v in spec.lower().split("x")) for spec in FLAGS.only]
        shapes = {(h, c, k): SHAPES.get((h, c, k), "") for h, w, c, k in wanted}
    result = conv_timing.result_header(BATCH, FLAGS.repeats)
    for (height, channels, filters), where in shapes.items():
        entry = {"height": height, "width": height, "in_channels": channels, "out_channels": filters, "where": where}
        entry.update(measure(height, channels, filters, FLAGS.repeats))
        print(f"{height}x{height} {channels}->{filters}: train x{entry['train_speedup']:.2f}, forward x{entry['forward_speedup']:.2f}", flush=True)
        result["shapes"].append(entry)
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
