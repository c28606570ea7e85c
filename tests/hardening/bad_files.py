"""Bad image files made by the tests: decompression bombs (valid PNGs of huge size written from a
few KB of compressed rows, never a huge array), truncated and corrupt files."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_of_zeros(path: str, height: int, width: int) -> int:
    """Write a valid 8-bit RGB PNG of height x width black pixels; returns the file size.

    The rows (filter byte 0 + 3 * width zero bytes) are compressed one at a time, so a 16000 x 16000
    image (768 MB decoded) is written from a 48 KB row buffer and is about 750 KB on disk.
    """
    row = bytes(1 + 3 * width)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    content = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
    with open(path, "wb") as handle:
        handle.write(content)
    return len(content)


def random_png_bytes(height: int, width: int, seed: int = 0) -> bytes:
    """PNG bytes of a smooth random RGB image (compresses to a few KB, like the issue's 2,987-byte PNG)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3)).astype(np.float32)
    image = tf.image.resize(small[None], (height, width), method="bilinear")[0]
    return tf.io.encode_png(tf.cast(tf.round(image), tf.uint8)).numpy()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first `keep` fraction of a file."""
    return data[: max(1, int(len(data) * keep))]


def corrupted(data: bytes, start: int = 40) -> bytes:
    """`data` with bytes from `start` on replaced by a repeating garbage pattern (header kept)."""
    garbage = (b"\x13\x37\xde\xad" * (len(data) // 4 + 1))[: len(data) - start]
    return data[:start] + garbage
