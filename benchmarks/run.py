"""Run the benchmarks and print one JSON object.

  python -m benchmarks.run                          # everything (13 min on 2 idle AVX-512 cores)
  python -m benchmarks.run --only pipeline          # some workloads (repeatable flag)
  python -m benchmarks.run --smoke                  # tiny models and sizes, ~1-2 min (CI check)
  python -m benchmarks.run --flops_only             # analytic FLOPs only, nothing timed
  python -m benchmarks.run --peer=torch [--pairs=3]  # side by side with PyTorch (benchmarks/peer_torch.py)

Each timed entry has median/min/max seconds over `repeats` runs after `warmup` untimed ones,
images (or megapixels) per second, its analytic FLOPs (benchmarks/flops.py) and the achieved
GFLOP/s as a share of the machine's fp32 matmul peak, measured in the same run.
"""

from __future__ import annotations

import gc
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import flops, inference, pipeline, timing, training  # noqa: E402
from sr_keras.training import hardware  # noqa: E402

# Training variants: XLA, TensorFlow's oneDNN kernels (no XLA), and mixed_bfloat16 on oneDNN
# (bfloat16 under XLA:CPU is no faster than float32: benchmarks/RESULTS.md).
TRAINING_VARIANTS = {"": (True, {}), "_no_xla": (False, {}), "_bf16": (False, {"mixed_precision": "bfloat16"})}

WORKLOADS = {
    **{
        f"{name}{suffix}": (
            lambda smoke, repeats, name=name, jit=jit, extra=extra: training.run(
                name, jit, smoke, repeats, overrides={**extra, **config_overrides()}
            )
        )
        for name in training.CONFIGS
        for suffix, (jit, extra) in TRAINING_VARIANTS.items()
    },
    **{
        f"infer_{arch}": (lambda smoke, repeats, arch=arch: inference.run(
            arch, smoke, repeats, jit_compile=FLAGS.infer_jit_compile, backends=tuple(FLAGS.infer_backends)
        ))
        for arch in inference.ARCHS
    },
    "pipeline": lambda smoke, repeats: pipeline.run(FLAGS.data, smoke, repeats),
}

flags.DEFINE_multi_enum("only", None, list(WORKLOADS), "Run only these workloads (in the default order).")
flags.DEFINE_integer("repeats", None, "Timed repeats of every workload (default: per workload, 3-5).")
flags.DEFINE_bool("smoke", False, "Tiny models, crops and batches: the whole run takes a minute or two.")
flags.DEFINE_bool("flops_only", False, "Print the analytic FLOPs of the selected workloads without timing anything.")
flags.DEFINE_string("data", None, "Pipeline source (default: ../shared/data/train_hr if present, else embedded).")
flags.DEFINE_string("output", None, "Also write the JSON to this file.")
# Experiments (benchmarks/RESULTS.md): the same workloads with one thing changed.
flags.DEFINE_multi_string("set", None, "FIELD=VALUE: override a TrainConfig field of the training workloads, e.g. mixed_precision=bfloat16.")
flags.DEFINE_bool("infer_jit_compile", False, "XLA-compile the Keras forward of the infer_* workloads.")
flags.DEFINE_multi_enum(
    "infer_backends", list(inference.BACKENDS), list(inference.BACKENDS + inference.OPTIONAL_BACKENDS),
    "Backends the infer_* workloads time (Keras always runs; keras_upscaler: as sr-upscale runs it; keras_folded_bn: SRResNet with batch norm folded, opt-in).",
)  # fmt: skip
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow intra-op threads (0 = TensorFlow's default).")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op threads (0 = TensorFlow's default).")
flags.DEFINE_enum("peer", None, ["torch"], "Compare with PyTorch (benchmarks/peer_torch.py): alternating processes per workload, project/PyTorch ratios.")
flags.DEFINE_integer("pairs", 3, "With --peer: process pairs per workload (a project process, then one PyTorch process per layout).")
FLAGS = flags.FLAGS


