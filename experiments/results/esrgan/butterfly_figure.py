"""Remake butterfly_realesrgan_vs_bicubic.png (issue #4): run from the repo root after

  python -c "from sr_keras.data import images, pipeline; hr = images.crop_to_multiple(images.read_image('../shared/data/val_hr/butterfly.png'), 4); images.write_png('/tmp/bfly/butterfly_lr_x4.png', pipeline.make_lr(hr, 4))"
  sr-upscale --model=realesrgan-x4plus --input=/tmp/bfly/butterfly_lr_x4.png --output=experiments/results/esrgan/butterfly_realesrgan_x4plus.png
  sr-upscale --model=bicubic --input=/tmp/bfly/butterfly_lr_x4.png --output=/tmp/bfly/butterfly_bicubic.png
  python experiments/results/esrgan/butterfly_figure.py
"""

import numpy as np

from sr_keras import figures, metrics
from sr_keras.data import images

hr = images.crop_to_multiple(images.read_image("../shared/data/val_hr/butterfly.png"), 4)
lr = images.read_image("/tmp/bfly/butterfly_lr_x4.png")
lr_big = np.repeat(np.repeat(lr, 4, 0), 4, 1)
bicubic = images.read_image("/tmp/bfly/butterfly_bicubic.png")
esrgan = images.read_image("experiments/results/esrgan/butterfly_realesrgan_x4plus.png")


def score(image):
    return metrics.psnr(hr, image, 4), metrics.ssim(hr, image, 4)


top, left = figures.detailed_region(hr, 96)
figures.comparison_grid(
    [hr, hr],
    {"LR (nearest x4)": [lr_big] * 2, "Bicubic (MATLAB)": [bicubic] * 2, "realesrgan-x4plus (sr-upscale)": [esrgan] * 2},
    scores={"Bicubic (MATLAB)": [score(bicubic)] * 2, "realesrgan-x4plus (sr-upscale)": [score(esrgan)] * 2},
    row_names=["whole image", "most detailed 96x96"],
    boxes=[(0, 0, 256), (top, left, 96)],
    show_context=False,
    panel_inches=3.0,
    title="butterfly.png x4 (LR by MATLAB bicubic): PSNR (dB) / SSIM on Y, crop 4",
    output="experiments/results/esrgan/butterfly_realesrgan_vs_bicubic.png",
)
