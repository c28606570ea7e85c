"""Seconds per 128x128 -> 512x512 upscale (batch 1, float32) through four backends.

  keras            tf.function of model(x, training=False)
  saved_model      sr_keras.export.export_saved_model, reloaded, its serve_float signature
  litert_float32   sr_keras.export.convert_tflite(input_size=(128, 128)) in the ai_edge_litert
  litert_float16   Interpreter with num_threads = os.cpu_count()

The input is a crop of a real photo (sr_keras's embedded images); each exported backend reports
its largest difference from Keras's clipped output in grey levels (1/255).  RRDBNet uses the
Real-ESRGAN x4plus weights when their package is installed; otherwise, and for SRResNet, the
weights are random but seeded, with the last bias shifted to 0.5 and random BN statistics so the
outputs cover [0, 1] instead of being clipped to 0 (the parity check would be vacuous otherwise).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import numpy as np

from benchmarks import flops
from benchmarks.timing import time_repeated

ARCHS = ("srresnet", "rrdbnet")
DEFAULT_REPEATS = {"srresnet": (5, 1), "rrdbnet": (3, 1)}  # (repeats, warm-up) per backend
SIZE = 128
SMOKE_SIZE = 32
LITERT = ("float32", "float16")
# keras: the model's forward as built (the parity reference).  keras_upscaler: the forward as
# sr-upscale / sr-eval run it (sr_keras.inference.keras_upscaler on the loader's inference form: a
# BN SRResNet folded, and XLA for repeated shapes where `xla_inference` says so).
BACKENDS = ("keras", "keras_upscaler", "saved_model", *(f"litert_{quantization}" for quantization in LITERT))
# Opt-in (--infer_backends=keras_folded_bn): SRResNet's Keras forward with batch norm folded into the
# convolutions (sr_keras/archs/fold_batch_norm.py), compiled as the keras backend; RRDBNet has no batch norm.
OPTIONAL_BACKENDS = ("keras_folded_bn",)


def build_model(arch: str, smoke: bool = False):
    """(generator, description of its weights)."""
    import keras

    from sr_keras.archs import RRDBNet, SRResNet

    if arch == "rrdbnet" and not smoke:
        try:
            from sr_keras.weights import pretrained

            return pretrained.load_pretrained("realesrgan-x4plus"), "realesrgan-x4plus"
        except (ImportError, RuntimeError) as error:  # MissingPackageError is a RuntimeError
            print(f"realesrgan-x4plus unavailable ({error}); random RRDBNet weights", flush=True)
    keras.utils.set_random_seed(0)
    if arch == "srresnet":
        model = SRResNet(num_blocks=2, num_features=16) if smoke else SRResNet()
    else:
        model = RRDBNet(num_blocks=1, num_features=16, growth=32) if smoke else RRDBNet()
    spread_outputs(model)
    return model, "random (seed 0; last bias +0.5, random BN moving statistics)"


def spread_outputs(model, seed: int = 0) -> None:
    """Make a freshly initialised generator's outputs worth comparing (also used by tests/export).

    BN layers get random moving statistics (an export running BN in training mode would differ);
    the last conv's kernel x4 and bias +0.5 spread outputs over [0, 1] instead of clipping at 0.
    """
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.1, shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
    last = model.get_layer("conv_last")
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 4.0, bias + 0.5])


def photo_crop(size: int) -> tuple[np.ndarray, str]:
    """float32 [1, size, size, 3] in [0, 1]: the centre of the first embedded photo that is large enough."""
    from sr_keras.data import sources

    for item in sources.load_source("embedded"):
        h, w = item.image.shape[:2]
        if h >= size and w >= size:
            y, x = (h - size) // 2, (w - size) // 2
            crop = item.image[y : y + size, x : x + size, :3].astype(np.float32) / 255.0
            return crop[np.newaxis], f"{item.name} (centre {size}x{size} crop)"
    raise ValueError(f"no embedded photo is at least {size}x{size}")


def _measure(predict, repeats: int, warmup: int, setup_s: float, pixels_out: int, reference=None) -> tuple[dict, np.ndarray]:
    """(timing entry, output of the last run); parity with `reference` (clipped Keras output) if given."""
    last = [None]

    def run_once():
        last[0] = predict()

    timing = time_repeated(run_once, repeats, warmup)
    output = np.asarray(last[0])
    result = {
        "setup_s": setup_s,
        **timing,
        "images_per_s": 1.0 / timing["median_s"],
        "output_megapixels_per_s": pixels_out / 1e6 / timing["median_s"],
    }
    if reference is not None:
        result.update(_parity(output, reference))
    return result, output


def _parity(output: np.ndarray, reference: np.ndarray) -> dict:
    """Max / mean |clip(output, 0, 1) - reference| in grey levels (reference: the clipped Keras output)."""
    difference = np.abs(np.clip(np.asarray(output, np.float64), 0.0, 1.0) - reference) * 255.0
    return {"max_abs_diff_grey_levels_vs_keras": float(difference.max()), "mean_abs_diff_grey_levels_vs_keras": float(difference.mean())}


def _litert_predict(content: bytes, image: np.ndarray):
    from sr_keras import export

    interpreter = export.tflite_interpreter(content, num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def predict():
        interpreter.set_tensor(input_index, image)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return predict


def run(
    arch: str, smoke: bool = False, repeats: int | None = None, warmup: int | None = None, jit_compile: bool = False,
    backends: tuple[str, ...] = BACKENDS,
) -> dict:
    """Timing of each backend on one photo crop, and each export's parity with Keras.

    jit_compile: XLA-compile the Keras forward (an experiment; the default is TF's oneDNN kernels).
    backends: a subset of BACKENDS (Keras always runs: it is the parity reference).
    """
    import keras
    import tensorflow as tf

    from sr_keras import export

    keras.backend.clear_session()
    default_repeats, default_warmup = (2, 1) if smoke else DEFAULT_REPEATS[arch]
    repeats = repeats or default_repeats
    warmup = default_warmup if warmup is None else warmup
    size = SMOKE_SIZE if smoke else SIZE
    model, weights = build_model(arch, smoke)
    image, photo = photo_crop(size)
    scale = model.scale
    pixels_out = (size * scale) ** 2
    result = {
        "arch": arch,
        "num_blocks": model.num_blocks,
        "weights": weights,
        "photo": photo,
        "input": [1, size, size, 3],
        "output": [1, size * scale, size * scale, 3],
        "seconds_are": "per image",
        "flops": {"total": flops.count_flops(model, image.shape).total, "per": "image (forward)"},
        "backends": {},
    }
    entries = result["backends"]
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)
    tensor = tf.constant(image)
    result["keras_jit_compile"] = jit_compile
    entries["keras"], output = _measure(lambda: forward(tensor).numpy(), repeats, warmup, 0.0, pixels_out)
    reference = np.clip(output.astype(np.float64), 0.0, 1.0)

    if "saved_model" in backends:
        folder = tempfile.mkdtemp(prefix="sr_keras_bench_")
        try:
            start = time.perf_counter()
            loaded = tf.saved_model.load(export.export_saved_model(model, folder, "bench"))
            signature = loaded.signatures[export.SERVE_FLOAT]
            setup_s = time.perf_counter() - start
            predict = lambda: signature(image=tensor)[export.IMAGE_KEY].numpy()  # noqa: E731
            entry, _ = _measure(predict, repeats, warmup, setup_s, pixels_out, reference)
            entries["saved_model"] = {"signature": export.SERVE_FLOAT, **entry}
            del loaded, signature
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    if "keras_upscaler" in backends:
        from sr_keras.archs.fold_batch_norm import inference_form
        from sr_keras.inference import keras_upscaler

        start = time.perf_counter()
        upscaler = keras_upscaler(inference_form(model), "benchmark")
        setup_s = time.perf_counter() - start
        forward = upscaler.upscale_float
        # Two warm-up calls at least: the first runs TF's kernels, the second compiles XLA (if used).
        entry, output = _measure(lambda: forward(image), repeats, max(warmup, 2), setup_s, pixels_out)
        entries["keras_upscaler"] = {
            "batch_norm_folded": upscaler.model is not model, "xla_for_repeated_shapes": forward.xla is not None,
            **entry, **_parity(output, reference),
        }  # fmt: skip

    if "keras_folded_bn" in backends and arch == "srresnet":
        from sr_keras.archs.fold_batch_norm import fold_batch_norm

        start = time.perf_counter()
        folded = fold_batch_norm(model)
        folded_forward = tf.function(lambda x: folded(x, training=False), jit_compile=jit_compile)
        setup_s = time.perf_counter() - start
        entry, output = _measure(lambda: folded_forward(tensor).numpy(), repeats, warmup, setup_s, pixels_out)
        entries["keras_folded_bn"] = {
            "batch_norm_layers_folded": sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers),
            **entry, **_parity(output, reference),
        }  # fmt: skip

    for quantization in LITERT:
        if f"litert_{quantization}" not in backends:
            continue
        start = time.perf_counter()
        content = export.convert_tflite(model, quantization, input_size=(size, size))
        predict = _litert_predict(content, image)
        setup_s = time.perf_counter() - start
        entry, _ = _measure(predict, repeats, warmup, setup_s, pixels_out, reference)
        entries[f"litert_{quantization}"] = {"num_threads": os.cpu_count(), "model_bytes": len(content), **entry}
    return result
