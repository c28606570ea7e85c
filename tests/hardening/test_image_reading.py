"""The one image-reading path: sizes from the header (checked against Pillow's), the pixel limit
before decoding (the 16000x16000 bomb), plain-word messages naming the file."""

import io

import numpy as np
import pytest
from PIL import Image

from sr_keras.data import images as image_io
from sr_keras.data import sources
from tests.hardening.bad_files import corrupted, truncated


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt,options", [("PNG", {}), ("JPEG", {"quality": 80}), ("JPEG", {"progressive": True}), ("BMP", {}), ("GIF", {})])
def test_header_size_equals_pillows(fmt, options):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (23, 31, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010F] = "camera"  # an APP1 segment before the frame header
    if fmt == "JPEG":
        options = {**options, "exif": exif.tobytes()}
    data = encoded(image, fmt, **options)
    assert image_io.image_size(data, "x") == (23, 31) == Image.open(io.BytesIO(data)).size[::-1]


def test_the_bomb_is_refused_from_its_header(bomb_png, tmp_path):
    message = rf"{bomb_png}: 16000x16000 pixels \(256,000,000\) is over the limit of 89,478,485 pixels"
    with pytest.raises(image_io.ImageReadError, match=message):
        image_io.read_image(bomb_png)
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(open(bomb_png, "rb").read())
    with pytest.raises(image_io.ImageReadError, match="bomb.png: 16000x16000 pixels"):  # sr-eval's and sr-train's path
        sources.load_source(str(folder))


def test_limit_is_a_setting_and_zero_disables_it(tmp_path):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(image_io.ImageReadError, match=r"40x30 pixels \(1,200\) is over the limit of 1,199 pixels"):
        image_io.read_image(str(tmp_path / "a.png"), max_pixels=1199)
    assert image_io.read_image(str(tmp_path / "a.png"), max_pixels=1200).shape == (30, 40, 3)
    assert image_io.read_image(str(tmp_path / "a.png"), max_pixels=0).shape == (30, 40, 3)


def test_bad_files_get_plain_messages_naming_the_file(tmp_path):
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 48, 3), dtype=np.uint8))
    png, jpeg = encoded(image, "PNG"), encoded(image, "JPEG", quality=90)
    cases = {
        "truncated.png": (truncated(png, 0.5), "cannot decode this PNG image, the file is truncated or corrupt"),
        "corrupt.jpg": (corrupted(jpeg, 300), "cannot decode this JPEG image, the file is truncated or corrupt"),
        "header_only.jpg": (jpeg[:20], "truncated or corrupt JPEG header"),
        "empty.png": (b"", "file is empty"),
        "text.png": (b"hello, not an image", "not a PNG, JPEG, BMP or GIF image"),
        "short.png": (png[:15], "truncated or corrupt PNG header"),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(image_io.ImageReadError) as error:
            image_io.read_image(str(tmp_path / name))
        message = str(error.value)
        assert message.startswith(f"{tmp_path / name}: ") and expected in message, message
        assert "function_node" not in message and "[Op:" not in message and "{{" not in message and "\n" not in message


def test_keep_channels_reads_gray_and_alpha_as_they_are(tmp_path):
    la = np.random.default_rng(2).integers(0, 256, (5, 6, 2), dtype=np.uint8)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(image_io.read_image(str(tmp_path / "la.png"), keep_channels=True), la)
    assert image_io.read_image(str(tmp_path / "la.png")).shape == (5, 6, 3)
