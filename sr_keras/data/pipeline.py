"""`tf.data` pipelines: random aligned LR/HR training crops, and whole validation images.

Training pairs are made as the papers' (and BasicSR's paired datasets) are: each HR photo is
cropped to a multiple of `scale` (bottom/right, as benchmark HR images are) and downsampled ONCE,
whole, by MATLAB bicubic x1/scale (`whole_image_lr`, TF ops run by `tf.data`, float64, then rounded
to 8 bits as LR PNG files are unless quantize_lr=False).  A training pair is the LR crop at (y, x)
and the HR crop at (scale*y, scale*x), so every LR pixel is computed from real photo pixels (an LR
made from each HR crop instead would have its outer 2 pixels per side computed from mirrored
pixels that are not in the photo).  With augment=True both crops get the same random horizontal
flip and 90-degree rotation (ESRGAN; SRGAN uses plain crops).

Training stream.  Example k of the stream (k = 0, 1, 2, ...) is a pure function of (seed, k):
  * epoch e = k // N visits the N images in the order of a stateless shuffle seeded by (seed, e);
  * the crop position, horizontal flip and 90-degree rotation come from stateless uniforms seeded
    by (seed, k).
So the stream is deterministic for a seed, parallel `map` cannot reorder it, and resuming at
batch b is `training_dataset(..., start_batch=b)`: the data iterator's whole state is the step.

Values: HR crops are float32 [0, 1] (8-bit values); LR crops are float32 [0, 1].
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from sr_keras import metrics
from sr_keras.data import images as image_io
from sr_keras.data.sources import NamedImage, drop_smaller_than
from sr_keras.ops.imresize import imresize, imresize_tf


@dataclasses.dataclass(frozen=True)
class PackedImages:
    """Images of one dtype packed into one flat buffer so `tf.data` can crop any of them.

    flat: [sum(H*W*3)] (uint8, or float32 for unquantised LR); offsets: [N] int64 start of each
    image; shapes: [N, 2] int64 (H, W).
    """

    flat: tf.Tensor
    offsets: tf.Tensor
    shapes: tf.Tensor

    @classmethod
    def from_arrays(cls, arrays: list[np.ndarray]) -> "PackedImages":
        sizes = [array.size for array in arrays]
        return cls(
            flat=tf.constant(np.concatenate([array.reshape(-1) for array in arrays])),
            offsets=tf.constant(np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)),
            shapes=tf.constant(np.array([array.shape[:2] for array in arrays], dtype=np.int64)),
        )

    def crop(self, index: tf.Tensor, top: tf.Tensor, left: tf.Tensor, size: int) -> tf.Tensor:
        """[size, size, 3] crop of image `index` with its top-left corner at (top, left)."""
        width = self.shapes[index][1]
        # Gather only the crop's values: row r starts at offset + ((top + r) * W + left) * 3.
        row_starts = self.offsets[index] + ((top + tf.range(size, dtype=tf.int64)) * width + left) * 3
        flat_indices = row_starts[:, None] + tf.range(size * 3, dtype=tf.int64)[None, :]
        return tf.reshape(tf.gather(self.flat, flat_indices), [size, size, 3])


def whole_image_lr(hr_images: list[np.ndarray], scale: int, quantize_lr: bool = True) -> list[np.ndarray]:
    """MATLAB bicubic x1/scale of each whole uint8 HR image (sides multiples of scale).

    Computed by `imresize_tf` in float64 in a parallel, order-keeping `tf.data` map, so the 8-bit
    values equal `make_lr`'s (numpy float64).  Returns uint8 [H/s, W/s, 3] arrays, or float32 in
    [0, 1] (clipped, not rounded) with quantize_lr=False.
    """

    def downsample(hr):
        lr = imresize_tf(tf.cast(hr, tf.float64) / 255.0, scale=1.0 / scale, dtype=tf.float64)
        if quantize_lr:  # clipped and rounded half up as MATLAB's im2uint8, by the evaluation's own function
            lr = tf.numpy_function(metrics.to_uint8, [lr], tf.uint8, stateful=False)
            return tf.ensure_shape(lr, [None, None, 3])
        return tf.cast(tf.clip_by_value(lr, 0.0, 1.0), tf.float32)

    dataset = tf.data.Dataset.from_generator(lambda: iter(hr_images), output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    dataset = dataset.map(downsample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return [lr.numpy() for lr in dataset]


@dataclasses.dataclass(frozen=True)
class ImageStore:
    """The training images, HR cropped to a multiple of `scale`, with their whole-image LR.

    hr: uint8 packed HR images [H, W, 3]; lr: packed LR images [H/scale, W/scale, 3], uint8
    (quantised) or float32 [0, 1].  Built once per run: the LR is computed once per image.
    """

    names: tuple[str, ...]
    scale: int
    hr: PackedImages
    lr: PackedImages

    @classmethod
    def from_images(cls, images: list[NamedImage], scale: int, quantize_lr: bool = True) -> "ImageStore":
        if not images:
            raise ValueError("no images to train on")
        hr = [np.ascontiguousarray(image_io.crop_to_multiple(item.image, scale)) for item in images]
        return cls(
            names=tuple(item.name for item in images),
            scale=scale,
            hr=PackedImages.from_arrays(hr),
            lr=PackedImages.from_arrays(whole_image_lr(hr, scale, quantize_lr)),
        )

    def __len__(self) -> int:
        return len(self.names)


def dihedral(image: tf.Tensor, flip: tf.Tensor, quarter_turns: tf.Tensor) -> tf.Tensor:
    """[H, W, C] image, flipped left-right if `flip`, then rotated by 90 degrees `quarter_turns` times."""
    image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
    return tf.image.rot90(image, k=quarter_turns)


def _random_aligned_pair(store: ImageStore, index: tf.Tensor, seed: int, crop_size: int, augment: bool):
    """Example `index` of the stream: (lr [c/s, c/s, 3], hr [c, c, 3]) float32 [0, 1]."""
    num_images = tf.constant(len(store), tf.int64)
    epoch, position = index // num_images, index % num_images
    order = tf.random.experimental.stateless_shuffle(
        tf.range(num_images), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
    )
    image_index = order[position]
    uniforms = tf.random.stateless_uniform([4], seed=tf.stack([tf.constant(seed, tf.int64) + 1, index]), dtype=tf.float32)
    lr_size = crop_size // store.scale
    lr_height, lr_width = store.lr.shapes[image_index][0], store.lr.shapes[image_index][1]
    # The position is drawn on the LR grid; the HR crop is the block of HR pixels it came from.
    top = tf.minimum(tf.cast(uniforms[0] * tf.cast(lr_height - lr_size + 1, tf.float32), tf.int64), lr_height - lr_size)
    left = tf.minimum(tf.cast(uniforms[1] * tf.cast(lr_width - lr_size + 1, tf.float32), tf.int64), lr_width - lr_size)
    lr = store.lr.crop(image_index, top, left, lr_size)
    hr = store.hr.crop(image_index, top * store.scale, left * store.scale, crop_size)
    if augment:
        flip, quarter_turns = uniforms[2] < 0.5, tf.cast(uniforms[3] * 4.0, tf.int32) % 4
        lr, hr = dihedral(lr, flip, quarter_turns), dihedral(hr, flip, quarter_turns)
    if lr.dtype == tf.uint8:
        lr = tf.cast(lr, tf.float32) / 255.0
    return lr, tf.cast(hr, tf.float32) / 255.0


def training_dataset(
    images: list[NamedImage],
    crop_size: int = 96,
    scale: int = 4,
    batch_size: int = 16,
    seed: int = 0,
    start_batch: int = 0,
    augment: bool = True,
    quantize_lr: bool = True,
) -> tf.data.Dataset:
    """Infinite dataset of (lr [B, c/s, c/s, 3], hr [B, c, c, 3]) float32 [0, 1] batches.

    Each pair is the LR crop at (y, x) of the whole-image MATLAB-bicubic LR and the HR crop at
    (scale*y, scale*x); augment=True applies one random element of the 8 flips/rotations to both
    (ESRGAN), augment=False gives plain crops (SRGAN).  Images smaller than `crop_size` are
    skipped with a warning naming them.  `start_batch` resumes the stream exactly where a run that
    consumed that many batches stopped.
    """
    if crop_size % scale:
        raise ValueError(f"crop_size {crop_size} must be a multiple of scale {scale}")
    store = ImageStore.from_images(drop_smaller_than(images, crop_size), scale, quantize_lr)
    first = tf.constant(start_batch * batch_size, tf.int64)
    dataset = tf.data.Dataset.counter(start=first)
    dataset = dataset.map(
        lambda k: _random_aligned_pair(store, k, seed, crop_size, augment),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """uint8 HR [H, W, 3] (sides multiples of scale) -> uint8 LR by MATLAB bicubic, rounded."""
    return metrics.to_uint8(imresize(hr.astype(np.float64) / 255.0, scale=1.0 / scale))


@dataclasses.dataclass(frozen=True)
class EvalPair:
    """One benchmark image: HR cropped to a multiple of the scale, and its MATLAB-bicubic LR."""

    name: str
    hr: np.ndarray  # uint8 [H, W, 3]
    lr: np.ndarray  # uint8 [H/scale, W/scale, 3]


def evaluation_pairs(images: list[NamedImage], scale: int) -> list[EvalPair]:
    """Benchmark convention: crop each HR to a multiple of `scale`, LR by MATLAB bicubic."""
    pairs = []
    for item in images:
        hr = image_io.crop_to_multiple(item.image, scale)
        pairs.append(EvalPair(item.name, hr, make_lr(hr, scale)))
    return pairs


def validation_dataset(pairs: list[EvalPair]) -> tf.data.Dataset:
    """Whole images one at a time: (lr [1, h, w, 3], hr [1, H, W, 3]) float32 [0, 1]."""

    def generate():
        for pair in pairs:
            yield pair.lr.astype(np.float32)[None] / 255.0, pair.hr.astype(np.float32)[None] / 255.0

    signature = (
        tf.TensorSpec([1, None, None, 3], tf.float32),
        tf.TensorSpec([1, None, None, 3], tf.float32),
    )
    return tf.data.Dataset.from_generator(generate, output_signature=signature).cache()
