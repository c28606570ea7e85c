"""How far the training stream's LR patches are from the papers' LR (the whole image downsampled).

The papers' (and BasicSR's) LR training image is MATLAB bicubic x1/4 of the whole HR photo; a
training pair is an LR crop at (y, x) with the HR crop at (4y, 4x).  This program takes LR/HR
pairs from `sr_keras.data.pipeline.training_dataset` (augment=False) of whichever sr_keras is on
PYTHONPATH, finds where each HR crop lies in its photo (exact search), and compares the LR with
the matching crop of the whole-image LR made independently by the numpy `imresize`, rounded to
8 bits.  An HR crop at a position that is not a multiple of 4 (the old pipeline's crops could be
anywhere) is compared with the whole-image LR of the photo cut at that phase, image[dy:, dx:]
(also a whole image downsampled, only on a shifted grid).

  PYTHONPATH=/work/main python experiments/results/lr_patches/measure_lr_patches.py \
      --data=../shared/data/train_hr --output=old_train_hr.json          # code before the fix
  PYTHONPATH=. python experiments/results/lr_patches/measure_lr_patches.py ...   # after it

Prints and writes JSON: per LR patch size, the share of LR pixels (any channel) and of values
that differ, the max and mean absolute difference in grey levels (mean over all values and over
the differing ones), and the same split into the outer 2-pixel ring and the interior.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from sr_keras import metrics
from sr_keras.data import pipeline, sources
from sr_keras.ops.imresize import imresize

SCALE = 4
RING = 2  # LR pixels per side whose x1/4 bicubic taps (16 HR px wide) reach outside a crop


def locate(image: np.ndarray, crop: np.ndarray) -> tuple[int, int]:
    """(top, left) of the first exact occurrence of `crop` in `image`."""
    size = crop.shape[0]
    valid = image[: image.shape[0] - size + 1, : image.shape[1] - size + 1]
    candidates = np.argwhere(np.all(valid == crop[0, 0], axis=-1))
    for top, left in candidates:
        if np.array_equal(image[top : top + size, left : left + size], crop):
            return int(top), int(left)
    raise LookupError("crop not found in its image")


def measure(images: list[sources.NamedImage], lr_size: int, batches: int, batch_size: int, seed: int) -> dict:
    crop = lr_size * SCALE
    dataset = pipeline.training_dataset(images, crop, SCALE, batch_size, seed=seed, augment=False)
    whole_lr = {}  # (image index, dy, dx) -> uint8 whole-image LR of image[dy:, dx:]
    ring = np.ones((lr_size, lr_size), bool)
    ring[RING:-RING, RING:-RING] = False
    diffs, aligned = [], 0
    for lr_batch, hr_batch in dataset.take(batches):
        for lr, hr in zip(lr_batch.numpy(), hr_batch.numpy()):
            hr8 = np.round(hr * 255).astype(np.uint8)
            lr8 = np.round(lr * 255).astype(np.int64)
            for index, item in enumerate(images):  # the image that holds this crop
                if item.image.shape[0] >= crop and item.image.shape[1] >= crop:
                    try:
                        top, left = locate(item.image, hr8)
                        break
                    except LookupError:
                        continue
            else:
                raise LookupError("an HR crop is in none of the images")
            dy, dx = top % SCALE, left % SCALE
            aligned += dy == 0 and dx == 0
            key = (index, dy, dx)
            if key not in whole_lr:
                hr_phase = item.image[dy:, dx:]
                hr_phase = hr_phase[: hr_phase.shape[0] // SCALE * SCALE, : hr_phase.shape[1] // SCALE * SCALE]
                whole_lr[key] = metrics.to_uint8(imresize(hr_phase / 255.0, 1.0 / SCALE)).astype(np.int64)
            y, x = (top - dy) // SCALE, (left - dx) // SCALE
            expected = whole_lr[key][y : y + lr_size, x : x + lr_size]
            diffs.append(np.abs(lr8 - expected))
    diffs = np.stack(diffs)  # [patches, s, s, 3] grey levels

    def summary(values: np.ndarray, pixels: np.ndarray) -> dict:
        differing = values[values > 0]
        return {
            "pixels_differing_share": float(np.mean(np.any(pixels > 0, axis=-1))),
            "values_differing_share": float(np.mean(values > 0)),
            "max_abs_diff_grey_levels": int(values.max()),
            "mean_abs_diff_grey_levels": float(values.mean()),
            "mean_abs_diff_of_differing_values": float(differing.mean()) if differing.size else 0.0,
        }

    return {
        "lr_patch": lr_size,
        "hr_crop": crop,
        "patches": int(diffs.shape[0]),
        "patches_on_the_x4_grid": int(aligned),
        "whole_patch": summary(diffs, diffs),
        f"outer_{RING}_px_ring": summary(diffs[:, ring], diffs[:, ring]),
        "interior": summary(diffs[:, ~ring], diffs[:, ~ring]),
        "ring_share_of_patch": float(ring.mean()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="embedded", help="image source (embedded | FOLDER | tfds:...)")
    parser.add_argument("--lr_sizes", default="24,32", help="LR patch sides (HR crop = 4x)")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="", help="JSON file to write")
    args = parser.parse_args(argv)
    images = sources.load_source(args.data)
    results = {
        "data": args.data,
        "images": len(images),
        "sr_keras": pipeline.__file__,
        "results": [measure(images, int(s), args.batches, args.batch_size, args.seed) for s in args.lr_sizes.split(",")],
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
