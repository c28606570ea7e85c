"""One-off performance experiments behind benchmarks/RESULTS.md; each prints one JSON object.

  python -m benchmarks.experiments.batch_norm_sync [--mixed_precision=bfloat16]
  python -m benchmarks.experiments.loop_overhead [--data=../shared/data/train_hr]
  python -m benchmarks.experiments.low_precision_inference
"""
