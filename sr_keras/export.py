"""Exporting a generator for serving: TF Serving SavedModels and TFLite flatbuffers.

Every export derives from ONE serving function (as `serve()` in tensorflow/models'
official/vision export modules):

    serve(image) = clip(model(image), 0, 1)      float32 [N, H, W, 3] in [0, 1] -> [N, rH, rW, 3]

and the signatures only convert at the edges:

  ``serving_default``    {"image": uint8 [N, H, W, 3]}  -> {"image": uint8 [N, rH, rW, 3]},
                         rounded floor(serve * 255 + 0.5) (MATLAB's im2uint8, `metrics.to_uint8`);
  ``serve_image_bytes``  {"image_bytes": string [N]}     -> {"png_bytes": string [N]}: each element
                         an encoded PNG/JPEG/GIF/BMP (TF Serving REST: ``{"b64": ...}``), decoded to
                         RGB, upscaled, rounded as above and encoded as PNG.  Images of one batch may
                         differ in size; they are processed one after the other (bounded memory).
                         TF Serving's REST API returns outputs whose name ends in ``_bytes`` as
                         ``{"b64": ...}``, hence the output name;
  ``serve_float``        {"image": float32 [N, H, W, 3]} -> {"image": float32 [N, rH, rW, 3]}.

H and W are free (None) in all three.  SavedModels are written with `keras.export.ExportArchive`
(`tf.saved_model.save` of a Keras 3 model gives a SavedModel that TF Serving's loader cannot run,
keras#19274) as ``<dir>/<model_name>/<version>/``, the layout `tensorflow_model_server
--model_base_path=<dir>/<model_name>` watches.

TFLite models are converted by the official converter from a one-signature ExportArchive of the same
`serve` on [1, H, W, 3] (fixed `input_size`) or [1, None, None, 3] (dynamic: the runtime calls
`resize_tensor_input` + `allocate_tensors`), with only TFLite builtin ops (no Flex, no custom ops;
nearest UpSampling2D is swapped for an equal resize, see `tflite_friendly`):
  ``float32``       plain float;
  ``float16``       weights stored as float16 (dequantized at load time, computed in float32 on CPU);
  ``dynamic_int8``  weights int8 (tensors of >= 1024 values), activations float, quantized on the
                    fly inside the convolutions (dynamic-range quantization);
  ``int8``          full integer: int8 weights and activations, int8 input and output tensors
                    (calibrated on random crops of caller-given uint8 photos).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

SERVING_DEFAULT = "serving_default"
SERVE_IMAGE_BYTES = "serve_image_bytes"
SERVE_FLOAT = "serve_float"
SIGNATURES = (SERVING_DEFAULT, SERVE_IMAGE_BYTES, SERVE_FLOAT)

# Signature tensor names (the keys of the inputs / outputs dicts).
IMAGE_KEY = "image"
IMAGE_BYTES_KEY = "image_bytes"
PNG_BYTES_KEY = "png_bytes"  # must end in "_bytes": TF Serving REST then returns {"b64": ...}

TFLITE_QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def load_keras_model(spec: str):
    """A Keras generator from a model spec: a ``.keras`` file or a shipped model name.

    (`sr_keras.inference.load_upscaler` also accepts ``bicubic`` and SavedModel directories, which
    are not Keras models and cannot be exported.)
    """
    import keras

    import sr_keras.archs  # noqa: F401  (registers the custom layers and models)

    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"{spec}: no such model file")
        return keras.saving.load_model(spec, compile=False)
    if spec == "bicubic" or (os.path.isdir(spec) and os.path.isfile(os.path.join(spec, "saved_model.pb"))):
        raise ValueError(f"{spec}: not a Keras model; export needs a .keras file or a shipped model name")
    try:
        from sr_keras.weights import pretrained
    except ImportError:
        pretrained = None
    if pretrained is not None and spec in pretrained.SHIPPED_MODELS:
        return pretrained.load_pretrained(spec)
    shipped = f"a shipped name ({', '.join(sorted(pretrained.SHIPPED_MODELS))}) or " if pretrained is not None else ""
    raise ValueError(f"unknown model {spec!r}: expected {shipped}a .keras file")


def model_scale(model) -> int:
    """The generator's upscaling factor (its config's `scale`, else measured)."""
    from sr_keras.inference import model_scale as _model_scale

    return _model_scale(model)


# --------------------------------------------------------------------------------------------
# The serving function and the signatures derived from it
# --------------------------------------------------------------------------------------------


def make_serve(model):
    """THE serving function: float32 [N, H, W, 3] in [0, 1] -> clip(model) [N, rH, rW, 3]."""

    def serve(image):
        return tf.clip_by_value(tf.cast(model(image, training=False), tf.float32), 0.0, 1.0)

    return serve


def float_to_uint8(image):
    """[0, 1] float -> uint8, rounded half up: floor(x * 255 + 0.5) (x is already clipped)."""
    return tf.cast(tf.floor(tf.clip_by_value(image, 0.0, 1.0) * 255.0 + 0.5), tf.uint8)


def serving_signatures(model) -> dict[str, tuple]:
    """{signature name: (function, [input TensorSpec])}, all built on `make_serve(model)`.

    The functions return dicts; their keys become the SavedModel signature output names.
    """
    serve = make_serve(model)

    def serve_float(image):
        return {IMAGE_KEY: serve(image)}

    def serve_uint8(image):
        return {IMAGE_KEY: float_to_uint8(serve(tf.cast(image, tf.float32) / 255.0))}

    def serve_one_encoded(data):
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
        image.set_shape([None, None, 3])
        upscaled = float_to_uint8(serve(tf.cast(image, tf.float32)[tf.newaxis] / 255.0))[0]
        return tf.io.encode_png(upscaled)

    def serve_image_bytes(image_bytes):
        # One image at a time (parallel_iterations=1): images of a batch may differ in size, and
        # memory stays that of one image.
        png = tf.map_fn(serve_one_encoded, image_bytes, fn_output_signature=tf.string, parallel_iterations=1)
        return {PNG_BYTES_KEY: png}

    images = [None, None, None, 3]
    return {
        SERVING_DEFAULT: (serve_uint8, [tf.TensorSpec(images, tf.uint8, name=IMAGE_KEY)]),
        SERVE_IMAGE_BYTES: (serve_image_bytes, [tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_KEY)]),
        SERVE_FLOAT: (serve_float, [tf.TensorSpec(images, tf.float32, name=IMAGE_KEY)]),
    }


def build_export_archive(model, signatures: Iterable[str] = SIGNATURES):
    """A `keras.export.ExportArchive` tracking `model` with the named signatures (default: all)."""
    import keras

    available = serving_signatures(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name in signatures:
        function, input_signature = available[name]
        archive.add_endpoint(name, function, input_signature)
    return archive


# --------------------------------------------------------------------------------------------
# SavedModel for TF Serving
# --------------------------------------------------------------------------------------------

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def existing_versions(model_dir: str) -> list[int]:
    """The integer version sub-directories of `model_dir` (what TF Serving would load), sorted."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir) if name.isdigit() and os.path.isdir(os.path.join(model_dir, name)))


