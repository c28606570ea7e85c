"""Measure ACTIVATION_OVERHEAD (sr_keras/tiling.py): the peak RSS growth of one forward pass over
a window, divided by the graph estimate `activation_bytes_per_lr_pixel` x window pixels.

    python experiments/results/hardening/activation_overhead.py --arch=srresnet --side=256

Each (arch, side) runs in a fresh process (VmHWM of /proc/self/status is its high-water mark;
not ru_maxrss, which Linux carries over from the parent across fork + exec): the model is
built and run once on 16x16 (weights, kernels, tracing), then on side x side; the peak growth is
the difference of the two high-water marks.
"""
import argparse
import json

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--arch", default="srresnet", choices=["srresnet", "rrdbnet"])
parser.add_argument("--side", type=int, default=256)
args = parser.parse_args()

from sr_keras.archs import RRDBNet, SRResNet
from sr_keras.tiling import activation_bytes_per_lr_pixel, peak_rss_bytes

model = SRResNet() if args.arch == "srresnet" else RRDBNet()
estimate = activation_bytes_per_lr_pixel(model)
predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
predict(tf.zeros([1, 16, 16, 3])).numpy()
predict(tf.zeros([1, 24, 24, 3])).numpy()
base = peak_rss_bytes()
image = tf.constant(np.random.default_rng(0).random((1, args.side, args.side, 3), dtype=np.float32))
out = predict(image).numpy()
peak = peak_rss_bytes()
output_bytes = out.nbytes
growth = peak - base
print(json.dumps({
    "arch": args.arch, "side": args.side, "estimate_bytes_per_lr_pixel": estimate,
    "peak_growth_bytes": growth, "measured_bytes_per_lr_pixel": growth / args.side**2,
    "ratio": growth / (estimate * args.side**2),
}))
