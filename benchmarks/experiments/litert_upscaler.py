"""Would sr-upscale gain by running RRDBNet through the LiteRT interpreter? One 128x128 -> 512x512 image.

  keras_upscaler    the forward sr-upscale runs (`sr_keras.loader.load_upscaler`: BN folded, TF's
                    kernels for RRDBNet)
  litert_free_size  `convert_tflite(input_size=None)` of the same generator, the input tensor resized
                    to the image (`run_tflite`), what an sr-upscale backend would have to build for
                    images of any size
  litert_fixed      `convert_tflite(input_size=(128, 128))`, the fixed-size file sr-export writes

Besides the seconds per image (median of `--repeats` after one warm-up), the conversion's seconds:
an sr-upscale backend pays them once per run unless it keeps the converted file. Parity: max
|difference| in grey levels (1/255) of the clipped outputs against keras_upscaler.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import timing  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_string("model", "realesrgan-x4plus", "Model spec (sr_keras.loader).")
    flags.DEFINE_integer("repeats", 3, "Timed runs per backend (after one warm-up).")
    flags.DEFINE_string("output", None, "Also write the JSON to this file.")


def main(argv):
    del argv
    import time

    import numpy as np

    from benchmarks import inference
    from sr_keras import export, loader

    upscaler = loader.load_upscaler(FLAGS.model)
    image, photo = inference.photo_crop(inference.SIZE)
    result = {"machine": timing.machine(), "model": FLAGS.model, "photo": photo, "input": list(image.shape), "conversion_s": {}, "backends": {}}
    predictors = {"keras_upscaler": upscaler.upscale_float}
    for name, size in (("litert_free_size", None), ("litert_fixed", image.shape[1:3])):
        start = time.perf_counter()
        content = export.convert_tflite(upscaler.model, "float32", input_size=size)
        result["conversion_s"][name] = time.perf_counter() - start
        interpreter = export.tflite_interpreter(content, num_threads=os.cpu_count())
        predictors[name] = lambda x, interpreter=interpreter: export.run_tflite(interpreter, x)
    reference = np.clip(predictors["keras_upscaler"](image), 0.0, 1.0)
    for name, predict in predictors.items():
        entry = timing.time_repeated(lambda predict=predict: predict(image), FLAGS.repeats, warmup=1)
        entry["max_abs_diff_grey_levels"] = float(np.abs(np.clip(predict(image), 0.0, 1.0) - reference).max() * 255.0)
        result["backends"][name] = entry
    keras_s = result["backends"]["keras_upscaler"]["median_s"]
    for name, entry in result["backends"].items():
        entry["speedup_vs_keras_upscaler"] = keras_s / entry["median_s"]
        if name in result["conversion_s"] and keras_s > entry["median_s"]:
            entry["images_to_repay_conversion"] = result["conversion_s"][name] / (keras_s - entry["median_s"])
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
