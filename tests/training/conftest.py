"""Shared harness for training tests: tiny photos on disk and tiny configs that train in seconds."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from sr_keras.training.config import TrainConfig


def smooth_photo(seed: int, height: int = 40, width: int = 48) -> np.ndarray:
    """A smooth random 'photo' (sum of sinusoids), uint8 RGB: learnable, unlike white noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width, 3))
    for _ in range(4):
        fy, fx = rng.uniform(0.05, 0.4, 2)
        phase = rng.uniform(0, 2 * np.pi, 3)
        image += np.sin(fy * yy[..., None] + fx * xx[..., None] + phase) * rng.uniform(20, 50, 3)
    return np.clip(128 + image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        Image.fromarray(smooth_photo(i)).save(folder / f"photo{i}.png")
    return str(folder)


def tiny_config(photo_dir: str, **overrides) -> TrainConfig:
    """SRResNet with 1 block of 8 features, 16 px crops, batch 4: a real config, shrunk.

    Without XLA by default (compiling costs the tests more than it saves); the XLA train steps have
    their own tests (test_train_steps, jit_compile=True)."""
    values = dict(
        generator="srresnet",
        num_blocks=1,
        num_features=8,
        data=photo_dir,
        crop_size=16,
        batch_size=4,
        steps=4,
        checkpoint_every=2,
        log_every=1,
        learning_rate=1e-3,
        jit_compile=False,
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture
def make_config(photo_dir):
    return lambda **overrides: tiny_config(photo_dir, **overrides)


def replace(config: TrainConfig, **changes) -> TrainConfig:
    return dataclasses.replace(config, **changes)


def rates_in_force(config: TrainConfig) -> list[float]:
    """The training optimizer's learning rate from the first update and from each milestone on."""
    from sr_keras.training import builders

    schedule = builders.learning_rate_schedule(config)
    return [float(schedule(step)) for step in (0, *config.lr_milestones)]
