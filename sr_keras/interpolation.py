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

A model is given as a `keras.Model` or as a spec string (see `load_model`):
  * ``PATH.keras``         a whole saved Keras model (sr-train writes RUN_DIR/generator.keras);
  * ``PATH.weights.h5``    bare RRDBNet / SRResNet weights (architecture inferred from the file);
  * ``RUN_DIR``            an sr-train run directory: the generator of its latest checkpoint,
                           built from the run's config.json;
  * a shipped model name   e.g. ``realesrgan-x4plus`` (see `sr_keras.weights.pretrained`).
"""

from __future__ import annotations

import os

import keras
import numpy as np

def load_model(spec) -> keras.Model:
    """A generator from a `keras.Model` (returned as is) or a spec string (see the module docstring)."""
    if isinstance(spec, keras.Model):
        return spec
    spec = os.fspath(spec)
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"{spec}: no such model file")
        import sr_keras.archs  # noqa: F401  (registers the custom layers and models)

        return keras.saving.load_model(spec, compile=False)
    if spec.endswith(".weights.h5"):
        from sr_keras.weights.keras_h5 import model_from_weights

        return model_from_weights(spec)
    if os.path.isdir(spec):
        return _load_run_generator(spec)
    from sr_keras.weights import pretrained

    if spec in pretrained.SHIPPED_MODELS:
        return pretrained.load_pretrained(spec)
    if not os.path.exists(spec):
        raise FileNotFoundError(f"{spec}: no such model file or run directory")
    raise ValueError(f"{spec}: expected a .keras file, a .weights.h5 file, an sr-train run directory or a shipped model name")


def _load_run_generator(run_dir: str) -> keras.Model:
    """The generator of an sr-train run directory (config.json + latest checkpoint)."""
    from sr_keras.training import builders
    from sr_keras.training.config import from_dict
    from sr_keras.training.loop import load_run_config

    values = load_run_config(run_dir)
    if not values:
        raise FileNotFoundError(f"{run_dir}: not an sr-train run directory (no config.json)")
    config = from_dict(values, source=os.path.join(run_dir, "config.json"))
    generator = builders.build_generator(config)
    builders.load_generator_weights(generator, run_dir)
    return generator


def _label(model: keras.Model, spec) -> str:
    if isinstance(spec, keras.Model) or spec is None:
        return f"model {model.name!r} ({type(model).__name__})"
    return f"{os.fspath(spec)} ({type(model).__name__})"


def _architecture_config(model: keras.Model) -> dict | None:
    try:
        config = dict(model.get_config())
    except NotImplementedError:
        return None
    config.pop("name", None)  # a name is not architecture
    return config


def _first_difference(a, b, path: str = "") -> str | None:
    """The first place where two (nested) configs differ, as 'key: A vs B', or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return f"config key {where!r}: {a.get(key, '<missing>')!r} vs {b.get(key, '<missing>')!r}"
            found = _first_difference(a[key], b[key], where)
            if found:
                return found
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        for index, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        if len(a) != len(b):
            return f"config key {path!r}: {len(a)} vs {len(b)} entries"
        return None
    if a != b:
        return f"config key {path!r}: {a!r} vs {b!r}"
    return None


def check_compatible(psnr_model: keras.Model, gan_model: keras.Model, psnr_spec=None, gan_spec=None) -> None:
    """Raise ValueError naming both models and the first difference unless they share an architecture."""
    prefix = f"cannot interpolate {_label(psnr_model, psnr_spec)} and {_label(gan_model, gan_spec)}: "
    if type(psnr_model) is not type(gan_model):
        raise ValueError(prefix + f"different model classes {type(psnr_model).__name__} vs {type(gan_model).__name__}")
    config_a, config_b = _architecture_config(psnr_model), _architecture_config(gan_model)
    if config_a is not None and config_b is not None:
        difference = _first_difference(config_a, config_b)
        if difference:
            raise ValueError(prefix + f"architectures differ at {difference}")
    weights_a, weights_b = psnr_model.weights, gan_model.weights
    for index, (a, b) in enumerate(zip(weights_a, weights_b)):
        if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
            raise ValueError(
                prefix + f"weight {index} differs: {a.path} {tuple(a.shape)} {a.dtype} vs {b.path} {tuple(b.shape)} {b.dtype}"
            )
    if len(weights_a) != len(weights_b):
        raise ValueError(prefix + f"different numbers of weights ({len(weights_a)} vs {len(weights_b)})")


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
