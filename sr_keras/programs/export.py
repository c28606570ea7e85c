"""sr-export: a generator as a TF Serving SavedModel or a TFLite model.

  sr-export --model=runs/srgan/generator.keras --output=serving/            # -> serving/srgan/1/
  sr-export --model=realesrgan-x4plus --output=serving/ --model_name=esrgan --version=3
  sr-export --model=runs/srgan/generator.keras --format=tflite --output=tflite/ --tflite_quantization=float16
      # -> tflite/srgan_float16_dynamic.tflite
  sr-export --model=generator.keras --format=tflite --output=sr_128.tflite --tflite_input=128x128 \
      --tflite_quantization=int8 --representative_data=DIV2K_train_HR/

SavedModel: signatures serving_default (uint8 images), serve_image_bytes (encoded images -> PNG,
for TF Serving REST {"b64": ...}) and serve_float (float32 [0, 1]), any image size, written as
OUTPUT/MODEL_NAME/VERSION/ (the layout tensorflow_model_server watches; VERSION defaults to the
next free integer).  Every signature refuses a request over --max_input_pixels LR pixels
(InvalidArgument, read from the header for encoded images, before decoding) and runs the model in
tiles whose side comes from --memory_budget_mb, so a large request cannot exhaust the server.

TFLite: float32 [1, H, W, 3] in [0, 1] in and out, H x W fixed by --tflite_input or dynamic; only
builtin ops.  int8 models take and give int8 tensors: real = (q - zero_point) * scale, with scale
1/255 and zero_point -128 for [0, 1] (q = pixel value - 128); sr-export prints both.  An existing
.tflite is not replaced unless --overwrite.  The model name (SavedModel folder, TFLite file name)
is --model_name, else the shipped name, else the .keras file's name (its run folder's name for
sr-train's generator.keras).  See sr_keras.export.
"""

from __future__ import annotations

import os
import re
import sys

from absl import flags

from sr_keras.export_paths import check_version_free, tflite_file_name

FLAGS = flags.FLAGS


def parse_size(text: str) -> tuple[int, int] | None:
    """'' -> None (dynamic); 'HxW' -> (H, W); 'N' -> (N, N)."""
    text = text.strip().lower()
    if not text:
        return None
    match = re.fullmatch(r"(\d+)(?:x(\d+))?", text)
    if not match or int(match.group(1)) <= 0 or (match.group(2) is not None and int(match.group(2)) <= 0):
        raise ValueError(f"--tflite_input={text!r}: expected HxW with positive integers (e.g. 128x96), or empty for a dynamic size")
    height = int(match.group(1))
    return height, int(match.group(2) or height)


def default_model_name(spec: str, model=None) -> str | None:
    """The name a user gave the model, made URL-safe: a shipped name as is; for a .keras file its
    name without the extension, or its folder's name for sr-train's ``RUN/generator.keras``.  Only as
    a last resort the Keras model's name (e.g. "srresnet" for an SRGAN generator): None while `model`
    is not loaded yet."""
    name = spec
    if spec.endswith(".keras"):
        stem = os.path.basename(spec)[: -len(".keras")]
        folder = os.path.basename(os.path.dirname(os.path.abspath(spec)))
        name = folder if stem == "generator" else stem
    name = url_safe(name)
    if name:
        return name
    return (url_safe(model.name or "") or "sr") if model is not None else None


