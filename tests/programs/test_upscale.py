"""sr-upscale: channels are kept (gray stays gray, RGBA keeps alpha), folders, clear errors."""

import subprocess
import sys

import numpy as np
from PIL import Image

from sr_keras import metrics
from sr_keras.inference import bicubic_upscaler
from sr_keras.ops.imresize import imresize
from sr_keras.programs.upscale import upscale_image


def test_rgba_keeps_alpha_upscaled_by_bicubic():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    out = upscale_image(bicubic_upscaler(4), rgba)
    assert out.shape == (24, 28, 4)
    np.testing.assert_array_equal(out[..., 3], metrics.to_uint8(imresize(rgba[..., 3] / 255.0, 4)))
    np.testing.assert_array_equal(out[..., :3], metrics.to_uint8(imresize(rgba[..., :3] / 255.0, 4)))


def test_gray_stays_gray():
    gray = np.random.default_rng(1).integers(0, 256, (5, 5, 1), dtype=np.uint8)
    out = upscale_image(bicubic_upscaler(2), gray)
    assert out.shape == (10, 10, 1)
    # Gray replicated to RGB and back is the identity on the bicubic result (weights sum to 1).
    expected = metrics.to_uint8(imresize(gray[..., 0] / 255.0, 2))
    assert np.abs(out[..., 0].astype(int) - expected).max() <= 1


def test_weights_h5_model_keeps_channels(tmp_path):
    from sr_keras.archs import RRDBNet
    from sr_keras.inference import load_upscaler

    RRDBNet(num_blocks=1, num_features=8, growth=4, scale=2).save_weights(tmp_path / "g.weights.h5")
    upscaler = load_upscaler(str(tmp_path / "g.weights.h5"))
    rng = np.random.default_rng(2)
    rgba = upscale_image(upscaler, rng.integers(0, 256, (5, 6, 4), dtype=np.uint8))
    gray = upscale_image(upscaler, rng.integers(0, 256, (5, 6, 1), dtype=np.uint8))
    gray_alpha = upscale_image(upscaler, rng.integers(0, 256, (5, 6, 2), dtype=np.uint8))
    assert rgba.shape == (10, 12, 4) and gray.shape == (10, 12, 1) and gray_alpha.shape == (10, 12, 2)
    assert rgba.dtype == gray.dtype == gray_alpha.dtype == np.uint8


def test_folder_in_folder_out(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(src / "a.jpg")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(src / "b.png")
    Image.fromarray(np.zeros((3, 5, 2), np.uint8), mode="LA").save(src / "c.png")
    result = subprocess.run([sys.executable, "-m", "sr_keras.programs.upscale", "--model=bicubic", f"--input={src}", f"--output={tmp_path / 'out'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out" / "a.png").size == (36, 32)
    assert Image.open(tmp_path / "out" / "b.png").mode == "L"
    assert Image.open(tmp_path / "out" / "c.png").mode == "LA" and Image.open(tmp_path / "out" / "c.png").size == (20, 12)
    bad = subprocess.run([sys.executable, "-m", "sr_keras.programs.upscale", "--model=bicubic", f"--input={tmp_path / 'nope.png'}", "--output=x.png"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "nope.png" in bad.stderr and "Traceback" not in bad.stderr
