"""sr-interpolate: ESRGAN network interpolation (Wang et al. 2018, Sec. 3.4) and its alpha sweep.

  sr-interpolate --psnr_model=runs/esrgan_psnr/generator.keras --gan_model=runs/esrgan_gan \\
      --alpha=0.8 --output=esrgan_interp08.keras
  sr-interpolate --psnr_model=A.keras --gan_model=B.keras \\
      --sweep_image=baboon.png --sweep_output=sweep.png --alphas=0,0.2,0.4,0.6,0.8,1 --crop=120,200,160,160

theta = (1 - alpha) * theta_PSNR + alpha * theta_GAN for every weight of two generators of the same
architecture (--psnr_model, --gan_model: .keras files, .weights.h5 files or sr-train run
directories).  --output writes the interpolated generator as a .keras file (usable by sr-upscale
and sr-eval).  --sweep_image/--sweep_output draw the alpha sweep on one image as in the paper's
Fig. 10: one row of panels, one per alpha, each captioned with alpha.  By default the image is
taken as an HR image: it is cropped to a multiple of the scale, its LR made by MATLAB bicubic, and
each panel's caption also gives the PSNR on Y of the whole SR image against it (border crop = scale).
With --nosweep_hr the image is an LR input and is upscaled as is (no PSNR).  --crop=Y,X,H,W shows
only that window of the SR images (in SR pixels).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    from sr_keras.loader import model_help

    flags.DEFINE_string("psnr_model", None, "The PSNR-oriented generator. " + model_help(keras_only=True), required=True)
    flags.DEFINE_string("gan_model", None, "The GAN generator (same architecture). " + model_help(keras_only=True), required=True)
    flags.DEFINE_float("alpha", 0.8, "Interpolation weight of the GAN model for --output, in [0, 1].")
    flags.DEFINE_string("output", None, "Write the interpolated generator to this .keras file.")
    flags.DEFINE_string("sweep_image", None, "Image for the alpha sweep figure (an HR image unless --nosweep_hr).")
    flags.DEFINE_string("sweep_output", None, "The alpha sweep figure (PNG).")
    flags.DEFINE_list("alphas", ["0", "0.2", "0.4", "0.6", "0.8", "1"], "Alphas of the sweep, one panel each.")
    flags.DEFINE_bool("sweep_hr", True, "--sweep_image is an HR image: downscale it first and caption PSNR-Y against it.")
    flags.DEFINE_string("crop", None, "Window Y,X,H,W of the SR images shown in each panel (SR pixels); default whole image.")
    flags.DEFINE_integer("tile", 0, "Upscale in tiles of this many LR pixels (0 = whole image at once).")

PANEL_INCHES = 2.5  # width of one panel
DPI = 100  # so a panel is PANEL_INCHES * DPI = 250 pixels wide
CAPTION_INCHES = 0.5
GAP = 0.03  # white space between panels, fraction of a panel's width


def parse_crop(text: str | None, height: int, width: int) -> tuple[int, int, int, int]:
    """'Y,X,H,W' -> a window inside an [height, width] image (the whole image for None)."""
    if not text:
        return 0, 0, height, width
    try:
        y, x, h, w = (int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--crop={text}: expected four integers Y,X,H,W") from None
    if h < 1 or w < 1 or y < 0 or x < 0 or y + h > height or x + w > width:
        raise ValueError(f"--crop={text}: window outside the {height}x{width} SR image")
    return y, x, h, w


def parse_alphas(texts) -> list[float]:
    from sr_keras.interpolation import check_alpha

    alphas = []
    for text in texts:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"--alphas: {text!r} is not a number") from None
        alphas.append(check_alpha(value))
    if not alphas:
        raise ValueError("--alphas: give at least one alpha")
    return alphas


def sweep(interpolator, image, alphas, is_hr: bool = True, tile: int = 0):
    """SR images (uint8) of `image` for each alpha, and their PSNR-Y vs the HR (None if not is_hr)."""
    from sr_keras import metrics
    from sr_keras.data import images, pipeline
    from sr_keras.inference import keras_upscaler

    upscaler = keras_upscaler(interpolator.model, "interpolated")
    upscaler.tile = tile
    scale = upscaler.scale
    if is_hr:
        hr = images.crop_to_multiple(image, scale)
        if hr.shape[0] < scale or hr.shape[1] < scale:
            raise ValueError(f"sweep image of {image.shape[0]}x{image.shape[1]} pixels is smaller than the scale {scale}")
        lr = pipeline.make_lr(hr, scale)
    else:
        hr, lr = None, image
    results, scores = [], []
    for alpha in alphas:
        interpolator.set_alpha(alpha)
        sr = metrics.to_uint8(upscaler(lr))
        results.append(sr)
        scores.append(metrics.psnr(hr, sr, crop=scale, channel="y") if hr is not None else None)
    return results, scores


def plot_sweep(panels, captions, path: str) -> int:
    """One row of image panels with a caption above each, written to `path`; returns the panel count.

    Each panel is PANEL_INCHES * DPI pixels wide, so the PNG is len(panels) times that wide.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(panels)
    height, width = panels[0].shape[:2]
    image_inches = PANEL_INCHES * height / width
    figure_height = image_inches + CAPTION_INCHES
    figure = plt.figure(figsize=(PANEL_INCHES * count, figure_height), dpi=DPI)
    for index, (panel, caption) in enumerate(zip(panels, captions)):
        axes = figure.add_axes([(index + GAP / 2) / count, 0.0, (1.0 - GAP) / count, image_inches / figure_height])
        axes.imshow(panel, interpolation="nearest")
        axes.set_axis_off()
        figure.text((index + 0.5) / count, 1.0 - 0.5 * CAPTION_INCHES / figure_height, caption, ha="center", va="center", fontsize=10)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return count


