"""Exporting a generator for serving: TF Serving SavedModels and TFLite/LiteRT models.

Every export derives from ONE serving function, `serving.make_serve(model)`:

    serve(image) = clip(model(image), 0, 1)      float32 [N, H, W, 3] in [0, 1] -> [N, rH, rW, 3]

The package, one concern per module:
  serving.py      `make_serve`, the SavedModel signatures (uint8, encoded bytes, float) built on it,
                  with the request pixel limit and in-graph tiling (bounded memory);
  saved_model.py  TF Serving SavedModels (`export_saved_model`: <dir>/<model_name>/<version>/);
  tflite.py       TFLite conversion of the same `serve` (float32, float16, dynamic_int8, int8);
  litert.py       the LiteRT runtime: `run_tflite`, `tflite_ops`, int8 scale / zero point.
Version folders and .tflite file names come from `sr_keras.export_paths` (no TensorFlow: sr-export
checks them before importing it).
Everything is re-exported here (`from sr_keras import export; export.export_saved_model(...)`).
"""

from __future__ import annotations

from sr_keras.export.litert import (  # noqa: F401
    int8_io_quantization,
    non_builtin_ops,
    run_tflite,
    tflite_interpreter,
    tflite_ops,
)
from sr_keras.export.saved_model import build_export_archive, export_saved_model  # noqa: F401
from sr_keras.export.serving import (  # noqa: F401
    DEFAULT_MAX_INPUT_PIXELS,
    IMAGE_BYTES_KEY,
    IMAGE_KEY,
    PNG_BYTES_KEY,
    SERVE_FLOAT,
    SERVE_IMAGE_BYTES,
    SERVING_DEFAULT,
    SIGNATURES,
    encoded_image_size,
    float_to_uint8,
    make_serve,
    serving_signatures,
    tile_plan,
)
from sr_keras.export.tflite import (  # noqa: F401
    TFLITE_QUANTIZATIONS,
    convert_tflite,
    default_representative_images,
    export_tflite,
    representative_crops,
    tflite_friendly,
)
from sr_keras.export_paths import next_version, tflite_file_name, version_folders  # noqa: F401


def load_keras_model(spec: str):
    """A Keras generator from a model spec, through the one model loader (`sr_keras.loader`):
    a .keras / .weights.h5 file, an sr-train run dir or a shipped name (bicubic and SavedModels
    are not Keras models and cannot be exported)."""
    from sr_keras.loader import load_generator

    return load_generator(spec)


def model_scale(model) -> int:
    """The generator's upscaling factor (its config's `scale`, else measured)."""
    from sr_keras.inference import model_scale as _model_scale

    return _model_scale(model)
