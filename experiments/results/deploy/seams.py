"""Issue 5 evidence: tiled vs untiled output as a function of the tile pad (LR pixels of context).

  python experiments/results/deploy/seams.py --hr=PHOTO --models realesrgan-x4plus /path/srresnet.keras

The HR photo's centre crop (4*size px) is made x4 smaller with MATLAB bicubic; each model
upscales it whole and in tiles of `tile` LR pixels for each pad.  Printed per (model, pad): the
largest |tiled - untiled| in grey levels before rounding, and after rounding both to uint8 the
largest difference and the share of pixels that differ by more than one grey level.
"""

import argparse
import json

import numpy as np

from sr_keras import inference, metrics
from sr_keras.data import images, pipeline

parser = argparse.ArgumentParser()
parser.add_argument("--hr", required=True)
parser.add_argument("--size", type=int, default=192, help="LR size (pixels) of the centre crop")
parser.add_argument("--tile", type=int, default=64)
parser.add_argument("--pads", type=int, nargs="+", default=[10, 16, 24, 32, 48])
parser.add_argument("--models", nargs="+", required=True)
args = parser.parse_args()

hr = images.read_image(args.hr)
side = 4 * args.size
y, x = (hr.shape[0] - side) // 2, (hr.shape[1] - side) // 2
lr = pipeline.make_lr(hr[y : y + side, x : x + side], 4)
print(f"{args.hr}: centre {side}x{side} HR -> LR {lr.shape[:2]}, tiles of {args.tile} LR px", flush=True)
rows = []
for spec in args.models:
    upscaler = inference.load_upscaler(spec)
    whole = np.clip(upscaler(lr), 0.0, 1.0)
    for pad in args.pads:
        upscaler.tile, upscaler.tile_pad = args.tile, pad
        tiled = np.clip(upscaler(lr), 0.0, 1.0)
        upscaler.tile = 0
        rounded = np.abs(metrics.to_uint8(tiled).astype(int) - metrics.to_uint8(whole).astype(int))
        row = {
            "model": spec, "tile": args.tile, "pad": pad,
            "max_grey_levels": float(np.abs(tiled - whole).max() * 255),
            "mean_grey_levels": float(np.abs(tiled - whole).mean() * 255),
            "uint8_max": int(rounded.max()),
            "uint8_share_over_1": float((rounded > 1).mean()),
        }  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
