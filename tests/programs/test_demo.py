"""sr-demo end to end (--quick --skip_pretrained) and the comparison figure of sr_keras.figures."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras.figures import comparison_grid, detailed_region


def run_demo(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.demo", *args], capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo") / "report"
    result = run_demo("--quick", "--skip_pretrained", f"--output_dir={output}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output, result


def test_quick_demo_writes_the_report(quick_report):
    output, result = quick_report
    # Progress lines on stderr with elapsed times, one per stage, and per-step / per-image lines with
    # rate and time left; stdout is only where the report is.  No framework warnings (e.g. retracing).
    assert all(f"stage {k}/5" in result.stderr for k in range(1, 6))
    assert "SRResNet (pixel MSE): 4/4 steps (100%)" in result.stderr and " left, " in result.stderr
    assert "Bicubic: 2/2 images (100%)" in result.stderr
    assert "retracing" not in result.stderr and "WARNING" not in result.stderr
    assert result.stdout.strip().splitlines() == [str(output.resolve() / "README.md")]

    metrics = json.loads((output / "metrics.json").read_text())
    assert [row["model"] for row in metrics["models"]] == ["bicubic", "srresnet", "srgan"]
    assert metrics["held_out"] == ["chelsea.png"] and "chelsea.png" not in metrics["training_photos"]
    for row in metrics["models"]:
        for key in ("held_out_psnr", "held_out_ssim", "training_photos_psnr", "training_photos_ssim"):
            assert math.isfinite(row[key]), (row["model"], key)
        assert {image["split"] for image in row["images"]} == {"held_out", "training"}
    bicubic = metrics["models"][0]
    assert bicubic["held_out_psnr"] > 25 and 0 < bicubic["held_out_ssim"] < 1  # chelsea x4 bicubic: 31.48 dB

    figure = Image.open(output / "comparison.png")
    assert figure.size[0] > 500 and figure.size[1] > 300
    assert (output / "training_curves.png").stat().st_size > 0
    assert "| Bicubic |" in (output / "metrics.md").read_text()
    readme = (output / "README.md").read_text()
    for link in ("comparison.png", "metrics.md", "metrics.json", "training_curves.png"):
        assert f"]({link})" in readme
    # The text follows the figures: the curves' colours are the plot's (run 0 blue, run 1 orange),
    # the captions say they score the crop, the labels say the demo's models are few-minute ones.
    assert "SRResNet blue, SRGAN orange" in readme
    assert "PSNR / SSIM (Y) of the crop shown, not of the whole image" in readme
    labels = [row["label"] for row in metrics["models"]]
    assert labels[1].startswith("SRResNet (ours, ") and labels[1].endswith(" min)")
    # Each finding is the measured difference from bicubic, with the right direction.
    for row in metrics["models"][1:]:
        difference = row["held_out_psnr"] - bicubic["held_out_psnr"]
        direction = "above" if difference > 0 else "below"
        assert f"{row['label']}: {row['held_out_psnr']:.2f} dB" in readme
        assert f"{abs(difference):.2f} dB {direction} Bicubic" in readme or abs(difference) < 0.005

    saved_model = output / "export" / "saved_model" / "srgan" / "1"
    assert (saved_model / "saved_model.pb").is_file()
    tflite = output / "export" / "srgan_float32_dynamic.tflite"
    assert tflite.stat().st_size > 0
    run = json.loads((output / "run.json").read_text())
    assert run["export"]["saved_model"]["max_abs_diff"] < 1e-4
    assert run["export"]["tflite"]["max_abs_diff"] < 1e-4

    # Upscaled PNGs: x4 of the LR, the size of the HR.
    lr = Image.open(output / "images" / "chelsea_lr.png")
    for key in ("bicubic", "srresnet", "srgan", "hr"):
        assert Image.open(output / "images" / f"chelsea_{key}.png").size == (4 * lr.size[0], 4 * lr.size[1])
    assert (output / "runs" / "srgan" / "generator.keras").is_file()


def test_refuses_a_folder_it_did_not_write(tmp_path, tensorflow_blocked_env):
    (tmp_path / "notes.txt").write_text("mine")
    result = run_demo("--quick", "--skip_pretrained", f"--output_dir={tmp_path}", env=tensorflow_blocked_env)
    assert result.returncode == 2 and "not written by sr-demo" in result.stderr and "Traceback" not in result.stderr
    assert "TensorFlow was imported" not in result.stderr  # refused before importing it
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_rerun_clears_only_its_own_outputs(tmp_path):
    from sr_keras.programs import demo

    demo.prepare_output_dir(str(tmp_path / "out"))
    (tmp_path / "out" / "images").mkdir()
    (tmp_path / "out" / "images" / "old.png").write_bytes(b"x")
    (tmp_path / "out" / "keep.txt").write_text("user file")
    demo.prepare_output_dir(str(tmp_path / "out"))
    assert not (tmp_path / "out" / "images").exists()
    assert (tmp_path / "out" / "keep.txt").read_text() == "user file"
    assert (tmp_path / "out" / demo.MARKER).is_file()


def test_comparison_grid_panels_and_size(tmp_path):
    rng = np.random.default_rng(0)
    hr = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    results = {"Bicubic": [h // 2 for h in hr], "SRResNet": hr, "SRGAN": hr, "ESRGAN": hr}
    scores = {"Bicubic": [(20.0, 0.5), (21.0, 0.6)], "SRGAN": [(22.0, 0.7), (23.0, 0.8)]}
    output = tmp_path / "figs" / "grid.png"
    figure = comparison_grid(hr, results, scores, row_names=["a", "b"], crop_size=16, panel_inches=1.5, title="t", output=str(output))
    columns = 1 + len(results) + 1  # context | 4 methods | HR
    assert len(figure.axes) == 2 * columns
    width, height = figure.get_size_inches()
    assert width == pytest.approx(1.5 * columns) and height > 2 * 1.5
    assert output.is_file()
    captions = [axis.get_xlabel() for axis in figure.axes]
    assert "Bicubic\n20.00 dB / 0.5000" in captions and "SRGAN\n23.00 dB / 0.8000" in captions
    assert "HR (original)" in captions and "SRResNet" in captions  # no scores -> label only
    # The crops are crop_size square, zoomed (nearest) into the panels.
    assert figure.axes[1].get_images()[0].get_array().shape[:2] == (16, 16)

    bare = comparison_grid(hr[:1], {"Bicubic": hr[:1]}, show_context=False)
    assert len(bare.axes) == 2
    with pytest.raises(ValueError, match="row 0"):
        comparison_grid(hr[:1], {"Bicubic": [hr[1]]})


def test_detailed_region_finds_the_texture():
    image = np.full((64, 80, 3), 128, np.uint8)
    image[30:46, 50:66] = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    top, left = detailed_region(image, 16)
    assert abs(top - 30) <= 1 and abs(left - 50) <= 1
