"""THE model loader: one string names a model in every program (`--model`, `--init_generator`,
`--psnr_model`...) and in the Python API.

A model spec is one of (checked in this order):

  ``bicubic``              MATLAB bicubic interpolation, the papers' baseline (an upscaler only);
  a shipped name           krasserm-srresnet, krasserm-srgan, realesrgan-x4plus,
                           realesrgan-x4plus-anime, realsr-df2k-x4: weights from pip packages,
                           offline (`sr_keras.weights.pretrained.SHIPPED_MODELS`);
  ``PATH.keras``           a whole Keras model (sr-train's RUN_DIR/generator.keras, model.save);
  ``PATH.weights.h5``      bare weights of an RRDBNet or SRResNet (e.g. from sr-import-pytorch):
                           the architecture is inferred from the weight shapes;
  a SavedModel directory   from sr-export (``serving/srgan/2``): its ``serve_float`` signature
                           (an upscaler only; it holds no Keras model);
  a SavedModel base dir    ``serving/srgan`` with version folders 1/, 2/, ...: the highest version,
                           TF Serving's default rule (``latest``);
  an sr-train run dir      a folder with config.json and checkpoints/: the generator of the
                           newest intact checkpoint, built from the run's config.

Models are named by their shipped name, their file name, or their folder name (a SavedModel version
folder is named by its model folder: ``serving/srgan/2`` is ``srgan``).

  load_generator(spec)          -> keras.Model (every spec but bicubic and SavedModels)
  load_upscaler(spec, scale)    -> sr_keras.inference.Upscaler (every spec)
  init_generator_weights(g, s)  copies the weights of spec `s` into generator `g`, refusing a
                                source whose architecture differs (sr-train --init_generator)
"""

from __future__ import annotations

import dataclasses
import os

from sr_keras.export_paths import is_saved_model, version_folders


def shipped_names() -> list[str]:
    from sr_keras.weights.pretrained import SHIPPED_MODELS

    return sorted(SHIPPED_MODELS)


def accepted_forms(keras_only: bool = False) -> str:
    """What a model spec may be, with the shipped names, as one phrase.

    keras_only: the forms that give a Keras model (export, init_generator, interpolation), i.e.
    without bicubic and SavedModels.
    """
    shipped = f"a shipped name ({', '.join(shipped_names())})"
    files = "a .keras file, an RRDBNet/SRResNet .weights.h5 file, an sr-train run dir (newest intact checkpoint)"
    if keras_only:
        return f"{shipped}, {files}"
    return f"bicubic, {shipped}, {files}, a SavedModel dir from sr-export, or a SavedModel base dir (its newest version)"


