"""Where HR images come from: a folder, a TFDS dataset, or the photos embedded in the package.

A source is named by one string, the same in every program (`--data`, `--hr_dir`, `--val_data`):
  * ``embedded``                 the public-domain/CC0 photos in `sr_keras/data/photos`
                                 (see LICENSES.md there): the offline default;
  * ``tfds:NAME[:SPLIT]``        a TensorFlow Datasets dataset, e.g. ``tfds:div2k/bicubic_x4:train``
                                 (its ``hr`` feature) or any dataset with an ``image`` feature;
  * anything else                a folder of PNG/JPEG/BMP/GIF files (Set5/Set14/BSD100/Urban100,
                                 DIV2K_train_HR, your own photos).

All are decoded once into memory as uint8 RGB arrays.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from absl import logging

from sr_keras.data import images as image_io

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "photos")


@dataclasses.dataclass(frozen=True)
class NamedImage:
    """A decoded image: `name` for reports and errors, `image` uint8 [H, W, 3] RGB."""

    name: str
    image: np.ndarray


def load_folder(folder: str) -> list[NamedImage]:
    """Decode every image in `folder` (sorted by file name); unreadable files raise, naming them."""
    return [NamedImage(os.path.basename(path), image_io.read_image(path)) for path in image_io.list_images(folder)]


def load_embedded() -> list[NamedImage]:
    """The photos shipped with the package (public domain / CC0)."""
    return load_folder(EMBEDDED_DIR)


def load_tfds(name: str, split: str = "train", data_dir: str | None = None) -> list[NamedImage]:
    """Decode the HR images of a TFDS split (feature ``hr`` if present, else ``image``).

    TFDS prepares datasets under `data_dir` (default ~/tensorflow_datasets).  DIV2K downloads
    itself on a machine with internet (`tfds build div2k/bicubic_x4 --data_dir=DIR`); copy DIR to
    an offline machine and pass it as data_dir.  Datasets that need a manual download look for the
    archives in DIR/downloads/manual.
    """
    import tensorflow_datasets as tfds  # imported lazily: it is slow to import

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        if not builder.is_prepared():
            builder.download_and_prepare()
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except Exception as error:  # TFDS raises many types (DatasetNotFoundError, download errors...)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(
            f"tfds:{name}:{split}: cannot load the dataset from data_dir={data_dir or '~/tensorflow_datasets'} "
            f"({type(error).__name__}: {first_line}). Prepare it where there is internet with "
            f"`tfds build {name} --data_dir=DIR`, copy DIR here and pass it as the data_dir."
        ) from None
    features = builder.info.features
    key = "hr" if "hr" in features else "image" if "image" in features else None
    if key is None:
        raise ValueError(f"tfds:{name}: no 'hr' or 'image' feature (features: {list(features)})")
    result = []
    for index, example in enumerate(tfds.as_numpy(dataset)):
        image = example[key]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        result.append(NamedImage(f"{name}:{split}:{index:05d}", np.ascontiguousarray(image[..., :3].astype(np.uint8))))
    return result


def load_source(spec: str, data_dir: str | None = None) -> list[NamedImage]:
    """Decode the images of a source string (see the module docstring)."""
    if spec == "embedded":
        return load_embedded()
    if spec.startswith("tfds:"):
        parts = spec[len("tfds:") :].split(":")
        name = parts[0]
        split = parts[1] if len(parts) > 1 else "train"
        return load_tfds(name, split, data_dir)
    return load_folder(spec)


def drop_smaller_than(images: list[NamedImage], min_size: int) -> list[NamedImage]:
    """Keep images whose sides are both >= min_size; warn, naming each image skipped."""
    kept = []
    for item in images:
        height, width = item.image.shape[:2]
        if height < min_size or width < min_size:
            logging.warning("skipping %s: %dx%d is smaller than the %d px crop", item.name, width, height, min_size)
        else:
            kept.append(item)
    return kept