def url_safe(name: str) -> str:
    """`name` with every character but letters, digits, '_', '-' and '.' replaced by '_', and no leading '._-'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip("._-")


def tflite_path(output: str, model_name: str | None, quantization: str, input_size) -> str | None:
    """The .tflite path sr-export writes: OUTPUT if it ends in .tflite, else OUTPUT/<name>_<q>_<size>.tflite
    (None while the model name is not known yet)."""
    if output.endswith(".tflite"):
        return output
    return os.path.join(output, tflite_file_name(model_name, quantization, input_size)) if model_name else None


def check_tflite_free(path: str | None) -> None:
    """ValueError if the .tflite file `path` exists and --overwrite is not given (None: not named yet)."""
    if path and os.path.exists(path) and not FLAGS.overwrite:
        raise ValueError(f"{path} already exists; pass --overwrite to replace it")


def verify_saved_model(path: str, model) -> float:
    """max |serve_float(x) - clip(model(x))| on a random 12x10 image, through the reloaded SavedModel."""
    import numpy as np
    import tensorflow as tf

    from sr_keras import export

    image = np.random.default_rng(0).random((1, 12, 10, 3), dtype=np.float32)
    loaded = tf.saved_model.load(path)
    served = loaded.signatures[export.SERVE_FLOAT](tf.constant(image))[export.IMAGE_KEY].numpy()
    expected = np.clip(model(image, training=False).numpy(), 0, 1)
    return float(np.abs(served - expected).max())


def verify_tflite(path: str, model, input_size) -> tuple[float, float, str]:
    """(max abs diff, PSNR in dB) of the TFLite output vs clip(model(x)), and what x was.

    x is a crop of an embedded photo (input_size, else 32x32), or random pixels if no photo is
    large enough: quantization errors on photos are what matters, noise exaggerates them.
    """
    import numpy as np

    from sr_keras import export

    height, width = input_size or (32, 32)
    try:
        photo = export.default_representative_images()[0]
        image = export.representative_crops([photo], (height, width), num_samples=1)[0]
        what = f"a {height}x{width} photo crop"
    except ValueError:
        image = np.random.default_rng(0).random((1, height, width, 3), dtype=np.float32)
        what = f"a random {height}x{width} image"
    output = export.run_tflite(path, image)
    expected = np.clip(model(image, training=False).numpy(), 0, 1)
    if output.shape != expected.shape:
        raise RuntimeError(f"{path}: TFLite output shape {output.shape} differs from the Keras model's {expected.shape}")
    difference = np.abs(output.astype(np.float64) - expected)
    mse = float(np.mean(difference**2))
    psnr = 10 * np.log10(1 / mse) if mse > 0 else float("inf")
    return float(difference.max()), psnr, what


def check_arguments() -> tuple[int, int] | None:
    """The flags' errors, found before the model is loaded and before TensorFlow is imported, an existing
    .tflite file or SavedModel version included (but where only the loaded model can name it: then
    after loading).  Returns the --tflite_input size (or None)."""
    if FLAGS.version is not None and FLAGS.version < 0:
        raise ValueError(f"--version={FLAGS.version}: must be a non-negative integer")
    input_size = parse_size(FLAGS.tflite_input)
    if FLAGS.format == "saved_model" and (FLAGS.tflite_input or FLAGS.tflite_quantization != "float32"):
        raise ValueError("--tflite_input and --tflite_quantization apply to --format=tflite only")
    if FLAGS.model.endswith(".keras") and not os.path.isfile(FLAGS.model):
        raise FileNotFoundError(f"{FLAGS.model}: no such model file")
    if FLAGS.max_input_pixels < 1 or not FLAGS.memory_budget_mb > 0:
        raise ValueError(f"--max_input_pixels ({FLAGS.max_input_pixels}) and --memory_budget_mb ({FLAGS.memory_budget_mb}) must be positive")
    model_name = FLAGS.model_name or default_model_name(FLAGS.model)
    if FLAGS.format == "tflite":
        check_tflite_free(tflite_path(FLAGS.output, model_name, FLAGS.tflite_quantization, input_size))
    if FLAGS.format == "saved_model" and FLAGS.version is not None and model_name:
        check_version_free(os.path.join(FLAGS.output, model_name), FLAGS.version)
    return input_size


def main(argv, input_size):
    """input_size: `check_arguments()`'s --tflite_input size, checked before TensorFlow was imported."""
    del argv
    from absl import logging

    if not FLAGS["verbosity"].present:  # TF's SavedModel writer logs every renamed capture at INFO
        logging.set_verbosity(logging.WARNING)

    from sr_keras import export
    from sr_keras.loader import load_generator

    model = load_generator(FLAGS.model)
    model_name = FLAGS.model_name or default_model_name(FLAGS.model, model)
    scale = export.model_scale(model)

    if FLAGS.format == "saved_model":
        path = export.export_saved_model(
            model, FLAGS.output, model_name, FLAGS.version, max_input_pixels=FLAGS.max_input_pixels, memory_budget_mb=FLAGS.memory_budget_mb
        )
        tile, pad = export.tile_plan(model, FLAGS.memory_budget_mb)
        print(f"wrote {path} (x{scale}; signatures: {', '.join(export.SIGNATURES)})", file=sys.stderr)
        print(
            f"requests: at most {FLAGS.max_input_pixels:,} input pixels, run in tiles of {tile} LR pixels "
            f"(pad {pad}) for a {FLAGS.memory_budget_mb:g} MB budget",
            file=sys.stderr,
        )
        if FLAGS.verify:
            difference = verify_saved_model(path, model)
            print(f"serve_float vs Keras on a random 12x10 image: max abs diff {difference:.2e}", file=sys.stderr)
            if not difference <= 1e-4:
                raise RuntimeError(f"{path}: the SavedModel's serve_float differs from the Keras model by {difference}")
        base = os.path.abspath(os.path.dirname(path))
        print(
            f"serve it with: tensorflow_model_server --rest_api_port=8501 --model_name={model_name} --model_base_path={base}",
            file=sys.stderr,
        )
        return

    path = tflite_path(FLAGS.output, model_name, FLAGS.tflite_quantization, input_size)
    check_tflite_free(path)  # again: a name only the loaded model gives is checked here
    representative = None
    if FLAGS.tflite_quantization == "int8":
        from sr_keras.data import sources

        representative = [item.image for item in sources.load_source(FLAGS.representative_data, FLAGS.data_dir)]
    export.export_tflite(
        model,
        path,
        quantization=FLAGS.tflite_quantization,
        input_size=input_size,
        representative_images=representative,
        num_calibration_samples=FLAGS.calibration_samples,
        calibration_size=FLAGS.calibration_size,
        overwrite=FLAGS.overwrite,
    )
    ops = export.tflite_ops(path)
    size = "dynamic [1, H, W, 3]" if input_size is None else f"[1, {input_size[0]}, {input_size[1]}, 3]"
    print(f"wrote {path} ({os.path.getsize(path)} bytes, x{scale}, {FLAGS.tflite_quantization}, input {size})", file=sys.stderr)
    print(f"ops: {', '.join(ops)}", file=sys.stderr)
    if FLAGS.tflite_quantization == "int8":
        for key, (q_scale, zero_point) in export.int8_io_quantization(path).items():
            print(f"int8 {key}: real = (q - ({zero_point})) * {q_scale:.8g}  (scale 1/{1 / q_scale:.4g}, zero point {zero_point})", file=sys.stderr)
    if export.non_builtin_ops(path):
        raise RuntimeError(f"{path}: uses non-builtin ops {export.non_builtin_ops(path)}")
    if FLAGS.verify:
        difference, psnr, what = verify_tflite(path, model, input_size)
        print(f"TFLite vs Keras on {what}: max abs diff {difference:.2e} (on [0, 1]), PSNR {psnr:.1f} dB", file=sys.stderr)
        # float32 must match; quantized models differ by design (reported), but never by NaN.
        bound = 1e-3 if FLAGS.tflite_quantization == "float32" else float("inf")
        if not difference <= bound:
            raise RuntimeError(f"{path}: the TFLite model differs from the Keras model by {difference}")


