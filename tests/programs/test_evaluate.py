"""sr-eval end to end as a user runs it: table on stdout, JSON file, clear errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras import metrics
from sr_keras.data import pipeline
from sr_keras.inference import bicubic_upscaler


def run_eval(*args):
    return subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.evaluate", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def hr_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "Set2"
    folder.mkdir()
    yy, xx = np.mgrid[0:50, 0:61]
    smooth = (127 + 100 * np.sin(xx / 5.0)[..., None] * np.cos(yy / 7.0)[..., None] * np.ones(3)).astype(np.uint8)
    Image.fromarray(smooth).save(folder / "smooth.png")
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / "noise.png")
    return folder


def test_bicubic_table_and_json_match_the_library(hr_dir, tmp_path):
    out = tmp_path / "scores.json"
    result = run_eval("--model=bicubic", f"--hr_dir={hr_dir}", "--scale=4", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert "smooth.png" in result.stdout and "mean" in result.stdout
    data = json.loads(out.read_text())
    assert [row["name"] for row in data["images"]] == ["noise.png", "smooth.png"]
    # Independent recomputation through the library functions.
    from sr_keras.data import sources

    pairs = pipeline.evaluation_pairs(sources.load_folder(str(hr_dir)), 4)
    upscaler = bicubic_upscaler(4)
    for row, pair in zip(data["images"], pairs):
        sr = metrics.to_uint8(upscaler(pair.lr))
        assert row["psnr"] == pytest.approx(metrics.psnr(pair.hr, sr, 4))
        assert (row["height"], row["width"]) == pair.hr.shape[:2]
    smooth = data["images"][1]
    assert smooth["height"] == 48 and smooth["width"] == 60  # cropped to a multiple of 4
    assert smooth["psnr"] > 30 > data["images"][0]["psnr"]  # bicubic works on smooth content only
    assert data["mean_psnr"] == pytest.approx((data["images"][0]["psnr"] + smooth["psnr"]) / 2)


def test_broken_image_gives_one_clear_line(hr_dir):
    (hr_dir / "broken.jpg").write_bytes(b"not a jpeg at all")
    result = run_eval("--model=bicubic", f"--hr_dir={hr_dir}")
    assert result.returncode == 2
    assert "broken.jpg" in result.stderr and "Traceback" not in result.stderr


def test_missing_folder_and_unknown_model(tmp_path):
    result = run_eval("--model=bicubic", f"--hr_dir={tmp_path / 'nope'}")
    assert result.returncode == 2 and "not a directory" in result.stderr
    result = run_eval("--model=no-such-model", "--hr_dir=embedded")
    assert result.returncode == 2 and "unknown model" in result.stderr and "Traceback" not in result.stderr


def test_console_script_help_lists_the_programs_own_flags():
    """`sr-eval --help` (a console-script wrapper is the main module) shows sr-eval's flags."""
    script = os.path.join(os.path.dirname(sys.executable), "sr-eval")
    if not os.path.exists(script):
        pytest.skip("sr_keras is not pip-installed next to this Python")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)  # absl exits 1
    for flag in ("--model", "--hr_dir", "--scale", "--crop", "--channel", "--output"):
        assert flag in result.stdout
