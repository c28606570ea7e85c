"""Reading and writing image files as 8-bit RGB.

Every reader returns uint8 [H, W, 3] RGB: grayscale is replicated to three channels, RGBA loses
its alpha, 16-bit images are scaled to 8 bits (v * 255 / 65535, rounded), palette images are
expanded.  A file that cannot be decoded raises `ImageReadError` naming the file.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


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


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded PNG/JPEG/BMP/GIF bytes -> uint8 [H, W, 3] RGB; `name` is used in errors."""
    try:
        image = tf.io.decode_image(data, expand_animations=False)  # uint8 or uint16, 1-4 channels
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ImageReadError(f"{name}: cannot decode image ({message})") from None
    image = image.numpy()
    if image.dtype == np.uint16:
        image = np.round(image.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    channels = image.shape[-1]
    if channels in (1, 2):  # gray, gray+alpha
        image = np.repeat(image[..., :1], 3, axis=-1)
    elif channels == 4:  # RGBA
        image = image[..., :3]
    return np.ascontiguousarray(image)


def read_image(path: str) -> np.ndarray:
    """Image file -> uint8 [H, W, 3] RGB.  Raises ImageReadError naming `path`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read file ({error.strerror})") from None
    if not data:
        raise ImageReadError(f"{path}: file is empty")
    return decode_image(data, name=path)


def write_png(path: str, image: np.ndarray) -> None:
    """Write a uint8 [H, W, C] image (C = 1, 3 or 4) as PNG, creating parent folders."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(np.asarray(image, dtype=np.uint8)))


def crop_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of `multiple` (benchmark convention)."""
    height, width = image.shape[0] - image.shape[0] % multiple, image.shape[1] - image.shape[1] % multiple
    return image[:height, :width]
