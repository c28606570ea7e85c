"""Training input pipeline throughput: batches of HR/LR crop pairs per second.

Full run: batch 16 of 96 px HR crops (the srresnet_mse_update batch) from ../shared/data/train_hr
when present, else the embedded photos.  --smoke: batch 4 of 32 px crops from the embedded photos.
"""

from __future__ import annotations

import os

from benchmarks.timing import time_repeated

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "train_hr")


def run(data: str | None = None, smoke: bool = False, repeats: int | None = None, scale: int = 4) -> dict:
    """Times `batches` consecutive batches from an already-warm iterator, `repeats` times."""
    from sr_keras.data import pipeline, sources

    crop_size, batch_size, batches = (32, 4, 5) if smoke else (96, 16, 50)
    repeats = repeats or (2 if smoke else 5)
    if data is None:
        data = SHARED if os.path.isdir(SHARED) and not smoke else "embedded"
    images = sources.load_source(data)
    iterator = iter(pipeline.training_dataset(images, crop_size, scale, batch_size, seed=0))

    def consume():
        for _ in range(batches):
            next(iterator)

    timing = time_repeated(consume, repeats, warmup=1)
    per_batch = timing["median_s"] / batches

    def per_batch_of(seconds):  # a time, or the list of samples, per repeat -> per batch
        return [s / batches for s in seconds] if isinstance(seconds, list) else seconds / batches

    return {
        "data": os.path.normpath(data) if data != "embedded" else data,
        "images": len(images),
        "batch_size": batch_size,
        "hr_crop": crop_size,
        "scale": scale,
        "batches_per_repeat": batches,
        "seconds_are": "per batch",
        **{key: per_batch_of(value) for key, value in timing.items() if key.endswith("_s") and value is not None},
        "repeats": timing["repeats"],
        "warmup": timing["warmup"],
        "batches_per_s": 1.0 / per_batch,
        "crop_pairs_per_s": batch_size / per_batch,
        "hr_megapixels_per_s": batch_size * crop_size**2 / 1e6 / per_batch,
    }
