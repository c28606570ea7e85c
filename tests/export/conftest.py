"""Shared fixtures for the export tests: tiny generators whose outputs are worth comparing.

Freshly initialised generators output small values, mostly clipped to 0, and their BN layers have
identity moving statistics.  `tiny_model` shifts the last bias to 0.5 (outputs spread over [0, 1]
instead of being clipped) and gives BN random moving statistics (an export that ran BN in training
mode would differ).
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from benchmarks.inference import spread_outputs
from sr_keras import export, metrics
from sr_keras.archs import RRDBNet, SRResNet

ARCHS = ("srresnet", "rrdbnet")


def tiny_model(arch: str, seed: int = 0):
    keras.utils.set_random_seed(seed)
    if arch == "srresnet":
        model = SRResNet(num_blocks=1, num_features=8)
    else:
        model = RRDBNet(num_blocks=1, num_features=8, growth=4)
    spread_outputs(model, seed)
    return model


@pytest.fixture(scope="session")
def models():
    return {arch: tiny_model(arch) for arch in ARCHS}


def keras_float(model, image: np.ndarray) -> np.ndarray:
    """The reference: clip(model(x), 0, 1) in float32."""
    return np.clip(model(np.asarray(image, np.float32), training=False).numpy(), 0.0, 1.0)


def keras_uint8(model, image_uint8: np.ndarray) -> np.ndarray:
    """The reference for uint8 signatures: round-half-up of the clipped float output."""
    return metrics.to_uint8(keras_float(model, image_uint8.astype(np.float32) / 255.0))


@pytest.fixture(scope="session")
def saved_models(models, tmp_path_factory):
    """Both tiny generators exported as <base>/tiny_<arch>/1: {arch: (version path, model)}."""
    base = tmp_path_factory.mktemp("serving")
    return {arch: (export.export_saved_model(model, str(base), f"tiny_{arch}"), model) for arch, model in models.items()}


@pytest.fixture(scope="session")
def saved_model(saved_models):
    """The tiny SRResNet's SavedModel: (version path, model)."""
    return saved_models["srresnet"]


def cli_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def saved_model_cli(*args, timeout=180):
    """Run the `saved_model_cli` installed next to this Python."""
    executable = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([executable, *args], capture_output=True, text=True, timeout=timeout, env=cli_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
