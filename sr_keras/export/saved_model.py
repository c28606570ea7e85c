"""SavedModels for TF Serving: the signatures of `sr_keras.export.serving`, versioned folders.

Written with `keras.export.ExportArchive` (`tf.saved_model.save` of a Keras 3 model gives a
SavedModel that TF Serving's loader cannot run, keras#19274) as ``<dir>/<model_name>/<version>/``,
the layout `tensorflow_model_server --model_base_path=<dir>/<model_name>` watches.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Iterable

import numpy as np

from sr_keras import tiling
from sr_keras.export_paths import check_version_free, next_version
from sr_keras.export.serving import DEFAULT_MAX_INPUT_PIXELS, SIGNATURES, serving_signatures

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def build_export_archive(
    model,
    signatures: Iterable[str] = SIGNATURES,
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS,
    memory_budget_mb: float = tiling.DEFAULT_MEMORY_BUDGET_MB,
    tile: int | None = None,
    tile_pad: int | None = None,
):
    """A `keras.export.ExportArchive` tracking `model` with the named signatures (default: all).

    A batch-norm SRResNet is exported in its inference form, BN folded into the convolutions
    (`sr_keras.archs.fold_batch_norm.inference_form`): the same outputs, fewer ops per pixel.
    """
    import keras

    from sr_keras.archs.fold_batch_norm import inference_form

    model = inference_form(model)

    available = serving_signatures(model, max_input_pixels, memory_budget_mb, tile, tile_pad)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name in signatures:
        function, input_signature = available[name]
        archive.add_endpoint(name, function, input_signature)
    return archive


def export_saved_model(
    model,
    output_dir: str,
    model_name: str = "sr",
    version: int | None = None,
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS,
    memory_budget_mb: float = tiling.DEFAULT_MEMORY_BUDGET_MB,
    tile: int | None = None,
    tile_pad: int | None = None,
) -> str:
    """Write the three signatures as ``output_dir/model_name/version/``; returns that path.

    `version` None takes the next free integer (1 for a new model).  An existing version is never
    overwritten (a running TF Serving may be serving it).  The SavedModel is written to a hidden
    sibling folder and renamed into place, so a model server polling the folder never sees a
    half-written version.  `max_input_pixels`, `memory_budget_mb`, `tile`, `tile_pad`: the request
    limit and the in-graph tiling (see `sr_keras.export.serving`).
    """
    if not _MODEL_NAME.match(model_name or ""):
        raise ValueError(f"model name {model_name!r}: use letters, digits, '_', '-' and '.' (it is part of the REST URL)")
    model_dir = os.path.join(output_dir, model_name)
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version!r}")
    version = int(version)
    final = check_version_free(model_dir, version)
    archive = build_export_archive(model, SIGNATURES, max_input_pixels, memory_budget_mb, tile, tile_pad)
    os.makedirs(model_dir, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would hide the model from a server run as another user.
    staging = os.path.join(model_dir, f".{version}.partial-{os.getpid()}-{os.urandom(4).hex()}")
    os.makedirs(staging)
    try:
        archive.write_out(staging, verbose=False)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
