"""The SavedModel as TF Serving sees it: run through `saved_model_cli` (the TF1 loader TF Serving
uses), each signature against the Keras model; TF Serving's <base>/<name>/<version> layout."""

import os
import re
import stat

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import export
from tests.export.conftest import ARCHS, keras_float, keras_uint8, saved_model_cli


def test_show_all_lists_the_three_signatures_with_free_sizes(saved_model):
    path, _ = saved_model
    text = saved_model_cli("show", "--dir", path, "--all")
    print(text)
    blocks = {}
    for name, body, method in re.findall(r"signature_def\['(\w+)'\]:(.*?)Method name is: ([\w/]*)", text, re.S):
        blocks[name] = (body, method)
    assert set(export.SIGNATURES) <= set(blocks)
    expected = {
        "serving_default": [("image", "DT_UINT8", "(-1, -1, -1, 3)"), ("image", "DT_UINT8", "(-1, -1, -1, 3)")],
        "serve_image_bytes": [("image_bytes", "DT_STRING", "(-1)"), ("png_bytes", "DT_STRING", "(-1)")],
        "serve_float": [("image", "DT_FLOAT", "(-1, -1, -1, 3)"), ("image", "DT_FLOAT", "(-1, -1, -1, 3)")],
    }
    for name, tensors in expected.items():
        body, method = blocks[name]
        assert method == "tensorflow/serving/predict"
        found = re.findall(r"(?:inputs|outputs)\['(\w+)'\] tensor_info:\s*dtype: (\w+)\s*shape: (\([-\d, ]*\))", body)
        assert found == tensors, (name, found)


def test_layout_is_base_name_version(saved_model):
    path, _ = saved_model
    assert os.path.basename(path) == "1" and os.path.basename(os.path.dirname(path)) == "tiny_srresnet"
    assert os.path.isfile(os.path.join(path, "saved_model.pb")) and os.path.isdir(os.path.join(path, "variables"))


@pytest.mark.parametrize("arch", ARCHS)
def test_serving_default_uint8_matches_keras(arch, saved_models, tmp_path):
    path, model = saved_models[arch]
    images = np.random.default_rng(1).integers(0, 256, (2, 9, 7, 3), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    saved_model_cli(
        "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
        "--inputs", f"image={tmp_path / 'images.npy'}", "--outdir", str(tmp_path / "out"),
    )  # fmt: skip
    served = np.load(tmp_path / "out" / "image.npy")
    assert served.dtype == np.uint8 and served.shape == (2, 36, 28, 3)
    expected = keras_uint8(model, images)
    difference = np.abs(served.astype(int) - expected.astype(int))
    assert difference.max() <= 1
    assert np.mean(difference == 0) > 0.99  # float noise may flip a rare x.5 rounding, no more
    assert np.mean((served > 0) & (served < 255)) > 0.5  # the comparison is not between clipped values


def test_serve_float_matches_keras(saved_model, tmp_path):
    path, model = saved_model
    images = np.random.default_rng(2).random((2, 8, 11, 3), dtype=np.float32)
    np.save(tmp_path / "images.npy", images)
    saved_model_cli(
        "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serve_float",
        "--inputs", f"image={tmp_path / 'images.npy'}", "--outdir", str(tmp_path / "out"),
    )  # fmt: skip
    served = np.load(tmp_path / "out" / "image.npy")
    expected = keras_float(model, images)
    assert served.dtype == np.float32 and served.shape == (2, 32, 44, 3)
    assert np.abs(served - expected).max() < 1e-5
    assert 0.05 < np.mean(expected) < 0.95 and np.mean((expected > 0) & (expected < 1)) > 0.5  # mostly unclipped


def test_serve_image_bytes_batch_of_mixed_sizes_and_formats(saved_model, tmp_path):
    path, model = saved_model
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    photo = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (5, 5, 1), dtype=np.uint8)
    encoded = [
        tf.io.encode_png(rgb).numpy(),
        tf.io.encode_jpeg(photo, quality=90).numpy(),
        tf.io.encode_png(gray).numpy(),
    ]
    # What the server sees after decoding (JPEG is lossy; grey is replicated to RGB).
    decoded = [rgb, tf.io.decode_jpeg(encoded[1], channels=3).numpy(), np.repeat(gray, 3, axis=-1)]
    np.save(tmp_path / "bytes.npy", np.array(encoded, dtype=object), allow_pickle=True)
    saved_model_cli(
        "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serve_image_bytes",
        "--inputs", f"image_bytes={tmp_path / 'bytes.npy'}", "--outdir", str(tmp_path / "out"),
    )  # fmt: skip
    served = np.load(tmp_path / "out" / "png_bytes.npy", allow_pickle=True)
    assert served.shape == (3,)
    for png, lr in zip(served, decoded):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = tf.io.decode_png(png).numpy()
        expected = keras_uint8(model, lr[None])[0]
        assert image.shape == expected.shape == (4 * lr.shape[0], 4 * lr.shape[1], 3)
        assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1


def test_versions_count_up_and_are_never_overwritten(models, tmp_path):
    model = models["srresnet"]
    first = export.export_saved_model(model, str(tmp_path), "m")  # no version: 1 for a new model
    assert os.path.basename(first) == "1"
    assert export.export_saved_model(model, str(tmp_path), "m", version=7).endswith(os.path.join("m", "7"))
    assert export.next_version(str(tmp_path / "m")) == 8  # what the next export without a version takes
    (tmp_path / "m" / "2").mkdir()  # a folder TF Serving would load as version 2 (even half-written)
    with pytest.raises(ValueError, match=r"m/2 already exists; pick another --version \(next free: 8\)"):
        export.export_saved_model(model, str(tmp_path), "m", version=2)
    (tmp_path / "m" / "2").rmdir()
    with pytest.raises(ValueError, match="model name"):
        export.export_saved_model(model, str(tmp_path), "a/b")
    # Only integer folders (what TF Serving loads); no staging leftovers; readable by a server
    # running as another user (as umask allows).
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "7"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o777 & ~umask