def config_overrides() -> dict:
    """--set FIELD=VALUE pairs, each value converted to the type of the TrainConfig field's default."""
    import dataclasses

    from sr_keras.training.config import TrainConfig

    defaults = {field.name: getattr(TrainConfig(), field.name) for field in dataclasses.fields(TrainConfig)}
    overrides = {}
    for item in FLAGS.set or []:
        name, _, value = item.partition("=")
        if name not in defaults or name in ("jit_compile", "batch_size"):
            raise app.UsageError(f"--set {item}: not a TrainConfig field this can set (XLA off: the *_no_xla workloads)")
        kind = type(defaults[name])
        overrides[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return overrides


def training_workload(name: str) -> str:
    """The training.CONFIGS entry of a workload name (without its variant suffix)."""
    for suffix in TRAINING_VARIANTS:
        if suffix and name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def workload_flops(name: str, smoke: bool):
    """The FLOPs entry of a workload, computed without running it (None for the pipeline)."""
    if name.startswith("infer_"):
        model, _ = inference.build_model(name[len("infer_") :], smoke)
        size = inference.SMOKE_SIZE if smoke else inference.SIZE
        return {"total": flops.count_flops(model, (1, size, size, 3)).total, "per": "image (forward)"}
    if name == "pipeline":
        return None
    config = training.make_config(training_workload(name), jit_compile=False, smoke=smoke)
    return training.update_flops(training.build_model(config), config)


def main(argv):
    del argv
    import keras
    import tensorflow as tf

    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    start = time.perf_counter()
    names = [name for name in WORKLOADS if FLAGS.only is None or name in FLAGS.only]
    if FLAGS.peer:
        return peer_comparison(names, start)
    result = {
        "machine": timing.machine(),
        # What sr-train does here with jit_compile="auto" (sr_keras/training/hardware.py).
        "sr_train_auto_jit_compile": hardware.default_jit_compile(),
        "settings": {
            "smoke": FLAGS.smoke, "repeats": FLAGS.repeats, "flops_only": FLAGS.flops_only, "set": config_overrides(),
            "infer_jit_compile": FLAGS.infer_jit_compile, "infer_backends": FLAGS.infer_backends, "intra_op_threads": FLAGS.intra_op_threads,
            "inter_op_threads": FLAGS.inter_op_threads,
        },  # fmt: skip
        "flop_convention": flops.CONVENTION,
    }
    if FLAGS.flops_only:
        result["workloads"] = {name: {"flops": workload_flops(name, FLAGS.smoke)} for name in names}
    else:
        n, peak_repeats = (1024, 3) if FLAGS.smoke else (4096, 5)
        peak_before = timing.matmul_peak_gflops(n, peak_repeats)
        result["workloads"] = {}
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            began = time.perf_counter()
            result["workloads"][name] = WORKLOADS[name](FLAGS.smoke, FLAGS.repeats)
            result["workloads"][name]["wall_s"] = time.perf_counter() - began  # setup + compile + all runs
            keras.backend.clear_session()
            gc.collect()
        result["matmul_peak"] = timing.combine_peaks(peak_before, timing.matmul_peak_gflops(n, peak_repeats))
        timing.add_achieved(result["workloads"], result["matmul_peak"]["gflops_median"])
        workloads = result["workloads"]
        # The SRResNet update sr-train runs here (jit_compile="auto"), else whichever variant ran.
        default = "srresnet_mse_update" + ("" if result["sr_train_auto_jit_compile"] else "_no_xla")
        update = next((name for name in (default, "srresnet_mse_update", "srresnet_mse_update_no_xla") if name in workloads), None)
        if "pipeline" in workloads and update is not None:
            # Crop pairs per second over images per second of the update (both batch 16 in a full run):
            # > 1 means the input pipeline outruns SRResNet training on this machine.
            workloads["pipeline"]["pipeline_vs_srresnet_update"] = (
                workloads["pipeline"]["crop_pairs_per_s"] / workloads[update]["images_per_s"]
            )
            workloads["pipeline"]["pipeline_vs_srresnet_update_of"] = update
    result["total_s"] = time.perf_counter() - start
    timing.print_json(result, FLAGS.output)


def peer_comparison(names: list[str], start: float) -> None:
    """--peer=torch: the workloads that have a PyTorch peer, each alternated with it in fresh processes."""
    from benchmarks import peer_torch

    workloads = [name for name in peer_torch.PEER_WORKLOADS if name in names]
    results = peer_torch.compare(workloads, FLAGS.smoke, FLAGS.pairs, FLAGS.repeats)
    print(peer_torch.table(results), file=sys.stderr)
    timing.print_json({
        "machine": timing.machine(),
        "settings": {"peer": FLAGS.peer, "pairs": FLAGS.pairs, "smoke": FLAGS.smoke, "repeats": FLAGS.repeats},
        "ratio_is": "project seconds / PyTorch seconds per process pair (> 1: PyTorch faster)",
        "workloads": results, "total_s": time.perf_counter() - start,
    }, FLAGS.output)  # fmt: skip


if __name__ == "__main__":
    app.run(main)
