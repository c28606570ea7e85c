"""`tf.data` pipelines: random training crops with MATLAB-bicubic LR, and whole validation images.

Training stream.  Example k of the stream (k = 0, 1, 2, ...) is a pure function of (seed, k):
  * epoch e = k // N visits the N images in the order of a stateless shuffle seeded by (seed, e);
  * the crop position, horizontal flip and 90-degree rotation come from stateless uniforms seeded
    by (seed, k).
So the stream is deterministic for a seed, parallel `map` cannot reorder it, and resuming at
batch b is `training_dataset(..., start_batch=b)`: the data iterator's whole state is the step.

Values: HR crops are float32 [0, 1]; LR = MATLAB bicubic of the HR crop by 1/scale, then
quantised to 8 bits (as LR PNG files are) unless quantize_lr=False.
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
class ImageStore:
    """Decoded images packed into one flat uint8 buffer so `tf.data` can crop any of them.

    flat: [sum(H*W*3)] uint8; offsets: [N] int64 start of each image; shapes: [N, 2] int64 (H, W).
    """

    names: tuple[str, ...]
    flat: tf.Tensor
    offsets: tf.Tensor
    shapes: tf.Tensor

    @classmethod
    def from_images(cls, images: list[NamedImage]) -> "ImageStore":
        if not images:
            raise ValueError("no images to train on")
        sizes = [item.image.size for item in images]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        flat = np.concatenate([item.image.reshape(-1) for item in images])
        shapes = np.array([item.image.shape[:2] for item in images], dtype=np.int64)
        return cls(
            names=tuple(item.name for item in images),
            flat=tf.constant(flat),
            offsets=tf.constant(offsets),
            shapes=tf.constant(shapes),
        )

    def __len__(self) -> int:
        return len(self.names)


def _random_crop_pair(store: ImageStore, index: tf.Tensor, seed: int, crop_size: int, scale: int, augment: bool, quantize_lr: bool):
    num_images = tf.constant(len(store), tf.int64)
    epoch, position = index // num_images, index % num_images
    order = tf.random.experimental.stateless_shuffle(
        tf.range(num_images), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
    )
    image_index = order[position]
    uniforms = tf.random.stateless_uniform([4], seed=tf.stack([tf.constant(seed, tf.int64) + 1, index]), dtype=tf.float32)
    height, width = store.shapes[image_index][0], store.shapes[image_index][1]
    top = tf.cast(uniforms[0] * tf.cast(height - crop_size + 1, tf.float32), tf.int64)
    left = tf.cast(uniforms[1] * tf.cast(width - crop_size + 1, tf.float32), tf.int64)
    top = tf.minimum(top, height - crop_size)
    left = tf.minimum(left, width - crop_size)
    # Gather only the crop's bytes: row r of the crop starts at offset + ((top + r) * W + left) * 3.
    row_starts = store.offsets[image_index] + ((top + tf.range(crop_size, dtype=tf.int64)) * width + left) * 3
    flat_indices = row_starts[:, None] + tf.range(crop_size * 3, dtype=tf.int64)[None, :]
    hr = tf.reshape(tf.gather(store.flat, flat_indices), [crop_size, crop_size, 3])
    if augment:
        hr = tf.cond(uniforms[2] < 0.5, lambda: tf.image.flip_left_right(hr), lambda: hr)
        hr = tf.image.rot90(hr, k=tf.cast(uniforms[3] * 4.0, tf.int32) % 4)
    hr = tf.cast(hr, tf.float32) / 255.0
    lr = imresize_tf(hr, scale=1.0 / scale)
    if quantize_lr:
        lr = metrics.quantize_tf(lr) / 255.0
    return lr, hr


def training_dataset(
    images: list[NamedImage],
    crop_size: int = 96,
    scale: int = 4,
    batch_size: int = 16,
    seed: int = 0,
    start_batch: int = 0,
    augment: bool = True,
    quantize_lr: bool = True,
    shard_index: int = 0,
    num_shards: int = 1,
) -> tf.data.Dataset:
    """Infinite dataset of (lr [B, c/s, c/s, 3], hr [B, c, c, 3]) float32 [0, 1] batches.

    Images smaller than `crop_size` are skipped with a warning naming them.  `start_batch` resumes
    the stream exactly where a run that consumed that many batches stopped.  With num_shards > 1
    (multi-worker training) the dataset yields shard `shard_index`'s contiguous slice of every
    global batch: B / num_shards examples, so the shards' batches concatenated in shard order are
    exactly the unsharded batches (see `sharded_example_indices`).
    """
    if crop_size % scale:
        raise ValueError(f"crop_size {crop_size} must be a multiple of scale {scale}")
    store = ImageStore.from_images(drop_smaller_than(images, crop_size))
    dataset = sharded_example_indices(batch_size, start_batch, shard_index, num_shards)
    dataset = dataset.map(
        lambda k: _random_crop_pair(store, k, seed, crop_size, scale, augment, quantize_lr),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    dataset = dataset.batch(batch_size // num_shards, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def sharded_example_indices(batch_size: int, start_batch: int = 0, shard_index: int = 0, num_shards: int = 1) -> tf.data.Dataset:
    """Stream indices k of shard `shard_index`: its B/n-example slice of each global batch in turn.

    Global batch b holds examples b*B .. b*B + B - 1; shard i of n takes b*B + i*B/n .. b*B + (i+1)*B/n - 1.
    Each shard computes only its own examples (no worker decodes another's crops).
    """
    if num_shards < 1 or not 0 <= shard_index < num_shards or batch_size % num_shards:
        raise ValueError(f"batch_size {batch_size} must split evenly over {num_shards} shards (shard {shard_index})")
    local = batch_size // num_shards
    counter = tf.data.Dataset.counter(dtype=tf.int64)  # local example number m = 0, 1, 2, ...
    return counter.map(lambda m: (start_batch + m // local) * batch_size + shard_index * local + m % local)


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
