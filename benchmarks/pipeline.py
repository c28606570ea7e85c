"""Training input pipeline throughput: batches of HR/LR crop pairs per second."""

from __future__ import annotations

import os

from benchmarks.timing import time_repeated


def run(data: str | None = None, crop_size: int = 96, scale: int = 4, batch_size: int = 16, batches: int = 50, repeats: int = 5) -> dict:
    """Times `batches` consecutive batches from an already-warm iterator, `repeats` times."""
    from sr_keras.data import pipeline, sources

    if data is None:
        shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "train_hr")
        data = shared if os.path.isdir(shared) else "embedded"
    images = sources.load_source(data)
    iterator = iter(pipeline.training_dataset(images, crop_size, scale, batch_size, seed=0))

    def consume():
        for _ in range(batches):
            next(iterator)

    timing = time_repeated(consume, repeats, warmup=1)
    return {
        "data": os.path.normpath(data) if data != "embedded" else data,
        "images": len(images),
        "batch_size": batch_size,
        "hr_crop": crop_size,
        "scale": scale,
        "batches_per_repeat": batches,
        "batches_per_s_median": batches / timing["median_s"],
        "crop_pairs_per_s_median": batches * batch_size / timing["median_s"],
        **{key: value / batches for key, value in timing.items() if key.endswith("_s")},
        "seconds_are": "per batch",
    }
