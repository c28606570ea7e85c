"""Which optional weights packages are installed; tests of shipped models skip without them,
except under CI (CI=true), where a missing package is a failure: CI installs sr_keras[pretrained]."""

import importlib.util
import os

import numpy as np
import pytest


def require_package(package: str, requirement: str) -> None:
    """Skip the calling test unless `package` is importable; under CI fail instead."""
    if importlib.util.find_spec(package) is not None:
        return
    message = f"{package} is not installed: pip install {requirement} (or sr_keras[pretrained])"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must install it: {message}")
    pytest.skip(message)


def photo_crop(top: int, left: int, size: int) -> np.ndarray:
    """A size x size crop of the embedded Grace Hopper photo (public domain), float32 RGB [0, 1]."""
    from sr_keras.data import sources

    image = {item.name: item.image for item in sources.load_embedded()}["grace_hopper.jpg"]
    return image[top : top + size, left : left + size].astype(np.float32) / 255.0


def conv2d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Plain 'same' (zero-padded) stride-1 convolution in float64: x [H, W, Cin], kernel [kh, kw, Cin, Cout]."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    height, width, channels = x.shape
    columns = np.empty((height, width, kh, kw, channels))  # im2col
    for i in range(kh):
        for j in range(kw):
            columns[:, :, i, j] = padded[i : i + height, j : j + width]
    out = columns.reshape(height * width, -1) @ kernel.astype(np.float64).reshape(-1, kernel.shape[3])
    return out.reshape(height, width, -1) + bias.astype(np.float64)
