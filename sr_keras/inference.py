"""Upscaling images with a model named by one string: the Python API behind sr-eval and sr-upscale.

A model spec is one of
  * ``bicubic``                     MATLAB bicubic interpolation (the papers' baseline);
  * a shipped name                  e.g. ``realesrgan-x4plus`` (see `sr_keras.weights.pretrained`);
  * ``PATH.keras``                  a whole Keras model saved by sr-train / model.save;
  * a SavedModel directory          exported by sr-export (its ``serve_float`` signature).
Every upscaler maps uint8 RGB [H, W, 3] to float32 [0, 1] RGB [sH, sW, 3] (not yet rounded).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from sr_keras.ops.imresize import imresize


@dataclasses.dataclass
class Upscaler:
    """A named x`scale` upscaler: `__call__(uint8 [H, W, 3]) -> float32 [0, 1] [sH, sW, 3]`."""

    name: str
    scale: int
    upscale_float: Callable[[np.ndarray], np.ndarray]  # float32 [1, h, w, 3] in [0, 1] -> [1, sh, sw, 3]

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        lr = np.asarray(lr)
        if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[-1] != 3:
            raise ValueError(f"{self.name}: expected a uint8 [H, W, 3] image, got {lr.dtype} {lr.shape}")
        return np.asarray(self.upscale_float(lr[None].astype(np.float32) / 255.0))[0]


def bicubic_upscaler(scale: int) -> Upscaler:
    """MATLAB `imresize(lr, scale, 'bicubic')`."""
    return Upscaler("bicubic", scale, lambda x: imresize(x[0], scale=scale)[None].astype(np.float32))


def keras_upscaler(model, name: str) -> Upscaler:
    """Wrap a Keras generator (float32 [0, 1] in and out); the scale is read from the model."""
    scale = model_scale(model)
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return Upscaler(name, scale, lambda x: predict(tf.constant(x)).numpy())


def model_scale(model) -> int:
    """A generator's upscaling factor: its config's `scale`, else measured on a 16x16 input."""
    scale = model.get_config().get("scale") if hasattr(model, "get_config") else None
    if scale:
        return int(scale)
    probe = model(tf.zeros([1, 16, 16, 3]), training=False)
    return int(probe.shape[1]) // 16


def load_upscaler(spec: str, scale: int = 4) -> Upscaler:
    """Resolve a model spec (see the module docstring); `scale` is used only by ``bicubic``."""
    if spec == "bicubic":
        return bicubic_upscaler(scale)
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"{spec}: no such model file")
        import keras

        import sr_keras.archs  # noqa: F401  (registers the custom layers and models)

        return keras_upscaler(keras.saving.load_model(spec, compile=False), os.path.basename(spec))
    if os.path.isdir(spec) and os.path.isfile(os.path.join(spec, "saved_model.pb")):
        loaded = tf.saved_model.load(spec)
        if "serve_float" not in loaded.signatures:
            raise ValueError(f"{spec}: SavedModel has no 'serve_float' signature (found {list(loaded.signatures)})")
        signature = loaded.signatures["serve_float"]
        probe = signature(tf.zeros([1, 8, 8, 3]))
        output_key = next(iter(probe))
        run = lambda x: signature(tf.constant(x))[output_key].numpy()  # noqa: E731
        return Upscaler(os.path.basename(os.path.normpath(spec)), int(probe[output_key].shape[1]) // 8, run)
    from sr_keras.weights import pretrained

    if spec in pretrained.SHIPPED_MODELS:
        return keras_upscaler(pretrained.load_pretrained(spec), spec)
    raise ValueError(
        f"unknown model {spec!r}: expected 'bicubic', a shipped name ({', '.join(sorted(pretrained.SHIPPED_MODELS))}), "
        "a .keras file or a SavedModel directory"
    )
