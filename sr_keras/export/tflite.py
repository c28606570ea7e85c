"""TFLite conversion: a flatbuffer of the same `serve` the SavedModel signatures use.

The official converter runs on a one-signature ExportArchive of `sr_keras.export.serving.make_serve`
on [1, H, W, 3] (fixed `input_size`) or [1, None, None, 3] (dynamic: the runtime calls
`resize_tensor_input` + `allocate_tensors`), with only TFLite builtin ops (no Flex, no custom ops;
nearest UpSampling2D is swapped for an equal resize, see `tflite_friendly`).  There is no tiling
inside a TFLite model: the app fixes (or resizes to) the input size, which bounds its memory.
  ``float32``       plain float;
  ``float16``       weights stored as float16 (dequantized at load time, computed in float32 on CPU);
  ``dynamic_int8``  weights int8 (tensors of >= 1024 values), activations float, quantized on the
                    fly inside the convolutions (dynamic-range quantization);
  ``int8``          full integer: int8 weights and activations, int8 input and output tensors,
                    calibrated on random crops of caller-given uint8 photos.  The input and output
                    tensors carry (scale, zero_point) with real = (q - zero_point) * scale; the [0, 1]
                    range calibrates to scale 1/255 and zero_point -128, i.e. q = round(x * 255) - 128
                    = pixel value - 128 (`sr_keras.export.litert.run_tflite` applies them;
                    `int8_io_quantization` reads them from a model).
File names: ``<model_name>_<quantization>_<HxW|dynamic>.tflite`` (`sr_keras.export_paths.tflite_file_name`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Sequence

import numpy as np
import tensorflow as tf

from sr_keras.atomic_files import write_bytes_atomically
from sr_keras.export.serving import IMAGE_KEY, SERVING_DEFAULT, make_serve

TFLITE_QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")


def representative_crops(
    images: Sequence[np.ndarray], crop_size: tuple[int, int], num_samples: int = 32, seed: int = 0
) -> list[np.ndarray]:
    """`num_samples` random crops float32 [1, h, w, 3] in [0, 1] from uint8 [H, W, 3] images.

    Images smaller than the crop are skipped; if none is large enough, raises ValueError.
    """
    height, width = crop_size
    usable = [np.asarray(image) for image in images if image.shape[0] >= height and image.shape[1] >= width]
    if not usable:
        raise ValueError(f"no representative image is at least {height}x{width} pixels (got {len(images)} images)")
    rng = np.random.default_rng(seed)
    crops = []
    for index in range(num_samples):
        image = usable[index % len(usable)]
        y = int(rng.integers(0, image.shape[0] - height + 1))
        x = int(rng.integers(0, image.shape[1] - width + 1))
        crop = image[y : y + height, x : x + width, :3].astype(np.float32) / 255.0
        crops.append(crop[np.newaxis])
    return crops


def default_representative_images() -> list[np.ndarray]:
    """sr_keras's embedded photos (public domain / CC0), uint8 RGB."""
    from sr_keras.data import sources

    return [item.image for item in sources.load_source("embedded")]


