"""The exported SavedModel under large requests, loaded as TF Serving loads it (TF1 loader, in a
subprocess, peak RSS measured): a 1000x1000 PNG is served in tiles, a 4000x4000 one and a
16000x16000 PNG bomb are refused from their header with InvalidArgument, and the process keeps
serving.  In-graph tiling equals the untiled model (independent reference: Keras on the whole
image) and the pixel limit counts N x H x W."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import export, tiling
from tests.export.conftest import cli_env, keras_float, keras_uint8, saved_model_cli
from tests.hardening.bad_files import png_of_zeros, random_png_bytes

BUDGET_MB = 32  # a tiny generator's tile from a small budget, so a 1000x1000 image needs many tiles


@pytest.fixture(scope="module")
def bounded(models, tmp_path_factory):
    """The tiny SRResNet exported with the default pixel limit and a 32 MB budget: (path, model)."""
    model = models["srresnet"]
    path = export.export_saved_model(model, str(tmp_path_factory.mktemp("bounded")), "tiny", memory_budget_mb=BUDGET_MB)
    return path, model


def test_tile_comes_from_the_memory_budget(models):
    model = models["srresnet"]
    tile, pad = export.tile_plan(model, BUDGET_MB)
    per_pixel = tiling.bytes_per_lr_pixel(model)
    window = tile + 2 * pad
    assert pad == 16 and tile % 8 == 0 and tile < 1000
    assert window**2 * per_pixel <= BUDGET_MB * 2**20 < (window + 16) ** 2 * per_pixel  # largest 8-multiple that fits


def test_graph_estimate_counts_the_largest_activation():
    # SRResNet(64 features): its largest op at 2x after the first pixel shuffle holds three
    # [1, 2h, 2w, 256]-sized float32 tensors (hand count from the architecture: 256 ch x 4 px per LR
    # pixel = 1024 floats, x 3 tensors x 4 bytes = 12288 bytes per LR pixel).
    from sr_keras.archs import SRResNet

    assert tiling.activation_bytes_per_lr_pixel(SRResNet(num_blocks=1)) == 12288


def test_in_graph_tiles_equal_the_whole_image_and_the_limit_counts_the_request(models, tmp_path):
    model = models["srresnet"]
    path = export.export_saved_model(model, str(tmp_path), "t", tile=12, tile_pad=10, max_input_pixels=2146)
    loaded = tf.saved_model.load(path)
    images = np.random.default_rng(0).integers(0, 256, (2, 37, 29, 3), dtype=np.uint8)  # 2146 pixels: the limit
    served = loaded.signatures["serving_default"](image=tf.constant(images))["image"].numpy()
    assert np.abs(served.astype(int) - keras_uint8(model, images).astype(int)).max() <= 1
    floats = images.astype(np.float32) / 255
    served_float = loaded.signatures["serve_float"](image=tf.constant(floats))["image"].numpy()
    assert np.abs(served_float - keras_float(model, floats)).max() < 1e-5
    signature = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"request of 2 image\(s\) of 37x30 pixels \(2220 input pixels\) is over the limit of 2146"):
        signature(image=tf.zeros([2, 37, 30, 3], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"of 0x5 pixels is empty"):
        signature(image=tf.zeros([1, 0, 5, 3], tf.uint8))


def test_header_sizes_of_every_format(tmp_path):
    from PIL import Image

    image = np.random.default_rng(1).integers(0, 256, (13, 21, 3), dtype=np.uint8)
    for fmt in ("PNG", "JPEG", "BMP", "GIF"):
        Image.fromarray(image).save(tmp_path / f"a.{fmt}", format=fmt)
        data = (tmp_path / f"a.{fmt}").read_bytes()
        assert export.encoded_image_size(tf.constant(data)).numpy().tolist() == [13, 21], fmt
    assert export.encoded_image_size(tf.constant(b"GIF")).numpy().tolist() == [-1, -1]


def test_large_requests_through_the_tf1_loader_and_the_process_lives(bounded, bomb_png, tmp_path):
    path, model = bounded
    requests = []
    for name, content in [
        ("1000x1000", random_png_bytes(1000, 1000)),
        ("4000x4000", _zeros_png(tmp_path, 4000, 4000)),
        ("bomb16000", open(bomb_png, "rb").read()),
        ("small", random_png_bytes(20, 30, seed=2)),
    ]:
        np.save(tmp_path / f"{name}.npy", np.array([content], dtype=object), allow_pickle=True)
        requests.append(str(tmp_path / f"{name}.npy"))
    np.save(tmp_path / "tensor4000.npy", np.zeros((1, 4000, 4000, 3), np.uint8))
    requests.insert(3, str(tmp_path / "tensor4000.npy"))
    result = subprocess.run(
        [sys.executable, "-m", "tests.hardening.serve_probe", path, *requests],
        capture_output=True, text=True, timeout=600, env=cli_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    answers = {os.path.basename(line["request"])[:-4]: line for line in lines if "request" in line}
    print(json.dumps(lines, indent=1))
    assert answers["1000x1000"]["ok"] and answers["1000x1000"]["shapes"] == [[4000, 4000]]
    assert answers["small"]["ok"] and answers["small"]["shapes"] == [[80, 120]]  # still serving after the refusals
    for name, size, pixels in [("4000x4000", "4000x4000", 16000000), ("bomb16000", "16000x16000", 256000000)]:
        assert not answers[name]["ok"]
        assert f"image_bytes[0] of {size} pixels ({pixels} input pixels) is over the limit of 4194304" in answers[name]["error"]
    assert "request of 1 image(s) of 4000x4000 pixels" in answers["tensor4000"]["error"]
    # The tiles of the served 1000x1000 equal Keras on a window around the same place (the tile pad,
    # 16 LR pixels, covers this generator's receptive field): rows/cols 300..364 of the LR.
    lr = tf.io.decode_png(random_png_bytes(1000, 1000)).numpy()
    served = tf.io.decode_png((tmp_path / "1000x1000.npy.out.png").read_bytes()).numpy()
    reference = keras_uint8(model, lr[None, 284:380, 284:380])[0, 64:320, 64:320]
    assert np.abs(served[1200:1456, 1200:1456].astype(int) - reference.astype(int)).max() <= 1
    peak = lines[-1]["peak_rss_mb"]
    assert peak < 2000, f"peak RSS {peak:.0f} MB"  # the process died at 3.6 GB on 1000x1000


def test_saved_model_cli_refuses_the_bomb_with_a_readable_message(bounded, bomb_png, tmp_path):
    path, _ = bounded
    np.save(tmp_path / "bomb.npy", np.array([open(bomb_png, "rb").read()], dtype=object), allow_pickle=True)
    executable = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run(
        [executable, "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serve_image_bytes",
         "--inputs", f"image_bytes={tmp_path / 'bomb.npy'}", "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=cli_env(),
    )  # fmt: skip
    assert result.returncode != 0
    assert "image_bytes[0] of 16000x16000 pixels (256000000 input pixels) is over the limit of" in result.stderr


def _zeros_png(folder, height, width) -> bytes:
    path = str(folder / f"zeros_{height}x{width}.png")
    png_of_zeros(path, height, width)
    with open(path, "rb") as handle:
        return handle.read()
