#!/usr/bin/env bash
# Issue 5 evidence: tiled inference. A 2000x1500 LR photo upscaled x4 by RRDBNet (the shipped
# realesrgan-x4plus, 23 blocks) in tiles, with peak RSS and wall time from GNU time; then tiled vs
# untiled on an image small enough to run whole.
#   bash experiments/results/deploy/run_tiling.sh OUT_DIR [TILE] > tiling.log 2>&1
# TILE (LR pixels, default 256) is --tile; the pad is sr-upscale's default for the architecture
# (sr_keras.inference.TILE_PADS: 64 for RRDBNet, from seams.log).
set -euo pipefail
out=${1:?an output folder}
tile=${2:-256}
data=$(cd "$(dirname "$0")/../../.." && pwd)/../shared/data
mkdir -p "$out"
set -x

# The LR input: a training photo (1280x800) resized to 2000x1500 with MATLAB bicubic.
python - "$data/train_hr" "$out/lr_2000x1500.png" <<'PY'
import sys, numpy as np
from sr_keras.data import images
from sr_keras.ops import imresize
photo = images.read_image(images.list_images(sys.argv[1])[0])
lr = imresize.imresize(photo, size=(1500, 2000))
images.write_png(sys.argv[2], np.clip(np.round(lr), 0, 255).astype(np.uint8))
print("LR", lr.shape)
PY
/usr/bin/time -v sr-upscale --model=realesrgan-x4plus --input="$out/lr_2000x1500.png" \
  --output="$out/sr_8000x6000.png" --tile="$tile"

# Tiled vs untiled on the Set5 butterfly made x4 smaller (64x64 LR): tiles of 24 LR pixels.
python - "$data/val_hr/butterfly.png" <<'PY'
import sys, numpy as np
from sr_keras import inference
from sr_keras.data import images, pipeline
lr = pipeline.make_lr(images.crop_to_multiple(images.read_image(sys.argv[1]), 4), 4)
upscaler = inference.load_upscaler("realesrgan-x4plus")
whole = upscaler(lr)
for tile, pad in [(24, 10), (24, 16), (32, 4)]:
    upscaler.tile, upscaler.tile_pad = tile, pad
    tiled = upscaler(lr)
    difference = np.abs(tiled - whole)
    print(f"LR {lr.shape[:2]} tile {tile} pad {pad}: max |tiled - untiled| {difference.max():.2e} on [0, 1] "
          f"({difference.max() * 255:.3f} grey levels), mean {difference.mean():.2e}")
PY
