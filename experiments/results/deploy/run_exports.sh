#!/usr/bin/env bash
# Issue 5 evidence: full-size exports of SRResNet and RRDBNet, as a user runs them.
#   bash experiments/results/deploy/run_exports.sh SRRESNET_KERAS OUT_DIR  > exports.log 2>&1
# SRRESNET_KERAS: a trained generator (sr-train's RUN_DIR/generator.keras); RRDBNet is the shipped
# realesrgan-x4plus (23 blocks). Needs ../shared/data for the int8 calibration photos and the
# butterfly image fed to saved_model_cli.
set -euo pipefail
srresnet=${1:?a trained SRResNet .keras file}
out=${2:?an output folder}
data=$(cd "$(dirname "$0")/../../.." && pwd)/../shared/data
mkdir -p "$out"
set -x

# SavedModel for TF Serving, then every signature through the TF1 loader TF Serving uses.
sr-export --model="$srresnet" --format=saved_model --output="$out/serving" --model_name=srresnet --version=1
saved_model_cli show --dir "$out/serving/srresnet/1" --all
python - "$data/val_hr/butterfly.png" "$out" <<'PY'
import sys, numpy as np, tensorflow as tf
from sr_keras.data import images, pipeline
lr = pipeline.make_lr(images.crop_to_multiple(images.read_image(sys.argv[1]), 4), 4)
np.save(f"{sys.argv[2]}/lr_uint8.npy", lr[None])
np.save(f"{sys.argv[2]}/lr_float.npy", (lr[None] / 255.0).astype(np.float32))
np.save(f"{sys.argv[2]}/lr_png.npy", np.array([tf.io.encode_png(lr).numpy()], dtype=object), allow_pickle=True)
print("butterfly LR", lr.shape, lr.dtype)
PY
for signature in serving_default serve_float serve_image_bytes; do
  case $signature in
    serving_default) inputs="image=$out/lr_uint8.npy" ;;
    serve_float) inputs="image=$out/lr_float.npy" ;;
    serve_image_bytes) inputs="image_bytes=$out/lr_png.npy" ;;
  esac
  saved_model_cli run --dir "$out/serving/srresnet/1" --tag_set serve --signature_def $signature \
    --inputs "$inputs" --outdir "$out/cli_$signature" --overwrite
done
python - "$srresnet" "$out" <<'PY'
import sys, numpy as np, tensorflow as tf
from sr_keras import export, metrics
model = export.load_keras_model(sys.argv[1])
out = sys.argv[2]
lr = np.load(f"{out}/lr_float.npy")
keras_float = np.clip(model(lr, training=False).numpy(), 0, 1)
keras_uint8 = metrics.to_uint8(keras_float)
served_float = np.load(f"{out}/cli_serve_float/image.npy")
served_uint8 = np.load(f"{out}/cli_serving_default/image.npy")
png = np.load(f"{out}/cli_serve_image_bytes/png_bytes.npy", allow_pickle=True)[0]
served_png = tf.io.decode_png(png).numpy()
print(f"serve_float       {served_float.dtype}{list(served_float.shape)} max |diff| vs Keras {np.abs(served_float - keras_float).max():.2e}")
print(f"serving_default   {served_uint8.dtype}{list(served_uint8.shape)} max |diff| vs Keras {np.abs(served_uint8.astype(int) - keras_uint8.astype(int)).max()} grey levels")
print(f"serve_image_bytes PNG {len(png)} bytes -> {list(served_png.shape)} max |diff| vs Keras {np.abs(served_png.astype(int) - keras_uint8[0].astype(int)).max()} grey levels")
PY

# TFLite: every quantization, fixed 128x128 input, plus the dynamic-size float32; op lists and
# parity with Keras are printed by sr-export (it fails on any Flex/custom op).
for model in "$srresnet" realesrgan-x4plus; do
  sr-export --model="$model" --format=tflite --output="$out/tflite" --tflite_quantization=float32
  for quantization in float32 float16 dynamic_int8 int8; do
    sr-export --model="$model" --format=tflite --output="$out/tflite" --tflite_input=128x128 \
      --tflite_quantization=$quantization --representative_data="$data/train_hr" --calibration_samples=24
  done
done
ls -l "$out/tflite"
