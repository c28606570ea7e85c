"""Lower-precision 128x128 -> 512x512 inference of realesrgan-x4plus, with parity vs Keras float32.

  keras_bfloat16                the generator rebuilt under Keras' mixed_bfloat16 policy (oneDNN;
                                AMX / AVX512-BF16 where the CPU has them), same weights
  litert_float16                sr_keras.export.convert_tflite(quantization="float16")
  litert_float16_accumulation   the same with the converter's fp16-accumulation marking
                                (target_spec._experimental_supported_accumulation_type), which
                                lets XNNPACK compute in fp16 where it supports that
  litert_dynamic_int8           convert_tflite(quantization="dynamic_int8")

Parity: max and mean |difference| in grey levels (1/255) of the clipped outputs; the deployment
rule for a LiteRT model is at most 2 grey levels (issue 6).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import timing  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_integer("repeats", 3, "Timed runs per backend (after one warm-up).")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def bfloat16_copy(model):
    """The same generator computing in bfloat16 (float32 weights), built from its config."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        copy = type(model).from_config(model.get_config())
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def litert_predict(model, quantization: str, image, fp16_accumulation: bool = False):
    import tensorflow as tf

    from sr_keras import export

    original = tf.lite.TFLiteConverter.from_saved_model.__func__
    if fp16_accumulation:

        def marked(cls, *args, **kwargs):
            converter = original(cls, *args, **kwargs)
            converter.target_spec._experimental_supported_accumulation_type = tf.dtypes.float16
            return converter

        tf.lite.TFLiteConverter.from_saved_model = classmethod(marked)
    try:
        content = export.convert_tflite(model, quantization, input_size=image.shape[1:3])
    finally:
        tf.lite.TFLiteConverter.from_saved_model = classmethod(original)
    from benchmarks import inference

    return inference._litert_predict(content, image), len(content)


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from benchmarks import inference

    model, weights = inference.build_model("rrdbnet")
    image, photo = inference.photo_crop(inference.SIZE)
    tensor = tf.constant(image)
    float32 = tf.function(lambda x: model(x, training=False))
    copy = bfloat16_copy(model)
    bfloat16 = tf.function(lambda x: tf.cast(copy(x, training=False), tf.float32))
    backends = {
        "keras_float32": (lambda: float32(tensor).numpy(), None),
        "keras_bfloat16": (lambda: bfloat16(tensor).numpy(), None),
        "litert_float16": litert_predict(model, "float16", image),
        "litert_float16_accumulation": litert_predict(model, "float16", image, fp16_accumulation=True),
        "litert_dynamic_int8": litert_predict(model, "dynamic_int8", image),
    }
    reference = np.clip(float32(tensor).numpy(), 0.0, 1.0)
    result = {"weights": weights, "photo": photo, "input": list(image.shape), "peak": timing.matmul_peak_gflops(), "backends": {}}
    for name, (predict, size) in backends.items():
        entry = timing.time_repeated(predict, FLAGS.repeats, warmup=1)
        difference = np.abs(np.clip(predict(), 0.0, 1.0) - reference) * 255.0
        entry.update(max_abs_diff_grey_levels=float(difference.max()), mean_abs_diff_grey_levels=float(difference.mean()),
                     share_over_1_grey_level=float((difference > 1).mean()), model_bytes=size)  # fmt: skip
        result["backends"][name] = entry
    keras_s = result["backends"]["keras_float32"]["median_s"]
    for entry in result["backends"].values():
        entry["speedup_vs_keras_float32"] = keras_s / entry["median_s"]
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