def main(argv):
    del argv
    if not FLAGS.output and not FLAGS.sweep_output:
        raise app.UsageError("nothing to do: give --output=FILE.keras and/or --sweep_image=IMAGE --sweep_output=FIG.png")
    if bool(FLAGS.sweep_image) != bool(FLAGS.sweep_output):
        raise app.UsageError("--sweep_image and --sweep_output go together")
    if FLAGS.output and not FLAGS.output.endswith(".keras"):
        raise app.UsageError(f"--output={FLAGS.output}: must end in .keras")
    from sr_keras import interpolation
    from sr_keras.data import images

    alphas = parse_alphas(FLAGS.alphas) if FLAGS.sweep_output else []
    alpha = interpolation.check_alpha(FLAGS.alpha)
    image = images.read_image(FLAGS.sweep_image) if FLAGS.sweep_image else None
    interpolator = interpolation.Interpolator(FLAGS.psnr_model, FLAGS.gan_model)

    if FLAGS.output:
        model = interpolator.set_alpha(alpha)
        folder = os.path.dirname(FLAGS.output)
        if folder:
            os.makedirs(folder, exist_ok=True)
        model.save(FLAGS.output)
        print(f"wrote {FLAGS.output} (alpha {alpha:g})", file=sys.stderr)

    if FLAGS.sweep_output:
        from sr_keras.inference import model_scale

        scale = model_scale(interpolator.model)
        height, width = image.shape[:2]
        sr_size = (height - height % scale, width - width % scale) if FLAGS.sweep_hr else (height * scale, width * scale)
        y, x, h, w = parse_crop(FLAGS.crop, *sr_size)  # checked before the (slow) upscaling
        results, scores = sweep(interpolator, image, alphas, FLAGS.sweep_hr, FLAGS.tile)
        panels = [sr[y : y + h, x : x + w] for sr in results]
        captions = []
        for a, score in zip(alphas, scores):
            captions.append(f"\u03b1 = {a:g}" + ("" if score is None else f"\nPSNR-Y {score:.2f} dB"))
            print(f"alpha {a:g}" + ("" if score is None else f"  PSNR-Y {score:.2f} dB"))
        count = plot_sweep(panels, captions, FLAGS.sweep_output)
        print(f"wrote {FLAGS.sweep_output} ({count} panels)", file=sys.stderr)


def run():
    """Console-script entry point (sr-interpolate)."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