def define_flags() -> None:
    """Define the flags (at run time, not import time: tests import this module's helpers next
    to other programs that define flags of the same names)."""
    from sr_keras.loader import model_help

    flags.DEFINE_string("model", None, model_help(keras_only=True), required=True)
    flags.DEFINE_enum(
        "format", "saved_model", ["saved_model", "tflite"],
        "saved_model: a TF Serving SavedModel (signatures serve_float, serve_uint8, serve_image_bytes; in-graph tiling and "
        "a pixel limit); tflite: one LiteRT flatbuffer (float32 [1, H, W, 3] in [0, 1] -> [1, 4H, 4W, 3], or int8, see "
        "--tflite_quantization).",
    )
    flags.DEFINE_string(
        "output",
        None,
        "saved_model: the model base folder (gets MODEL_NAME/VERSION/). tflite: a .tflite file, or a folder "
        "(gets MODEL_NAME_QUANTIZATION_SIZE.tflite).",
        required=True,
    )
    flags.DEFINE_string(
        "model_name", None, "Name of the served model (REST URL /v1/models/NAME) and of the .tflite file; default: the "
        "shipped name, or the .keras file's name (the run folder's for RUN/generator.keras).",
    )
    flags.DEFINE_integer("version", None, "SavedModel version folder (an integer); default: the next free one (1 for a new model).")
    flags.DEFINE_enum(
        "tflite_quantization", "float32", ["float32", "float16", "dynamic_int8", "int8"],
        "TFLite numerics: float32 (exact to Keras within ~1e-5); float16 (weights stored in float16, computed in float32, "
        "half the file); dynamic_int8 (int8 weights, float activations, a quarter of the file); int8 (weights and "
        "activations int8, calibrated on --representative_data; input and output int8 with scale 1/255 and zero point -128, "
        "i.e. q = round(255 * x) - 128 for x in [0, 1]).",
    )
    flags.DEFINE_string("tflite_input", "", "TFLite input size HxW (e.g. 128x128, or 128 for square); empty = dynamic size.")
    flags.DEFINE_string("representative_data", "embedded", "int8 calibration photos: a folder, 'embedded' or tfds:NAME[:SPLIT].")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for a tfds: --representative_data.")
    flags.DEFINE_integer("calibration_samples", 100, "int8: number of random crops used for calibration.")
    flags.DEFINE_integer("calibration_size", 64, "int8 with a dynamic input size: side of the calibration crops.")
    flags.DEFINE_bool("verify", True, "Run the export once on a random image and compare it with the Keras model.")
    flags.DEFINE_bool("overwrite", False, "tflite: replace an existing .tflite file (refused otherwise).")
    flags.DEFINE_integer(
        "max_input_pixels", 2048 * 2048, "saved_model: refuse requests with more LR input pixels than this "
        "(N x H x W; per image for serve_image_bytes) with InvalidArgument.",
    )
    flags.DEFINE_float(
        "memory_budget_mb", 1024, "saved_model: MB of working memory for one tile's forward pass; the tile side "
        "inside the signatures comes from it (sr_keras.tiling).",
    )


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, check_arguments=check_arguments)


if __name__ == "__main__":
    run()
