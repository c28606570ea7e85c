"""Every supported file kind decodes to uint8 RGB; bad files fail naming the file."""

import numpy as np
import pytest
from PIL import Image

from sr_keras.data import images as image_io
from sr_keras.data import sources


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (10, 14, 3), dtype=np.uint8)


def test_png_bmp_roundtrip_exact(tmp_path, rgb):
    for ext in ("png", "bmp"):
        Image.fromarray(rgb).save(tmp_path / f"a.{ext}")
        np.testing.assert_array_equal(image_io.read_image(str(tmp_path / f"a.{ext}")), rgb)


def test_jpeg_decodes_to_rgb(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=95)
    out = image_io.read_image(str(tmp_path / "a.jpg"))
    assert out.shape == (10, 14, 3) and out.dtype == np.uint8


def test_grayscale_rgba_palette_and_16_bit(tmp_path, rgb):
    gray = rgb[..., 0]
    Image.fromarray(gray).save(tmp_path / "gray.png")
    np.testing.assert_array_equal(image_io.read_image(str(tmp_path / "gray.png")), np.repeat(gray[..., None], 3, -1))

    rgba = np.concatenate([rgb, np.full((10, 14, 1), 7, np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(image_io.read_image(str(tmp_path / "rgba.png")), rgb)

    palette = Image.fromarray(rgb).quantize(colors=16)
    palette.save(tmp_path / "palette.png")
    np.testing.assert_array_equal(image_io.read_image(str(tmp_path / "palette.png")), np.array(palette.convert("RGB")))

    deep = (gray.astype(np.uint16) * 257)  # 8-bit value v as 16-bit v*257 scales back to v exactly
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_array_equal(image_io.read_image(str(tmp_path / "deep.png")), np.repeat(gray[..., None], 3, -1))


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(image_io.ImageReadError, match="broken.png"):
        image_io.read_image(str(bad))
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(image_io.ImageReadError, match="empty.jpg: file is empty"):
        image_io.read_image(str(tmp_path / "empty.jpg"))
    with pytest.raises(image_io.ImageReadError, match="missing.png"):
        image_io.read_image(str(tmp_path / "missing.png"))


def test_folder_listing_and_empty_folder(tmp_path, rgb):
    with pytest.raises(FileNotFoundError, match="no image files"):
        sources.load_folder(str(tmp_path))
    Image.fromarray(rgb).save(tmp_path / "b.PNG")
    Image.fromarray(rgb).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    assert [item.name for item in sources.load_folder(str(tmp_path))] == ["a.jpg", "b.PNG"]


def test_embedded_photos_are_real_and_licensed():
    photos = sources.load_source("embedded")
    assert len(photos) >= 5
    licenses = open(sources.EMBEDDED_DIR + "/LICENSES.md").read()
    for item in photos:
        assert item.name in licenses
        assert min(item.image.shape[:2]) >= 256 and item.image.std() > 20  # real photos, not flat fills


def test_crop_to_multiple(rgb):
    assert image_io.crop_to_multiple(rgb, 4).shape == (8, 12, 3)
