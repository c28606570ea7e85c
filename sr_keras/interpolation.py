"""Network interpolation (ESRGAN, Wang et al. 2018, Sec. 3.4).

Two generators of the same architecture, a PSNR-oriented one (ESRGAN stage 1) and the GAN one
fine-tuned from it (stage 2), are blended weight by weight:

    theta = (1 - alpha) * theta_PSNR + alpha * theta_GAN,   alpha in [0, 1]

which trades PSNR (alpha = 0) for perceptual quality (alpha = 1) without retraining.  Every
floating-point weight is interpolated, the non-trainable ones included (batch-norm moving means
and variances blend the same way); weights that are not floating point (integer counters, seed
states) are not blended and are taken from the nearer endpoint.  The blend is computed in float64
and cast back to each weight's dtype; alpha = 0 and alpha = 1 return the endpoint's arrays
unchanged, so the interpolated network reproduces that endpoint bit for bit.

A model is given as a `keras.Model` or as a spec string resolved by THE model loader
(`sr_keras.loader.load_generator`): a ``.keras`` file, a ``.weights.h5`` file, an sr-train run
directory (its newest intact checkpoint) or a shipped model name (e.g. ``realesrgan-x4plus``).
"""

from __future__ import annotations

import os

import keras
import numpy as np


def load_model(spec) -> keras.Model:
    """A generator from a `keras.Model` (returned as is) or a spec: `sr_keras.loader.load_generator`."""
    from sr_keras import loader

    return loader.load_generator(spec)


def _label(model: keras.Model, spec) -> str:
    if isinstance(spec, keras.Model) or spec is None:
        return f"model {model.name!r} ({type(model).__name__})"
    return f"{os.fspath(spec)} ({type(model).__name__})"


def check_compatible(psnr_model: keras.Model, gan_model: keras.Model, psnr_spec=None, gan_spec=None) -> None:
    """Raise ValueError naming both models and the first difference unless they share an architecture."""
    from sr_keras.loader import architecture_difference

    difference = architecture_difference(psnr_model, gan_model)
    if difference:
        raise ValueError(f"cannot interpolate {_label(psnr_model, psnr_spec)} and {_label(gan_model, gan_spec)}: {difference}")


def check_alpha(alpha) -> float:
    """alpha as a float, or ValueError unless it is a number in [0, 1]."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    return value


def _blend(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    if alpha == 0.0:
        return a
    if alpha == 1.0:
        return b
    if not np.issubdtype(a.dtype, np.floating) and a.dtype.name != "bfloat16":
        return a if alpha <= 0.5 else b  # not blended: the nearer endpoint
    mixed = (1.0 - alpha) * a.astype(np.float64) + alpha * b.astype(np.float64)
    return mixed.astype(a.dtype)


def interpolate_weights(psnr_model, gan_model, alpha: float) -> list[np.ndarray]:
    """theta = (1 - alpha) * theta_PSNR + alpha * theta_GAN for every weight, in `model.weights` order.

    Both models are keras.Models or specs (see `load_model`) of the same architecture (ValueError
    otherwise); alpha must be in [0, 1].  Returns numpy arrays in the dtypes of the weights.
    """
    alpha = check_alpha(alpha)
    psnr, gan = load_model(psnr_model), load_model(gan_model)
    check_compatible(psnr, gan, psnr_model, gan_model)
    return [_blend(a, b, alpha) for a, b in zip(psnr.get_weights(), gan.get_weights())]


def same_architecture(model: keras.Model) -> keras.Model:
    """A new, freshly initialised model of `model`'s architecture (class and config)."""
    try:
        return type(model).from_config(model.get_config())
    except (NotImplementedError, TypeError):
        return keras.models.clone_model(model)


def interpolate_models(psnr_model, gan_model, alpha: float) -> keras.Model:
    """A new model of the shared architecture holding `interpolate_weights(psnr, gan, alpha)`."""
    alpha = check_alpha(alpha)
    psnr, gan = load_model(psnr_model), load_model(gan_model)
    weights = interpolate_weights(psnr, gan, alpha)
    model = same_architecture(psnr)
    model.set_weights(weights)
    return model


class Interpolator:
    """One target network reused for many alphas (a sweep): `set_alpha(a)` rewrites its weights.

    The two endpoint weight lists are read once; the target model keeps its identity, so a
    `tf.function` wrapping it (e.g. `sr_keras.inference.keras_upscaler`) is traced only once.
    """

    def __init__(self, psnr_model, gan_model):
        psnr, gan = load_model(psnr_model), load_model(gan_model)
        check_compatible(psnr, gan, psnr_model, gan_model)
        self.psnr_weights = psnr.get_weights()
        self.gan_weights = gan.get_weights()
        self.model = same_architecture(psnr)
        self.alpha = None

    def set_alpha(self, alpha: float) -> keras.Model:
        alpha = check_alpha(alpha)
        self.model.set_weights([_blend(a, b, alpha) for a, b in zip(self.psnr_weights, self.gan_weights)])
        self.alpha = alpha
        return self.model
