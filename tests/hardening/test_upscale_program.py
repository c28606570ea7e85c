"""sr-upscale as a careless user and an attacker meet it: bad files in a folder are skipped and
listed while every good output is written, outputs never replace inputs, the 16000x16000 PNG bomb
is refused from its header, negative --tile is refused, and tiled uint8 output equals untiled."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras import metrics
from sr_keras.data import images as image_io
from sr_keras.inference import bicubic_upscaler
from sr_keras.ops.imresize import imresize
from sr_keras.programs import upscale
from sr_keras.programs.upscale import upscale_image
from sr_keras import tiling
from tests.hardening.bad_files import corrupted, truncated


def run_upscale(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "sr_keras.programs.upscale", *args], capture_output=True, text=True, timeout=timeout)


def photo(seed, height=12, width=10):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_flag_defaults_equal_the_library_constants():
    assert upscale.MAX_IMAGE_PIXELS == image_io.MAX_IMAGE_PIXELS == 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS
    assert upscale.DEFAULT_MEMORY_BUDGET_MB == tiling.DEFAULT_MEMORY_BUDGET_MB


def test_folder_run_keeps_going_writes_good_outputs_and_lists_the_skipped(tmp_path, bomb_png):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo(0)).save(src / "a_good.png")
    good_png = (src / "a_good.png").read_bytes()
    Image.fromarray(photo(1)).save(src / "b_good.jpg", quality=90)
    (src / "c_truncated.png").write_bytes(truncated(good_png, 0.6))
    (src / "d_corrupt.jpg").write_bytes(corrupted((src / "b_good.jpg").read_bytes(), 200))
    (src / "e_empty.png").write_bytes(b"")
    (src / "f_text.png").write_bytes(b"hello, not an image")
    os.symlink(bomb_png, src / "g_bomb.png")
    Image.fromarray(photo(2)).save(src / "z_good.bmp")
    result = run_upscale("--model=bicubic", f"--input={src}", f"--output={tmp_path / 'out'}")
    print(result.stderr)
    assert result.returncode == 1
    assert sorted(os.listdir(tmp_path / "out")) == ["a_good.png", "b_good.png", "z_good.png"]
    np.testing.assert_array_equal(
        np.array(Image.open(tmp_path / "out" / "a_good.png")), metrics.to_uint8(imresize(photo(0) / 255.0, 4))
    )
    assert "skipped 5 of 8 file(s):" in result.stderr
    for name in ("c_truncated.png", "d_corrupt.jpg", "e_empty.png", "f_text.png", "g_bomb.png"):
        assert str(src / name) in result.stderr
    assert f"{src / 'g_bomb.png'}: 16000x16000 pixels (256,000,000) is over the limit of 89,478,485 pixels" in result.stderr
    assert "function_node" not in result.stderr and "Traceback" not in result.stderr and "[Op:" not in result.stderr


def test_bomb_alone_is_refused_before_decoding(tmp_path, bomb_png):
    result = run_upscale("--model=bicubic", f"--input={bomb_png}", f"--output={tmp_path / 'x.png'}", "--tile=256")
    assert result.returncode == 1 and "is over the limit of 89,478,485 pixels" in result.stderr
    assert not os.path.exists(tmp_path / "x.png")


def test_output_never_overwrites_input(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo(0)).save(src / "a.png")
    Image.fromarray(photo(1)).save(src / "b.jpg")
    before = {name: (src / name).read_bytes() for name in os.listdir(src)}
    same_folder = run_upscale("--model=bicubic", f"--input={src}", f"--output={src}")
    same_file = run_upscale("--model=bicubic", f"--input={src / 'a.png'}", f"--output={src / 'a.png'}")
    into_folder = run_upscale("--model=bicubic", f"--input={src / 'a.png'}", f"--output={src}")
    for result in (same_folder, same_file, into_folder):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "overwrite" in result.stderr
    assert "would overwrite the input" in same_folder.stderr and str(src / "a.png") in same_folder.stderr
    assert "is the input file" in same_file.stderr
    assert {name: (src / name).read_bytes() for name in os.listdir(src)} == before


def test_two_inputs_with_one_output_name_are_refused(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo(0)).save(src / "a.png")
    Image.fromarray(photo(1)).save(src / "a.jpg")
    result = run_upscale("--model=bicubic", f"--input={src}", f"--output={tmp_path / 'out'}")
    assert result.returncode == 2 and "would both be written to" in result.stderr


@pytest.mark.parametrize("flag", ["--tile=-1", "--tile_pad=-3", "--memory_budget_mb=0", "--max_image_pixels=-5"])
def test_negative_settings_are_refused(tmp_path, flag):
    Image.fromarray(photo(0)).save(tmp_path / "a.png")
    result = run_upscale("--model=bicubic", f"--input={tmp_path / 'a.png'}", f"--output={tmp_path / 'o.png'}", flag)
    assert result.returncode == 2 and flag.split("=")[0] in result.stderr and "Traceback" not in result.stderr


def test_argument_errors_come_before_tensorflow_is_imported(tmp_path, tensorflow_blocked_env):
    """A `tensorflow` that cannot be imported shadows the real one: a bad flag is still reported (so it
    was found first, by `check_arguments`), while good flags reach the import and fail there."""
    env = tensorflow_blocked_env
    Image.fromarray(photo(0)).save(tmp_path / "a.png")
    command = [sys.executable, "-m", "sr_keras.programs.upscale", "--model=bicubic", f"--input={tmp_path / 'a.png'}"]
    bad = subprocess.run([*command, f"--output={tmp_path / 'o.png'}", "--tile=-1"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--tile=-1: must be >= 0" in bad.stderr and "TensorFlow was imported" not in bad.stderr
    clash = subprocess.run([*command, f"--output={tmp_path / 'a.png'}"], env=env, capture_output=True, text=True, timeout=60)
    assert clash.returncode == 2 and "refusing to overwrite" in clash.stderr and "TensorFlow was imported" not in clash.stderr
    good = subprocess.run([*command, f"--output={tmp_path / 'o.png'}"], env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode != 0 and "TensorFlow was imported" in good.stderr


def test_budget_tiles_equal_the_whole_image_for_every_channel_layout():
    rng = np.random.default_rng(3)
    whole = bicubic_upscaler(4)
    whole.tile = 0
    tiled = bicubic_upscaler(4)
    tiled.memory_budget_mb = 0.02  # a few KB per window: many tiles of MIN_TILE
    assert tiled.tile_size() == tiling.MIN_TILE
    for channels in (1, 2, 3, 4):
        image = rng.integers(0, 256, (37, 41, channels), dtype=np.uint8)
        np.testing.assert_array_equal(upscale_image(tiled, image), upscale_image(whole, image))
    rgb = rng.integers(0, 256, (37, 41, 3), dtype=np.uint8)
    expected = metrics.to_uint8(imresize(rgb / 255.0, 4))  # independent: MATLAB bicubic of the whole image
    np.testing.assert_array_equal(tiled.upscale_uint8(rgb), expected)


def test_upscaler_tiles_by_default_from_the_budget():
    from sr_keras.archs import SRResNet
    from sr_keras.inference import keras_upscaler

    upscaler = keras_upscaler(SRResNet(num_blocks=1), "full-width")
    assert upscaler.tile is None
    # 1024 MB / (1.5 x 12288 bytes per LR pixel) -> a window of 241 -> tile 241 - 2 * 16 = 209 -> 208.
    assert upscaler.tile_size() == 208
    upscaler.tile = -1
    with pytest.raises(ValueError, match="tile must be >= 0"):
        upscaler.tile_size()