def tflite_friendly(model):
    """`model` with each nearest UpSampling2D replaced by an equal op that TFLite lowers to builtins.

    Keras 3 implements nearest UpSampling2D with `repeat`, which TF lowers to tile + reshape to a
    computed shape: with a dynamic input size the channel count is lost, so the following conv has
    an unknown input depth and only converts as a Flex op.  `tf.image.resize(nearest)` by an
    integer factor takes the same pixels (half-pixel centres: output i reads floor(i / factor)) and
    becomes the builtin RESIZE_NEAREST_NEIGHBOR.  Other layers are shared, not copied: the result
    uses `model`'s weights.  Models without such layers are returned unchanged.
    """
    import keras

    def replaceable(layer):
        return (
            isinstance(layer, keras.layers.UpSampling2D)
            and layer.interpolation == "nearest"
            and layer.data_format == "channels_last"
        )

    if not any(replaceable(layer) for layer in model.layers):
        return model

    class ResizeNearest(keras.layers.Layer):
        def __init__(self, size, **kwargs):
            super().__init__(**kwargs)
            self.size = tuple(int(s) for s in size)

        def call(self, inputs):
            new_size = tf.shape(inputs)[1:3] * tf.constant(self.size, tf.int32)
            return tf.image.resize(inputs, new_size, method="nearest")

        def compute_output_shape(self, input_shape):
            n, h, w, c = input_shape
            return (n, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def clone(layer):
        return ResizeNearest(layer.size, name=layer.name) if replaceable(layer) else layer

    functional = keras.Model(model.inputs, model.outputs, name=model.name)
    return keras.models.clone_model(functional, clone_function=clone)


def convert_tflite(
    model,
    quantization: str = "float32",
    input_size: tuple[int, int] | None = None,
    representative_images: Sequence[np.ndarray] | None = None,
    num_calibration_samples: int = 32,
    calibration_size: int = 64,
) -> bytes:
    """The TFLite flatbuffer of `make_serve(model)` (float32 [0, 1] in and out, clipped).

    input_size (H, W) fixes the input to [1, H, W, 3]; None leaves it [1, None, None, 3] (resize
    the input tensor at run time, see `run_tflite`).  quantization: one of TFLITE_QUANTIZATIONS.
    ``int8`` calibrates on `num_calibration_samples` random crops (input_size, else
    calibration_size square) of `representative_images` (uint8 [H, W, 3]; default: the embedded
    photos) and has int8 input/output tensors (scale/zero point in the tensor details).
    Only TFLite builtin ops are allowed: a model needing Flex ops fails to convert.  Nearest
    UpSampling2D layers are swapped for an equal builtin-friendly op (`tflite_friendly`), and a
    batch-norm SRResNet's BN is folded into its convolutions (`inference_form`).
    """
    if quantization not in TFLITE_QUANTIZATIONS:
        raise ValueError(f"TFLite quantization {quantization!r}: expected one of {', '.join(TFLITE_QUANTIZATIONS)}")
    if input_size is not None:
        input_size = (int(input_size[0]), int(input_size[1]))
        if min(input_size) <= 0:
            raise ValueError(f"TFLite input size must be positive, got {input_size}")
    from sr_keras.archs.fold_batch_norm import inference_form

    model = inference_form(model)  # BN SRResNets with BN folded (as the SavedModel export)
    serve = make_serve(tflite_friendly(model))  # THE serving function; no tiling (the app sizes the input)

    def serve_float(image):
        return {IMAGE_KEY: serve(image)}

    import keras

    shape = [1, None, None, 3] if input_size is None else [1, *input_size, 3]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SERVING_DEFAULT, serve_float, [tf.TensorSpec(shape, tf.float32, name=IMAGE_KEY)])
    with tempfile.TemporaryDirectory(prefix="sr_keras_tflite_") as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SERVING_DEFAULT])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quantization == "int8":
            if representative_images is None:
                representative_images = default_representative_images()
            crops = representative_crops(
                representative_images, input_size or (calibration_size, calibration_size), num_calibration_samples
            )
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([crop] for crop in crops)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        try:
            with _native_output_silenced():  # the int8 calibrator prints "fully_quantize: 0, ..." on stderr
                return converter.convert()
        except Exception as error:
            if type(error).__name__ != "ConverterError":
                raise
            # The message is an MLIR dump; its "Some ops ..." / "tf.Op(...)" lines say what failed.
            lines = [line.strip() for line in str(error).splitlines()]
            summary = [line for line in lines if line.startswith(("Some ops", "Flex ops", "Custom ops", "tf."))][:6]
            raise RuntimeError(
                f"TFLite conversion ({quantization}) failed; only builtin ops are allowed: "
                + (" | ".join(summary) or (lines[0] if lines else type(error).__name__))
            ) from error


def export_tflite(model, path: str, overwrite: bool = False, **kwargs) -> str:
    """`convert_tflite(model, **kwargs)` written to `path` (parent folders created); returns path.

    An existing `path` is refused (FileExistsError) unless `overwrite`; the file is written to a
    temporary sibling and renamed into place, so an app never reads a half-written model.
    """
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (sr-export --overwrite) to replace it")
    content = convert_tflite(model, **kwargs)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    write_bytes_atomically(path, content)
    return path


@contextlib.contextmanager
def _native_output_silenced():
    """Send file descriptors 1 and 2 (C++ prints of the converter) to /dev/null meanwhile.

    Python-level errors still propagate as exceptions (their message is in the exception).
    """
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
