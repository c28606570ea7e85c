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


def run_eval(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.evaluate", *args], capture_output=True, text=True, timeout=300, env=env
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
    assert "| bicubic | bicubic |" in result.stdout and "Set2 PSNR" in result.stdout
    data = json.loads(out.read_text())
    (entry,) = data["results"]
    assert (entry["model"], entry["set"], entry["published"]) == ("bicubic", "Set2", {})  # no published Set2
    assert [row["name"] for row in entry["images"]] == ["noise.png", "smooth.png"]
    # Independent recomputation through the library functions.
    from sr_keras.data import sources

    pairs = pipeline.evaluation_pairs(sources.load_folder(str(hr_dir)), 4)
    upscaler = bicubic_upscaler(4)
    for row, pair in zip(entry["images"], pairs):
        sr = metrics.to_uint8(upscaler(pair.lr))
        assert row["psnr"] == pytest.approx(metrics.psnr(pair.hr, sr, 4))
        assert row["ssim"] == pytest.approx(metrics.ssim(pair.hr, sr, 4))
        assert (row["height"], row["width"]) == pair.hr.shape[:2]
    smooth = entry["images"][1]
    assert smooth["height"] == 48 and smooth["width"] == 60  # cropped to a multiple of 4
    assert smooth["psnr"] > 30 > entry["images"][0]["psnr"]  # bicubic works on smooth content only
    assert entry["mean"]["psnr"] == pytest.approx((entry["images"][0]["psnr"] + smooth["psnr"]) / 2)
    # Progress: one line per image with rate and time left.
    lines = [line for line in result.stderr.splitlines() if line.startswith("bicubic on Set2: ") and "/2 images" in line]
    assert len(lines) == 2 and "noise.png" in lines[0] and "smooth.png" in lines[1]
    assert all(("s/image" in line or "images/s" in line) and "left" in line for line in lines)  # rate and time left


def test_several_models_and_sets_with_published_values(tmp_path):
    """A folder named Set5 gets the papers' numbers; cells show ours (published, difference)."""
    rng = np.random.default_rng(1)
    sets = []
    for name, size in (("set5", 40), ("Mine", 44)):
        folder = tmp_path / name
        folder.mkdir()
        yy, xx = np.mgrid[0:size, 0:size]
        image = (127 + 90 * np.sin(xx / 4.0 + yy / 9.0)[..., None] * np.ones(3) + rng.normal(0, 4, (size, size, 3))).clip(0, 255)
        Image.fromarray(image.astype(np.uint8)).save(folder / "a.png")
        sets.append(str(folder))
    # A tiny SRResNet as a second model, compared with the SRGAN paper's SRResNet row.
    from sr_keras.archs import SRResNet

    model_path = str(tmp_path / "tiny.keras")
    SRResNet(num_blocks=1, num_features=4).save(model_path)
    out = tmp_path / "table.json"
    result = run_eval(
        "--model=bicubic", f"--model={model_path}", f"--hr_dir={sets[0]},{sets[1]}", f"--output={out}",
        f"--published={model_path}=SRResNet", "--quiet", "--tile=6",
    )
    assert result.returncode == 0, result.stderr
    assert "[bicubic" not in result.stderr  # --quiet
    data = json.loads(out.read_text())
    assert [(r["name"], r["set"]) for r in data["results"]] == [("bicubic", "Set5"), ("bicubic", "Mine"), ("tiny.keras", "Set5"), ("tiny.keras", "Mine")]
    bicubic_set5 = data["results"][0]
    assert bicubic_set5["published"] == {"psnr": 28.43, "ssim": 0.8211}
    assert bicubic_set5["difference"]["psnr"] == pytest.approx(bicubic_set5["mean"]["psnr"] - 28.43)
    assert data["results"][2]["published"] == {"psnr": 32.05, "ssim": 0.9019} and data["results"][3]["published"] == {}
    header, rule, bicubic_row, tiny_row = result.stdout.splitlines()[:4]
    assert header == "| model | paper row | Set5 PSNR | Set5 SSIM | Mine PSNR | Mine SSIM |"
    psnr = bicubic_set5["mean"]["psnr"]
    assert f"| {psnr:.2f} (28.43, {psnr - 28.43:+.2f}) |" in bicubic_row
    assert tiny_row.startswith(f"| tiny.keras | SRResNet | ") and "(32.05, " in tiny_row
    mine = data["results"][1]["mean"]
    assert tiny_row.count("(") == 2 and bicubic_row.endswith(f"| {mine['psnr']:.2f} | {mine['ssim']:.4f} |")


def test_bad_and_too_small_images_are_skipped_and_listed(hr_dir, tmp_path):
    (hr_dir / "broken.jpg").write_bytes(b"not a jpeg at all")
    Image.fromarray(np.zeros((16, 30, 3), np.uint8)).save(hr_dir / "tiny.png")  # 16 - 2 * 4 < 11: no SSIM window
    out = tmp_path / "scores.json"
    result = run_eval("--model=bicubic", f"--hr_dir={hr_dir}", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "skipping " in result.stderr and "broken.jpg: not a PNG, JPEG, BMP or GIF image" in result.stderr
    assert "tiny.png: 30x16 pixels is too small" in result.stderr
    assert "skipped 2 file(s)" in result.stderr
    data = json.loads(out.read_text())
    assert [row["name"] for row in data["results"][0]["images"]] == ["noise.png", "smooth.png"]
    assert sorted(os.path.basename(item["file"]) for item in data["skipped"]) == ["broken.jpg", "tiny.png"]


def test_missing_folder_and_unknown_model(tmp_path, tensorflow_blocked_env):
    # Found by check_arguments, before TensorFlow is imported (the blocked import would fail otherwise).
    result = run_eval("--model=bicubic", f"--hr_dir={tmp_path / 'nope'}", env=tensorflow_blocked_env)
    assert result.returncode == 2 and "not a directory" in result.stderr and "TensorFlow was imported" not in result.stderr
    result = run_eval("--model=no-such-model", "--hr_dir=embedded", env=tensorflow_blocked_env)
    assert result.returncode == 2 and "unknown model" in result.stderr and "Traceback" not in result.stderr
    assert "TensorFlow was imported" not in result.stderr
    (tmp_path / "empty").mkdir()
    result = run_eval("--model=bicubic", f"--hr_dir={tmp_path / 'empty'}", env=tensorflow_blocked_env)
    assert result.returncode == 2 and result.stderr.strip().endswith(f"{tmp_path / 'empty'}: no image files (.png, .jpg, .jpeg, .bmp, .gif)")
    # Good arguments reach the import.
    result = run_eval("--model=bicubic", "--hr_dir=embedded", env=tensorflow_blocked_env)
    assert result.returncode != 0 and "TensorFlow was imported" in result.stderr


def test_console_script_help_lists_the_programs_own_flags():
    """`sr-eval --help` (a console-script wrapper is the main module) shows sr-eval's flags."""
    script = os.path.join(os.path.dirname(sys.executable), "sr-eval")
    if not os.path.exists(script):
        pytest.skip("sr_keras is not pip-installed next to this Python")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)  # absl exits 1
    for flag in ("--model", "--hr_dir", "--scale", "--crop", "--channel", "--output", "--tile", "--published", "quiet"):
        assert flag in result.stdout
