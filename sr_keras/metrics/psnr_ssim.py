"""The SR papers' evaluation protocol: PSNR and SSIM on the Y channel, border crop = scale.

Protocol (SPEC "Evaluation protocol"):
  * inputs are uint8 RGB images (SR outputs are rounded to uint8 first: `to_uint8`);
  * Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1] (MATLAB `rgb2ycbcr`), kept
    in float64 on [0, 255] (not rounded);
  * `crop` pixels are removed from every border (crop = scale);
  * SSIM: Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, 'valid' filtering
    (Wang et al. 2004, `ssim_index.m`); per channel and averaged for RGB.

Numpy functions (float64) are the reference for evaluation; `psnr_tf`/`ssim_tf` compute the same
quantities in float32 TF ops for validation inside training.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03
_PEAK = 255.0


def to_uint8(image) -> np.ndarray:
    """[0, 1] float image -> uint8 [0, 255]: clipped, rounded half up as MATLAB's im2uint8."""
    return np.floor(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """uint8 (or [0, 255]-valued) RGB [..., 3] -> float64 Y in [16, 235] (MATLAB rgb2ycbcr)."""
    image = np.asarray(image, dtype=np.float64) / 255.0
    return 16.0 + image @ _Y_WEIGHTS


def _prepare(reference: np.ndarray, test: np.ndarray, crop: int, channel: str) -> tuple[np.ndarray, np.ndarray]:
    reference = np.asarray(reference)
    test = np.asarray(test)
    if reference.shape != test.shape:
        raise ValueError(f"image shapes differ: reference {reference.shape} vs test {test.shape}")
    if reference.ndim != 3 or reference.shape[-1] != 3:
        raise ValueError(f"expected [H, W, 3] RGB images, got {reference.shape}")
    if channel == "y":
        reference, test = rgb_to_y(reference), rgb_to_y(test)
    elif channel == "rgb":
        reference, test = reference.astype(np.float64), test.astype(np.float64)
    else:
        raise ValueError(f"channel must be 'y' or 'rgb', got {channel!r}")
    if crop:
        reference = reference[crop:-crop, crop:-crop]
        test = test[crop:-crop, crop:-crop]
    if reference.shape[0] < 1 or reference.shape[1] < 1:
        raise ValueError(f"border crop {crop} leaves no pixels of a {reference.shape} image")
    return reference, test


def _mse(reference: np.ndarray, test: np.ndarray, crop: int, channel: str) -> float:
    reference, test = _prepare(reference, test, crop, channel)
    return float(np.mean((reference - test) ** 2))


def psnr(reference: np.ndarray, test: np.ndarray, crop: int = 0, channel: str = "y") -> float:
    """PSNR in dB between two uint8 RGB images [H, W, 3]; `channel` 'y' (papers) or 'rgb'."""
    mse = _mse(reference, test, crop, channel)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(_PEAK**2 / mse))


def rmse(reference: np.ndarray, test: np.ndarray, crop: int = 0, channel: str = "y") -> float:
    """Root mean squared error on [0, 255] between two uint8 RGB images, >= 0 (lower is better).

    The distortion axis of the PIRM 2018 challenge and of ESRGAN's perception-distortion plane
    (Fig. 2): the Y channel after a `crop`-pixel border crop (the scale), like PSNR; the two are
    one number, PSNR = 20 log10(255 / RMSE).
    """
    return float(np.sqrt(_mse(reference, test, crop, channel)))


def gaussian_window(size: int = _SSIM_WINDOW, sigma: float = _SSIM_SIGMA) -> np.ndarray:
    """1-D normalised Gaussian (MATLAB fspecial('gaussian') is its outer product)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(image: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D image with the outer product of g."""
    k = len(g)
    h, w = image.shape
    rows = sum(g[i] * image[i : h - k + 1 + i, :] for i in range(k))
    return sum(g[j] * rows[:, j : w - k + 1 + j] for j in range(k))


def _ssim_single(x: np.ndarray, y: np.ndarray) -> float:
    if min(x.shape) < _SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels after cropping, got {x.shape}")
    g = gaussian_window()
    c1 = (_SSIM_K1 * _PEAK) ** 2
    c2 = (_SSIM_K2 * _PEAK) ** 2
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    sigma_x = _filter_valid(x * x, g) - mu_x**2
    sigma_y = _filter_valid(y * y, g) - mu_y**2
    sigma_xy = _filter_valid(x * y, g) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sigma_x + sigma_y + c2))
    return float(ssim_map.mean())


def ssim(reference: np.ndarray, test: np.ndarray, crop: int = 0, channel: str = "y") -> float:
    """SSIM (Wang et al. 2004) between two uint8 RGB images; RGB averages the three channels."""
    reference, test = _prepare(reference, test, crop, channel)
    if reference.ndim == 2:
        return _ssim_single(reference, test)
    return float(np.mean([_ssim_single(reference[..., c], test[..., c]) for c in range(reference.shape[-1])]))


# --- TF face, for validation inside training (float32, batched) --------------------------------


def quantize_tf(image: tf.Tensor) -> tf.Tensor:
    """[0, 1] float -> float32 [0, 255] rounded to integers exactly as `to_uint8` (kept as float)."""
    return tf.floor(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 1.0) * 255.0 + 0.5)


def rgb_to_y_tf(image: tf.Tensor) -> tf.Tensor:
    """[0, 255] RGB [..., 3] -> Y [..., 1] in [16, 235] (float32)."""
    weights = tf.constant(_Y_WEIGHTS / 255.0, tf.float32)
    return 16.0 + tf.reduce_sum(tf.cast(image, tf.float32) * weights, axis=-1, keepdims=True)


def _prepare_tf(reference, test, crop: int, channel: str):
    reference, test = quantize_tf(reference), quantize_tf(test)
    if channel == "y":
        reference, test = rgb_to_y_tf(reference), rgb_to_y_tf(test)
    elif channel != "rgb":
        raise ValueError(f"channel must be 'y' or 'rgb', got {channel!r}")
    if crop:
        reference = reference[:, crop:-crop, crop:-crop, :]
        test = test[:, crop:-crop, crop:-crop, :]
    return reference, test


def psnr_tf(reference: tf.Tensor, test: tf.Tensor, crop: int = 0, channel: str = "y") -> tf.Tensor:
    """Per-image PSNR [N] (dB) of [N, H, W, 3] images in [0, 1], quantised to 8 bits first."""
    reference, test = _prepare_tf(reference, test, crop, channel)
    mse = tf.reduce_mean(tf.square(reference - test), axis=[1, 2, 3])
    return 10.0 * tf.math.log(_PEAK**2 / mse) / tf.math.log(10.0)


def ssim_tf(reference: tf.Tensor, test: tf.Tensor, crop: int = 0, channel: str = "y") -> tf.Tensor:
    """Per-image SSIM [N] of [N, H, W, 3] images in [0, 1], quantised to 8 bits first."""
    reference, test = _prepare_tf(reference, test, crop, channel)
    return tf.image.ssim(
        reference, test, max_val=_PEAK, filter_size=_SSIM_WINDOW, filter_sigma=_SSIM_SIGMA, k1=_SSIM_K1, k2=_SSIM_K2
    )
