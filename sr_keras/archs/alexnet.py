"""torchvision's AlexNet feature extractor (Krizhevsky 2014 "one weird trick" variant) as a Keras model.

torchvision.models.alexnet().features, layer by layer (PyTorch padding made explicit):
  conv1 11x11/4, 64, pad 2 -> ReLU -> max-pool 3/2 -> conv2 5x5, 192, pad 2 -> ReLU -> max-pool 3/2
  -> conv3 3x3, 384, pad 1 -> ReLU -> conv4 3x3, 256, pad 1 -> ReLU -> conv5 3x3, 256, pad 1 -> ReLU
(the last max-pool is not part of what LPIPS uses and is left out).  The model outputs the five
ReLU activations [relu1 ... relu5], the feature taps of LPIPS (Zhang et al. 2018).
Input: [N, H, W, 3] float, normalised by the caller; H, W >= 63 for a non-empty relu5.
"""

from __future__ import annotations

import keras

# (filters, kernel, stride, padding, max-pool before this conv)
_CONVS = ((64, 11, 4, 2, False), (192, 5, 1, 2, True), (384, 3, 1, 1, True), (256, 3, 1, 1, False), (256, 3, 1, 1, False))


def alexnet_features(name: str = "alexnet_features") -> keras.Model:
    """Functional AlexNet features: [N, H, W, 3] -> [relu1 (64), relu2 (192), relu3 (384), relu4 (256), relu5 (256)]."""
    inputs = keras.Input((None, None, 3), name="image")
    x, taps = inputs, []
    for i, (filters, kernel, stride, padding, pool_first) in enumerate(_CONVS, start=1):
        if pool_first:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name=f"pool{i - 1}")(x)
        x = keras.layers.ZeroPadding2D(padding, name=f"pad{i}")(x)
        x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid", activation="relu", name=f"conv{i}")(x)
        taps.append(x)
    return keras.Model(inputs, taps, name=name)