def model_help(keras_only: bool = False) -> str:
    """The --model help text of every program: the shipped names and every accepted form."""
    return f"One of: {accepted_forms(keras_only)}."


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A resolved model spec: what `text` names (kind), where (path) and under which name."""

    text: str
    kind: str  # bicubic, shipped, keras, weights_h5, saved_model, run_dir
    path: str  # the file or folder to read ("" for bicubic and shipped names)
    name: str  # for tables and messages


def _folder_name(path: str) -> str:
    return os.path.basename(os.path.normpath(os.path.abspath(path)))


def resolve(spec) -> ModelSpec:
    """Classify a spec (see the module docstring); FileNotFoundError / ValueError name the problem."""
    from sr_keras.weights.pretrained import SHIPPED_MODELS

    text = os.fspath(spec)
    if text == "bicubic":
        return ModelSpec(text, "bicubic", "", "bicubic")
    if text in SHIPPED_MODELS:
        return ModelSpec(text, "shipped", "", text)
    if text.endswith(".keras") or text.endswith(".weights.h5"):
        if not os.path.isfile(text):
            raise FileNotFoundError(f"{text}: no such model file")
        return ModelSpec(text, "keras" if text.endswith(".keras") else "weights_h5", text, os.path.basename(text))
    if os.path.isdir(text):
        if is_saved_model(text):
            name = _folder_name(text)
            if name.isdigit():  # a version folder: named by its model folder
                name = _folder_name(os.path.dirname(os.path.abspath(text)))
            return ModelSpec(text, "saved_model", text, name)
        if os.path.isfile(os.path.join(text, "config.json")):
            return ModelSpec(text, "run_dir", text, _folder_name(text))
        versions = version_folders(text, servable_only=True)
        if versions:
            return ModelSpec(text, "saved_model", os.path.join(text, str(versions[-1])), _folder_name(text))
        raise ValueError(
            f"{text}: a folder that is neither a SavedModel (no saved_model.pb), a SavedModel base dir "
            "(no version folder 1/, 2/... with a saved_model.pb) nor an sr-train run dir (no config.json)"
        )
    if os.path.exists(text):
        raise ValueError(f"{text}: not a model file (expected a .keras or .weights.h5 file)")
    raise ValueError(f"unknown model {text!r}: expected {accepted_forms()}")


# ------------------------------------------------------------------------------- Keras generators


def _load_run_generator(run_dir: str):
    """The generator of an sr-train run dir: built from config.json, weights of its newest intact checkpoint.

    A newer checkpoint that is missing or damaged (a run killed while saving) is skipped with a warning,
    as sr-train does when it resumes.  Every generator variable must come from the checkpoint: ValueError
    naming each checkpoint and why otherwise, FileNotFoundError if there is none.
    """
    import tensorflow as tf

    from sr_keras.training import builders
    from sr_keras.training.config import from_dict
    from sr_keras.training.loop import restore_newest_intact
    from sr_keras.training.run_folder import load_run_config

    config = from_dict(load_run_config(run_dir), source=os.path.join(run_dir, "config.json"))
    generator = builders.build_generator(config)
    checkpoints = os.path.join(run_dir, "checkpoints")
    try:
        restored = restore_newest_intact(tf.train.Checkpoint(generator=generator), checkpoints, advice="")
    except RuntimeError as error:
        raise ValueError(f"{error}: none holds the run's generator as config.json describes it") from None
    if restored is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint in {checkpoints}")
    return generator


def load_generator(spec):
    """A Keras generator (float32 RGB [0, 1] in and out) from a keras.Model (returned as is) or a spec."""
    import keras

    if isinstance(spec, keras.Model):
        return spec
    resolved = resolve(spec)
    if resolved.kind == "shipped":
        from sr_keras.weights import pretrained

        return pretrained.load_pretrained(resolved.text)
    if resolved.kind == "keras":
        import zipfile

        import sr_keras.archs  # noqa: F401  (registers the custom layers and models)

        if not zipfile.is_zipfile(resolved.path):  # Keras would say "File not found"
            raise ValueError(f"{resolved.path}: not a readable .keras file (a .keras model is a zip archive; this one is truncated or corrupt)")
        return keras.saving.load_model(resolved.path, compile=False)
    if resolved.kind == "weights_h5":
        from sr_keras.weights.keras_h5 import model_from_weights

        return model_from_weights(resolved.path)
    if resolved.kind == "run_dir":
        return _load_run_generator(resolved.path)
    what = "bicubic interpolation" if resolved.kind == "bicubic" else f"a SavedModel ({resolved.path})"
    raise ValueError(f"{resolved.text}: {what} is not a Keras model; expected {accepted_forms(keras_only=True)}")


def load_upscaler(spec, scale: int = 4):
    """An `Upscaler` (uint8 [H, W, 3] -> float32 [0, 1] [sH, sW, 3]) for any spec; `scale` is used
    by ``bicubic`` only (models carry their own)."""
    import keras

    from sr_keras import inference

    if isinstance(spec, keras.Model):
        return inference.keras_upscaler(spec, spec.name)
    resolved = resolve(spec)
    if resolved.kind == "bicubic":
        return inference.bicubic_upscaler(scale)
    if resolved.kind == "saved_model":
        return _saved_model_upscaler(resolved)
    # The loaded generator belongs to this upscaler alone, so it may run in its inference form
    # (batch norm folded into the convolutions; measured in benchmarks/RESULTS.md, Zen 3 experiments).
    from sr_keras.archs.fold_batch_norm import inference_form

    return inference.keras_upscaler(inference_form(load_generator(resolved.text)), resolved.name)


def _saved_model_upscaler(resolved: ModelSpec):
    import tensorflow as tf

    from sr_keras.inference import Upscaler

    loaded = tf.saved_model.load(resolved.path)
    if "serve_float" not in loaded.signatures:
        raise ValueError(f"{resolved.path}: SavedModel has no 'serve_float' signature (found {list(loaded.signatures)})")
    signature = loaded.signatures["serve_float"]
    probe = signature(tf.zeros([1, 8, 8, 3]))
    output_key = next(iter(probe))
    run = lambda x: signature(tf.constant(x))[output_key].numpy()  # noqa: E731
    upscaler = Upscaler(resolved.name, int(probe[output_key].shape[1]) // 8, run)
    upscaler.loaded = loaded  # keeps the SavedModel's resources alive with the upscaler
    return upscaler


# ------------------------------------------------------------------------- architecture checks


def architecture_config(model) -> dict | None:
    """A model's get_config() without its name (a name is not architecture), None if it has none."""
    try:
        config = dict(model.get_config())
    except NotImplementedError:
        return None
    config.pop("name", None)
    return config


def first_difference(a, b, path: str = "") -> str | None:
    """The first place where two (nested) configs differ, as 'config key K: A vs B', or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return f"config key {where!r}: {a.get(key, '<missing>')!r} vs {b.get(key, '<missing>')!r}"
            found = first_difference(a[key], b[key], where)
            if found:
                return found
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        for index, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        if len(a) != len(b):
            return f"config key {path!r}: {len(a)} vs {len(b)} entries"
        return None
    if a != b:
        return f"config key {path!r}: {a!r} vs {b!r}"
    return None


def architecture_difference(a, b) -> str | None:
    """Why two models do not share an architecture (class, config, weight shapes), or None."""
    if type(a) is not type(b):
        return f"different model classes {type(a).__name__} vs {type(b).__name__}"
    config_a, config_b = architecture_config(a), architecture_config(b)
    if config_a is not None and config_b is not None:
        difference = first_difference(config_a, config_b)
        if difference:
            return f"architectures differ at {difference}"
    for index, (x, y) in enumerate(zip(a.weights, b.weights)):
        if tuple(x.shape) != tuple(y.shape) or x.dtype != y.dtype:
            return f"weight {index} differs: {x.path} {tuple(x.shape)} {x.dtype} vs {y.path} {tuple(y.shape)} {y.dtype}"
    if len(a.weights) != len(b.weights):
        return f"different numbers of weights ({len(a.weights)} vs {len(b.weights)})"
    return None


def init_generator_weights(generator, spec) -> None:
    """Set every weight of `generator` from the model `spec` names (sr-train --init_generator).

    The source is loaded with `load_generator` (a run dir's checkpoint must hold every generator
    weight) and must have the same architecture as `generator` (class, config but the name, weight
    shapes): ValueError naming the spec and the first difference otherwise, so no layer is ever
    left at its random initialisation.
    """
    source = load_generator(spec)
    difference = architecture_difference(source, generator)
    if difference:
        raise ValueError(f"init_generator {os.fspath(spec)}: does not match the generator to train: {difference}")
    generator.set_weights(source.get_weights())