def next_version(model_dir: str) -> int:
    """1 for a new model, else one more than the highest existing version."""
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def export_saved_model(model, output_dir: str, model_name: str = "sr", version: int | None = None) -> str:
    """Write the three signatures as ``output_dir/model_name/version/``; returns that path.

    `version` None takes the next free integer (1 for a new model).  An existing version is never
    overwritten (a running TF Serving may be serving it).  The SavedModel is written to a hidden
    sibling folder and renamed into place, so a model server polling the folder never sees a
    half-written version.
    """
    if not _MODEL_NAME.match(model_name or ""):
        raise ValueError(f"model name {model_name!r}: use letters, digits, '_', '-' and '.' (it is part of the REST URL)")
    model_dir = os.path.join(output_dir, model_name)
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version!r}")
    version = int(version)
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final):
        raise ValueError(f"{final} already exists; pick another --version (next free: {next_version(model_dir)})")
    os.makedirs(model_dir, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would hide the model from a server run as another user.
    staging = os.path.join(model_dir, f".{version}.partial-{os.getpid()}-{os.urandom(4).hex()}")
    os.makedirs(staging)
    try:
        build_export_archive(model).write_out(staging, verbose=False)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


# --------------------------------------------------------------------------------------------
# TFLite
# --------------------------------------------------------------------------------------------


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
    UpSampling2D layers are swapped for an equal builtin-friendly op (`tflite_friendly`).
    """
    if quantization not in TFLITE_QUANTIZATIONS:
        raise ValueError(f"TFLite quantization {quantization!r}: expected one of {', '.join(TFLITE_QUANTIZATIONS)}")
    if input_size is not None:
        input_size = (int(input_size[0]), int(input_size[1]))
        if min(input_size) <= 0:
            raise ValueError(f"TFLite input size must be positive, got {input_size}")
    serve = make_serve(tflite_friendly(model))

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


def tflite_file_name(model_name: str, quantization: str, input_size: tuple[int, int] | None) -> str:
    """``<model_name>_<quantization>_<HxW|dynamic>.tflite``."""
    size = "dynamic" if input_size is None else f"{input_size[0]}x{input_size[1]}"
    return f"{model_name}_{quantization}_{size}.tflite"


def export_tflite(model, path: str, **kwargs) -> str:
    """`convert_tflite(model, **kwargs)` written to `path` (parent folders created); returns path."""
    content = convert_tflite(model, **kwargs)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    return path


def _read_model(model: str | bytes) -> bytes:
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(model, "rb") as handle:
        return handle.read()


def tflite_ops(model: str | bytes) -> list[str]:
    """Sorted distinct operator names of a .tflite (path or bytes), read from its flatbuffer.

    Builtins by their schema name (``CONV_2D``, ``PRELU``, ...); custom ops as ``CUSTOM:<code>``,
    which includes Flex (select TF) ops, ``CUSTOM:FlexConv2D`` for example.
    """
    from ai_edge_litert import schema_py_generated as schema

    names = {value: key for key, value in vars(schema.BuiltinOperator).items() if not key.startswith("_")}
    flatbuffer = schema.Model.GetRootAs(_read_model(model), 0)
    used = set()
    for index in range(flatbuffer.OperatorCodesLength()):
        code = flatbuffer.OperatorCodes(index)
        # Codes < 127 may live only in the deprecated int8 field (schema v3a compatibility).
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            used.add(f"CUSTOM:{custom.decode() if custom else '?'}")
        else:
            used.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(used)


def non_builtin_ops(model: str | bytes) -> list[str]:
    """The ops of `tflite_ops` that are not TFLite builtins (custom or Flex); [] is the goal."""
    return [name for name in tflite_ops(model) if name.startswith("CUSTOM") or "Flex" in name]


def tflite_interpreter(model: str | bytes, num_threads: int | None = None):
    """An `ai_edge_litert` Interpreter for a .tflite path or its bytes (tensors not yet allocated)."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), num_threads=num_threads)
    return Interpreter(model_path=model, num_threads=num_threads)


def run_tflite(model, image: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Run a .tflite (path, bytes or an Interpreter) on float32 [1, h, w, 3] in [0, 1].

    Returns float32 [1, rh, rw, 3].  A dynamic-size model is resized to the image
    (`resize_tensor_input` + `allocate_tensors`); a fixed-size model must get its own size.
    Quantized (int8/uint8) inputs and outputs are (de)quantized with the tensors' scale and zero
    point.
    """
    interpreter = model if hasattr(model, "get_input_details") else tflite_interpreter(model, num_threads)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image[np.newaxis]
    input_detail = interpreter.get_input_details()[0]
    signature = [int(d) for d in input_detail.get("shape_signature", input_detail["shape"])]
    if list(input_detail["shape"]) != list(image.shape):
        fixed = [(want, got) for want, got in zip(signature, image.shape) if want != -1 and want != got]
        if fixed or len(signature) != image.ndim:
            raise ValueError(f"TFLite model takes input {signature} (-1 = any), got an image of shape {list(image.shape)}")
        interpreter.resize_tensor_input(input_detail["index"], list(image.shape), strict=True)
        interpreter.allocate_tensors()
        input_detail = interpreter.get_input_details()[0]
    else:
        interpreter.allocate_tensors()
    interpreter.set_tensor(input_detail["index"], _quantize(image, input_detail))
    interpreter.invoke()
    output_detail = interpreter.get_output_details()[0]
    return _dequantize(interpreter.get_tensor(output_detail["index"]), output_detail)


def _quantize(image: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return image
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(image / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(output: np.ndarray, detail: dict) -> np.ndarray:
    if np.dtype(detail["dtype"]) == np.float32:
        return np.array(output, dtype=np.float32)
    scale, zero_point = detail["quantization"]
    return ((output.astype(np.float32) - zero_point) * scale).astype(np.float32)
