"""Where exports go, without TensorFlow: TF Serving's version folders and the .tflite file names.

A TF Serving model base folder holds integer version folders (``serving/srgan/1/``, ``2/``, ...);
the server loads the highest one that holds a ``saved_model.pb``.  sr-export writes the next free
integer and never reuses one, so a half-written or foreign folder also counts as taken.

No TensorFlow here: sr-export refuses a taken version or an existing .tflite before importing it,
and the model loader resolves a base folder to its newest version the same way.
"""

from __future__ import annotations

import os


def is_saved_model(path: str) -> bool:
    """Whether folder `path` holds a SavedModel (its saved_model.pb)."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def version_folders(model_dir: str, servable_only: bool = False) -> list[int]:
    """The integer version folders of a model base folder, sorted ([] if it does not exist).

    servable_only: only the folders that hold a saved_model.pb (what TF Serving and the loader can load);
    otherwise every integer name, a stray file included (what a new version must not collide with).
    """
    if not os.path.isdir(model_dir):
        return []
    names = [name for name in os.listdir(model_dir) if name.isdigit()]
    if servable_only:
        names = [name for name in names if is_saved_model(os.path.join(model_dir, name))]
    return sorted(int(name) for name in names)


def next_version(model_dir: str) -> int:
    """1 for a new model, else one more than the highest integer name in `model_dir`."""
    versions = version_folders(model_dir)
    return versions[-1] + 1 if versions else 1


def check_version_free(model_dir: str, version: int) -> str:
    """The path of version `version` under `model_dir`; ValueError if it exists (a running TF Serving
    may be serving it), naming the next free version."""
    path = os.path.join(model_dir, str(version))
    if os.path.exists(path):
        raise ValueError(f"{path} already exists; pick another --version (next free: {next_version(model_dir)})")
    return path


def tflite_file_name(model_name: str, quantization: str, input_size: tuple[int, int] | None) -> str:
    """``<model_name>_<quantization>_<HxW|dynamic>.tflite``, e.g. ``srgan_int8_128x128.tflite``."""
    size = "dynamic" if input_size is None else f"{input_size[0]}x{input_size[1]}"
    return f"{model_name}_{quantization}_{size}.tflite"
