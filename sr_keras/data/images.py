"""Reading and writing image files as 8-bit RGB.

Every reader returns uint8 [H, W, 3] RGB: grayscale is replicated to three channels, RGBA loses
its alpha, 16-bit images are scaled to 8 bits (v * 255 / 65535, rounded), palette images are
expanded.  A file that cannot be decoded raises `ImageReadError` naming the file and the problem
in plain words; an image over MAX_IMAGE_PIXELS is refused from its header, before decoding.
"""

from __future__ import annotations

import os
import re
import struct

import numpy as np

from sr_keras.atomic_files import write_bytes_atomically

# TensorFlow is imported where images are decoded or encoded, so that listing and header checks
# (sr-upscale's argument checks) do not pay for it.

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")

# Largest image (pixels) read by default, checked from the file header before decoding: Pillow's
# decompression-bomb limit (PIL.Image.MAX_IMAGE_PIXELS, 1024 * 1024 * 1024 // 4 // 3 = 89,478,485,
# about 0.25 GB of RGB).  Programs set it from --max_image_pixels; 0 disables the check.
MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3


class ImageReadError(ValueError):
    """An image file is missing, unreadable or not an image; the message names the file."""


def list_images(folder: str) -> list[str]:
    """Sorted paths of the image files (by extension, case-insensitive) directly in `folder`."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: not a directory")
    paths = sorted(
        os.path.join(folder, name) for name in os.listdir(folder) if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    if not paths:
        raise FileNotFoundError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return paths


def image_size(data: bytes, name: str = "<bytes>") -> tuple[int, int]:
    """(height, width) of an encoded PNG/JPEG/BMP/GIF, read from its header without decoding.

    Raises ImageReadError naming `name` for an unknown format or a header cut short.
    """
    head = data[:32]
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            if len(data) < 24 or data[12:16] != b"IHDR":
                raise ImageReadError(f"{name}: truncated or corrupt PNG header")
            width, height = struct.unpack(">II", data[16:24])
            return height, width
        if head.startswith((b"GIF87a", b"GIF89a")):
            width, height = struct.unpack("<HH", data[6:10])
            return height, width
        if head.startswith(b"BM"):
            (dib_size,) = struct.unpack("<I", data[14:18])
            if dib_size == 12:  # BITMAPCOREHEADER
                width, height = struct.unpack("<HH", data[18:22])
            else:
                width, height = struct.unpack("<ii", data[18:26])
            return abs(height), abs(width)  # height < 0: a top-down bitmap
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(data, name)
    except struct.error:
        raise ImageReadError(f"{name}: truncated image header") from None
    raise ImageReadError(f"{name}: not a PNG, JPEG, BMP or GIF image (the file starts with {head[:8]!r})")


def _jpeg_size(data: bytes, name: str) -> tuple[int, int]:
    """Walk the JPEG markers to the first start-of-frame (SOF0-SOF15, except DHT, JPG, DAC)."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageReadError(f"{name}: corrupt JPEG header (no marker at byte {position})")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return height, width
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        position += 2 + length
    raise ImageReadError(f"{name}: truncated or corrupt JPEG header (no frame size found)")


def _plain_words(error: Exception) -> str:
    """TensorFlow's error text without op internals ({{function_node ...}}, [Op:...], node names)."""
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\]", "", text)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(error).__name__


def check_pixel_limit(height: int, width: int, name: str, max_pixels: int | None = None) -> None:
    """Raise ImageReadError if height x width is over `max_pixels` (default: MAX_IMAGE_PIXELS)."""
    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit and height * width > limit:
        raise ImageReadError(
            f"{name}: {width}x{height} pixels ({height * width:,}) is over the limit of {limit:,} pixels "
            "(a decompression bomb?); if the image is genuine, raise the limit with --max_image_pixels"
        )
    if height <= 0 or width <= 0:
        raise ImageReadError(f"{name}: the header says the image is {width}x{height} pixels (empty)")


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int | None = None, keep_channels: bool = False) -> np.ndarray:
    """Encoded PNG/JPEG/BMP/GIF bytes -> uint8 [H, W, 3] RGB; `name` is used in errors.

    The size is read from the header first and checked against `max_pixels` (default
    MAX_IMAGE_PIXELS; 0 = no limit) before anything is decoded.  `keep_channels` returns
    [H, W, C] with the file's channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) instead of RGB.
    """
    if not data:
        raise ImageReadError(f"{name}: file is empty")
    height, width = image_size(data, name)
    check_pixel_limit(height, width, name, max_pixels)
    kind = image_kind(data)
    import tensorflow as tf

    try:
        image = tf.io.decode_image(data, expand_animations=False)  # uint8 or uint16, 1-4 channels
    except tf.errors.OpError as error:
        raise ImageReadError(f"{name}: cannot decode this {kind} image, the file is truncated or corrupt ({_plain_words(error)})") from None
    image = image.numpy()
    if image.dtype == np.uint16:
        image = np.round(image.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    if keep_channels:
        return np.ascontiguousarray(image)
    channels = image.shape[-1]
    if channels in (1, 2):  # gray, gray+alpha
        image = np.repeat(image[..., :1], 3, axis=-1)
    elif channels == 4:  # RGBA
        image = image[..., :3]
    return np.ascontiguousarray(image)


def image_kind(data: bytes) -> str:
    """'PNG', 'JPEG', 'BMP', 'GIF' from the magic bytes, else 'unknown'."""
    if data.startswith(b"\x89PNG"):
        return "PNG"
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"GIF8"):
        return "GIF"
    return "unknown"


def read_image(path: str, max_pixels: int | None = None, keep_channels: bool = False) -> np.ndarray:
    """Image file -> uint8 [H, W, 3] RGB (or the file's channels).  Raises ImageReadError naming `path`.

    The one image-reading path of the package (sources, sr-eval, sr-upscale): see `decode_image`
    for the pixel limit checked from the header before decoding.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read file ({error.strerror})") from None
    return decode_image(data, name=path, max_pixels=max_pixels, keep_channels=keep_channels)


def write_png(path: str, image: np.ndarray) -> None:
    """Write a uint8 [H, W, C] image (C = 1, 3 or 4) as PNG, creating parent folders."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    import tensorflow as tf

    content = tf.io.encode_png(np.asarray(image, dtype=np.uint8)).numpy()
    write_bytes_atomically(path, content)  # a killed run leaves no half-written PNG


def crop_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of `multiple` (benchmark convention)."""
    height, width = image.shape[0] - image.shape[0] % multiple, image.shape[1] - image.shape[1] % multiple
    return image[:height, :width]
