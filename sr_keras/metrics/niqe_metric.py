"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, IEEE SPL 2013).

A no-reference ("completely blind") score: the distance between a multivariate Gaussian (MVG)
fitted to natural-scene-statistics features of the image and the MVG of pristine natural
images.  Lower is better (pristine photos about 2-4, heavy blur or noise 7 and more).

The computation follows the authors' MATLAB release (`niqe_release.zip`: niqe.m,
computequality.m, computefeature.m, estimateaggdparam.m) step by step:

  1. image -> Y channel as MATLAB's `rgb2ycbcr` of a uint8 image, which returns uint8:
     Y = round(16 + (65.481 R + 128.553 G + 24.966 B) / 255), then double;
  2. cropped (bottom / right) to whole 96 x 96 blocks, no overlap;
  3. at two scales (the image, then MATLAB `imresize(im, 0.5)` bicubic with antialiasing):
     MSCN coefficients (I - mu) / (sigma + 1), mu and sigma from a 7 x 7 Gaussian window
     (`fspecial('gaussian', 7, 7/6)`) with replicated borders (`imfilter(..., 'replicate')`),
     in float32 as the MATLAB reference run (see `niqe_of_y`);
  4. per block (96 px at scale 1, 48 px at scale 2) 18 features: the generalized Gaussian
     fit (alpha, mean of the two AGGD betas) of the coefficients, and for the products with the
     4 neighbours (circular shifts (0,1), (1,0), (1,1), (1,-1) inside the block) the asymmetric
     generalized Gaussian fit (alpha, mean, beta_left, beta_right); moment matching over
     alpha = 0.2:0.001:10 as `estimateaggdparam.m`;
  5. the 36-dimensional block features -> their mean and covariance (NaN rows dropped, as
     `nanmean` / `nancov`), and
     NIQE = sqrt((mu_p - mu_d) pinv((cov_p + cov_d) / 2) (mu_p - mu_d)').

The pristine model (mu_p 1 x 36, cov_p 36 x 36, the release's `modelparameters.mat`) is the file
`niqe_pris_params.npz` next to this module, taken unchanged from BasicSR 1.4.2
(basicsr/metrics/niqe_pris_params.npz, Apache-2.0, https://github.com/XPixelGroup/BasicSR);
see `NOTICE` in this folder.

Checked (tests/metrics/test_niqe.py): MATLAB R2021a running the release gives 5.72957338 on BasicSR's
baboon test image (Y channel), this code 5.7295757; on five distorted TID2013 images (grey, as the
release treats RGB) the release's values as published by IQA-PyTorch, within 0.05 (0.034 measured).
MATLAB's Image Processing Toolbox `niqe` is another implementation with another default model
(defaultNIQEModel.mat, not the release's parameters; e.g. 7.20 instead of the release's 15.75 on
TID2013 I03): its values are not reproduced here.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from sr_keras.metrics.psnr_ssim import rgb_to_y
from sr_keras.ops.imresize import imresize

BLOCK_SIZE = 96  # the release's blocksizerow = blocksizecol = 96, no overlap
WINDOW_SIZE = 7
WINDOW_SIGMA = 7.0 / 6.0
_PRISTINE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "niqe_pris_params.npz")
# estimateaggdparam.m: gam = 0.2:0.001:10 (MATLAB's colon computes 0.2 + k * 0.001).
_ALPHAS = 0.2 + 0.001 * np.arange(9801, dtype=np.float64)
_GAMMA = np.vectorize(math.gamma, otypes=[np.float64])
_R_ALPHAS = _GAMMA(2.0 / _ALPHAS) ** 2 / (_GAMMA(1.0 / _ALPHAS) * _GAMMA(3.0 / _ALPHAS))
# MATLAB rgb2gray: the first row of inv([NTSC RGB -> YIQ]), i.e. 0.2989 R + 0.5870 G + 0.1140 B.
_GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # computefeature.m, (rows, columns) as circshift


@functools.lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """(mu [36], cov [36, 36]) float64 of the MVG fitted to the pristine images of the MATLAB release."""
    with np.load(_PRISTINE_FILE) as params:
        return params["mu_pris_param"].reshape(36).astype(np.float64), params["cov_pris_param"].astype(np.float64)


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """MATLAB fspecial('gaussian', size, sigma): the normalised 2-D Gaussian [size, size], float64."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma**2))
    return window / window.sum()


def _filter_replicate(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MATLAB imfilter(image, window, 'replicate'): 'same'-size correlation, borders replicated."""
    k = window.shape[0]
    pad = k // 2
    padded = np.pad(image, pad, mode="edge")
    h, w = image.shape
    out = np.zeros_like(image)
    for i in range(k):
        for j in range(k):
            out += window[i, j] * padded[i : i + h, j : j + w]
    return out


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (I - mu) / (sigma + 1) of a 2-D image, float32.

    The two filters accumulate in float64 and are stored in float32; the rest is float32 (see `niqe_of_y`).
    """
    image = np.asarray(image, dtype=np.float32)
    window = gaussian_window()
    mu = _filter_replicate(image.astype(np.float64), window).astype(np.float32)
    mean_square = _filter_replicate(np.square(image).astype(np.float64), window).astype(np.float32)
    sigma = np.sqrt(np.abs(mean_square - np.square(mu)))
    return (image - mu) / (sigma + np.float32(1.0))


def aggd_fit(values: np.ndarray) -> tuple[float, float, float]:
    """(alpha, beta_left, beta_right) of an asymmetric generalized Gaussian, by estimateaggdparam.m's moments."""
    values = np.ravel(values)
    left_std = math.sqrt(np.mean(values[values < 0] ** 2)) if np.any(values < 0) else math.nan
    right_std = math.sqrt(np.mean(values[values > 0] ** 2)) if np.any(values > 0) else math.nan
    gamma_hat = left_std / right_std if right_std else math.nan
    mean_square = np.mean(values**2)
    r_hat = np.mean(np.abs(values)) ** 2 / mean_square if mean_square else math.nan
    r_hat_norm = r_hat * (gamma_hat**3 + 1.0) * (gamma_hat + 1.0) / (gamma_hat**2 + 1.0) ** 2
    if math.isnan(r_hat_norm):
        return math.nan, math.nan, math.nan  # a flat block: MATLAB's features are NaN too, dropped later
    alpha = float(_ALPHAS[np.argmin((_R_ALPHAS - r_hat_norm) ** 2)])
    ratio = math.sqrt(math.gamma(1.0 / alpha) / math.gamma(3.0 / alpha))
    return alpha, left_std * ratio, right_std * ratio


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of MSCN coefficients (computefeature.m)."""
    alpha, beta_left, beta_right = aggd_fit(block)
    features = [alpha, (beta_left + beta_right) / 2.0]
    for shift in _SHIFTS:
        alpha, beta_left, beta_right = aggd_fit(block * np.roll(block, shift, axis=(0, 1)))
        mean = (beta_right - beta_left) * math.gamma(2.0 / alpha) / math.gamma(1.0 / alpha) if not math.isnan(alpha) else math.nan
        features += [alpha, mean, beta_left, beta_right]
    return features


def niqe_features(y: np.ndarray, block_size: int = BLOCK_SIZE) -> np.ndarray:
    """[blocks, 36] features of a 2-D [0, 255] luminance image (already cropped or not: cropped here)."""
    y = np.asarray(y, dtype=np.float32)
    rows, cols = y.shape[0] // block_size, y.shape[1] // block_size
    if rows * cols < 2:  # the MVG fit needs a covariance: two blocks at least
        raise ValueError(
            f"NIQE needs at least two whole {block_size}x{block_size} blocks (e.g. {2 * block_size}x{block_size} pixels), "
            f"got a {y.shape[1]}x{y.shape[0]} image"
        )
    image = y[: rows * block_size, : cols * block_size]
    per_scale = []
    for scale in (1, 2):
        coefficients = mscn(image)
        size = block_size // scale
        per_scale.append(
            [block_features(coefficients[r * size : (r + 1) * size, c * size : (c + 1) * size]) for r in range(rows) for c in range(cols)]
        )
        if scale == 1:
            image = imresize(image, scale=0.5).astype(np.float32)
    return np.concatenate([np.asarray(f, dtype=np.float64) for f in per_scale], axis=1)


def niqe_of_y(y: np.ndarray) -> float:
    """NIQE of a 2-D luminance image with values on [0, 255] (integers, as MATLAB's uint8 Y).

    Precision: the MSCN coefficients, the block features and the half-size image are float32, the
    final MVG distance float64.  The result jumps where a block's moment ratio crosses a step of the
    0.001 alpha grid, so precision matters: this choice reproduces the MATLAB R2021a reference on
    baboon to 2e-6 (an all-float64 computation is 3.9e-4 away).
    """
    features = niqe_features(y)
    kept = features[~np.isnan(features).any(axis=1)]
    if len(kept) < 2:
        raise ValueError("NIQE: fewer than two blocks with defined features (flat image?)")
    mu_pristine, cov_pristine = pristine_model()
    difference = mu_pristine - np.nanmean(features, axis=0)
    cov = np.cov(kept, rowvar=False)
    return float(math.sqrt(difference @ np.linalg.pinv((cov_pristine + cov) / 2.0) @ difference))


def niqe(image, convert_to: str = "y") -> float:
    """NIQE (lower is better) of a uint8 RGB image [H, W, 3] (or a uint8 grey / Y image [H, W]).

    convert_to: "y" (the SR papers' and BasicSR's convention): Y of MATLAB's rgb2ycbcr on uint8,
    rounded to integers; "gray": MATLAB's rgb2gray on uint8 (what the release's computequality.m
    and MATLAB's own `niqe` do with an RGB image).  No border is cropped.
    The image must hold at least two whole 96 x 96 blocks (e.g. 192 x 96); only whole blocks from the
    top left are scored.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"niqe expects a uint8 image (values 0..255), got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 3:
        if convert_to == "y":
            y = np.floor(rgb_to_y(image) + 0.5)  # MATLAB rgb2ycbcr(uint8) -> uint8: round half up (values > 0)
        elif convert_to == "gray":
            y = np.floor(image.astype(np.float64) @ _GRAY_WEIGHTS + 0.5)  # rgb2gray(uint8) -> uint8
        else:
            raise ValueError(f"convert_to must be 'y' or 'gray', got {convert_to!r}")
    elif image.ndim == 2:
        y = image.astype(np.float64)
    else:
        raise ValueError(f"niqe expects an RGB [H, W, 3] or grey [H, W] image, got shape {image.shape}")
    return niqe_of_y(y)
