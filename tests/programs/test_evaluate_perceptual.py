"""sr-eval --metrics: NIQE / LPIPS columns (lower is better, said in the header), per image in the JSON."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras import evaluation, metrics
from sr_keras.data import pipeline
from sr_keras.data.sources import NamedImage
from sr_keras.inference import bicubic_upscaler
from tests.metrics.test_lpips import needs_weights


@pytest.fixture
def hr_dir(tmp_path):
    folder = tmp_path / "Set1"
    folder.mkdir()
    yy, xx = np.mgrid[0:112, 0:208]  # two 96 px NIQE blocks after the 4 px border crop
    image = (127 + 90 * np.sin(xx / 4.0 + yy / 9.0)[..., None] * np.array([1.0, 0.8, 0.6])).astype(np.uint8)
    Image.fromarray(image).save(folder / "waves.png")
    return folder


@needs_weights
def test_niqe_and_lpips_columns(hr_dir, tmp_path):
    out = tmp_path / "scores.json"
    result = subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.evaluate", "--model=bicubic", f"--hr_dir={hr_dir}", "--metrics=psnr,niqe,lpips",
         f"--output={out}", "--quiet"], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| Set1 PSNR | Set1 NIQE↓ | Set1 LPIPS↓ |" in result.stdout
    assert "NIQE↓ lower is better" in result.stdout and "LPIPS↓ lower is better" in result.stdout
    data = json.loads(out.read_text())
    assert [m["key"] for m in data["metrics"]] == ["psnr", "niqe", "lpips"]
    assert [m["higher_is_better"] for m in data["metrics"]] == [True, False, False]
    image = data["results"][0]["images"][0]
    # The same numbers as the library on the same border-cropped 8-bit images.
    pair = pipeline.evaluation_pairs([NamedImage("waves", np.asarray(Image.open(hr_dir / "waves.png")))], 4)[0]
    sr = metrics.to_uint8(bicubic_upscaler(4)(pair.lr))
    assert image["niqe"] == pytest.approx(metrics.niqe(sr[4:-4, 4:-4]), abs=1e-9)
    assert image["lpips"] == pytest.approx(metrics.lpips(pair.hr[4:-4, 4:-4], sr[4:-4, 4:-4]), abs=1e-6)
    assert set(image) >= {"psnr", "niqe", "lpips"} and "ssim" not in image


def test_unknown_metric_is_one_line():
    with pytest.raises(ValueError, match="unknown brisque"):
        evaluation.metrics_named(["psnr", "brisque"])
    assert [m.key for m in evaluation.metrics_named(["lpips", "niqe", "lpips"])] == ["lpips", "niqe"]
    assert all(not m.higher_is_better for m in evaluation.PERCEPTUAL_METRICS)
