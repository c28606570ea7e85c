#!/bin/bash
# bfloat16 vs float32 training quality: SRResNet-MSE, 400 updates each on ../shared/data/train_hr, then sr-eval on
# ../shared/data/val_hr.  Usage: bash benchmarks/results/xeon_amx/bfloat16_quality/run.sh [OUT_DIR]  (in the venv)
set -euo pipefail
cd "$(dirname "$0")/../../../.."
out=${1:-/work/runs/quality}
mkdir -p "$out"
for mp in float32 bfloat16; do
  flag=""; [ "$mp" = bfloat16 ] && flag="--mixed_precision=bfloat16"
  rm -rf "$out/$mp"
  sr-train --config=experiments/srresnet_mse.toml --run_dir="$out/$mp" --data=../shared/data/train_hr \
    --steps=400 --checkpoint_every=200 --log_every=20 --verbose=2 $flag > "$out/train_$mp.log" 2>&1
  sr-eval --model="$out/$mp/generator.keras" --hr_dir=../shared/data/val_hr --scale=4 --output="$out/eval_$mp.json" > "$out/eval_$mp.log" 2>&1
done
