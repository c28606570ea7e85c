"""Per-op timings of one workload from a TensorFlow profiler trace, printed as one JSON object.

  python -m benchmarks.profile --workload=infer_rrdbnet            # Keras forward, 128x128 -> 512x512
  python -m benchmarks.profile --workload=srgan_vgg54_update --nojit_compile
  python -m benchmarks.profile --workload=esrgan_gan_update --smoke

The workload runs once untimed (tracing, compilation), then `steps` times under `tf.profiler`;
the trace (the XSpace protobuf that TensorBoard's profile plugin reads) is parsed here.  Op-level
events are grouped by op type: TF executor ops without XLA (Conv2D, Conv2DBackpropFilter,
_FusedConv2D, ConcatV2, ...), the compiled program's thunks with XLA (convolution, fusions such
as copy_reverse_fusion, convolution-base-dilated, ...).  Only the outermost op event of each
thread is counted, so nested events are not counted twice.  The JSON gives each group's
milliseconds per step and share of all op time: where the time goes that is not matrix
multiplication (the FLOPs are in `python -m benchmarks.run`).
"""

from __future__ import annotations

import collections
import glob
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

flags.DEFINE_enum(
    "workload", "infer_rrdbnet",
    ["infer_rrdbnet", "infer_srresnet", "srresnet_mse_update", "srgan_vgg54_update", "rrdbnet_l1_update", "esrgan_gan_update"],
    "What to profile: a Keras forward 128x128 -> 512x512 (infer_*) or one training update (benchmarks/training.py).",
)  # fmt: skip
flags.DEFINE_bool("jit_compile", True, "Training updates: XLA-compile train_step as sr-train does (op names are then XLA thunks).")
flags.DEFINE_bool("smoke", False, "Tiny models and sizes (seconds; a check that the profile parses).")
flags.DEFINE_integer("steps", 2, "Profiled runs (after one warm-up run).")
flags.DEFINE_integer("top", 25, "Op types listed (the rest are summed as 'other').")
flags.DEFINE_string("output", None, "Also write the JSON to this file.")
FLAGS = flags.FLAGS


def build_workload(name: str, jit_compile: bool, smoke: bool):
    """(a no-argument callable that runs the workload once, a description, the generator for infer_* else None)."""
    import numpy as np
    import tensorflow as tf

    from benchmarks import inference, training

    if name.startswith("infer_"):
        model, weights = inference.build_model(name[len("infer_") :], smoke)
        image, photo = inference.photo_crop(inference.SMOKE_SIZE if smoke else inference.SIZE)
        forward = tf.function(lambda x: model(x, training=False))
        tensor = tf.constant(image)
        description = {"input": list(image.shape), "weights": weights, "photo": photo}
        return (lambda: forward(tensor).numpy()), description, model
    config = training.make_config(name, jit_compile, smoke)
    model = training.build_model(config)
    rng = np.random.default_rng(0)
    n, c, s = config.batch_size, config.crop_size, config.scale
    hr = tf.constant(rng.random((n, c, c, 3), dtype=np.float32))
    lr = tf.constant(rng.random((n, c // s, c // s, 3), dtype=np.float32))
    return (lambda: model.train_on_batch(lr, hr)), {"batch_size": n, "hr_crop": c, "jit_compile": jit_compile}, None


def op_type(event_name: str) -> str:
    """'model/conv_1/Conv2D:Conv2D' -> 'Conv2D'; XLA thunk names 'convolution.12' -> 'convolution'."""
    if ":" in event_name:  # TF executor op: "<node name>:<op type>"
        return event_name.rsplit(":", 1)[-1]
    return event_name.split(".", 1)[0]


def op_events(xspace_path: str):
    """(thread, op name, start ps, duration ps, span ps) of the op-level events on the host CPU plane.

    Op-level events are TF executor ops ("<node>:<OpType>") and, under XLA, the thunks of the
    compiled program (HLO instruction names such as "convolution.12" or "copy_reverse_fusion.5").
    A thunk is recognised by its completion marker "end: <name>": XLA:CPU runs thunks
    asynchronously, so the launching event is short and the op's span runs from its launch to its
    marker (possibly on another thread).  TF ops run synchronously: span = duration.  Python and
    runtime annotations ("one_step_on_data", "EagerExecute", ...) and the pool's bookkeeping
    ("ThreadpoolListener::...", "ThunkExecutor::Execute") are skipped.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xspace_path, "rb") as handle:
        space.ParseFromString(handle.read())
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        metadata = {key: value.name for key, value in plane.event_metadata.items()}
        events, ends = [], collections.defaultdict(list)
        for line in plane.lines:
            for event in line.events:
                name = metadata.get(event.metadata_id, "")
                start = line.timestamp_ns * 1000 + event.offset_ps
                if name.startswith("end: "):
                    ends[name[len("end: ") :]].append(start + event.duration_ps)
                else:
                    events.append((start, line.id, name, event.duration_ps))
        for times in ends.values():
            times.sort()
        used = collections.Counter()
        for start, thread, name, duration in sorted(events):
            if name in ends:  # an XLA thunk: its span ends at its n-th completion marker
                index = used[name]
                used[name] += 1
                finish = ends[name][index] if index < len(ends[name]) else start + duration
                yield thread, name, start, duration, max(finish - start, duration)
            elif is_tf_op(name):
                yield thread, name, start, duration, duration


# Runtime annotations that look like TF ops ("<name>:<Type>"): function calls and executor wrappers.
NOT_OPS = ("ThreadpoolListener", "ThunkExecutor", "TFE_", "Eager", "CpuExecutable", "BlockUntilReady",
           "ExecutorDoneCallback", "ExecutorState", "__inference", "__forward", "__backward", "Iterator")  # fmt: skip


def is_tf_op(name: str) -> bool:
    """A TF executor op event "<node>:<OpType>" (not a function call or a runtime annotation)."""
    if ":" not in name or "::" in name or name.startswith(NOT_OPS):  # "::": C++ annotations (KernelAndDeviceFunc::Run)
        return False
    return name.rsplit(":", 1)[-1].lstrip("_")[:1].isupper()  # Conv2D, _FusedConv2D


def summarize(xspace_path: str, steps: int, wall_s: float, top: int) -> dict:
    """Milliseconds per step by op type (spans; TF ops nested in another TF op are not counted again)."""
    by_thread = collections.defaultdict(list)
    for thread, name, start, duration, span in op_events(xspace_path):
        by_thread[thread].append((start, duration, span, name))
    totals = collections.Counter()
    counts = collections.Counter()
    for events in by_thread.values():
        events.sort()
        covered_until = -1
        for start, duration, span, name in events:
            if start < covered_until:  # launched inside the previous outermost op event of this thread
                continue
            covered_until = start + duration
            kind = op_type(name)
            totals[kind] += span
            counts[kind] += 1
    step_ms = wall_s / steps * 1e3
    op_ms = {kind: ps / 1e9 / steps for kind, ps in totals.items()}  # ps -> ms, per step
    ranked = sorted(op_ms.items(), key=lambda item: -item[1])
    listed = ranked[:top]
    other = sum(ms for _, ms in ranked[top:])
    thread_ms = sum(op_ms.values())
    return {
        "wall_ms_per_step": step_ms,
        "op_ms_per_step": thread_ms,
        "note": "op time = launch to completion (XLA thunks run asynchronously), summed over ops: concurrent ops "
        "can make the sum exceed the wall time; share = op type's time / all op time",
        "ops": [
            {"op": kind, "ms_per_step": ms, "share": ms / thread_ms if thread_ms else 0.0, "events_per_step": counts[kind] / steps}
            for kind, ms in listed
        ]
        + ([{"op": "other", "ms_per_step": other, "share": other / thread_ms if thread_ms else 0.0}] if other else []),
    }


def conv_layers(xspace_path: str, model, input_shape, steps: int, peak_gflops: float | None = None) -> list[dict]:
    """Per-layer time and GFLOP/s of the convolutions of a Keras forward traced without XLA.

    A TF convolution event is "<model>/<layer>/...:_FusedConv2D" (or Conv2D, or oneDNN's
    _MklNativeFusedConv2D / _MklNativeConv2D on CPUs where TF rewrites to them); Grappler names a conv
    fused with its activation after the activation layer, so names are followed back through the
    Keras graph to the Conv2D layer whose FLOPs (benchmarks/flops.py) are known.
    """
    from benchmarks import flops

    by_layer = flops.count_flops(model, input_shape).by_layer

    def conv_layer(name: str) -> str | None:
        for candidate in (name, name.removesuffix("_1")):
            seen = 0
            while candidate not in by_layer and seen < 4:  # activation -> the layer feeding it
                try:
                    parents = model.get_layer(candidate)._inbound_nodes[0].parent_nodes
                except ValueError:
                    break
                if len(parents) != 1:
                    break
                candidate, seen = parents[0].operation.name, seen + 1
            if candidate in by_layer:
                return candidate
        return None

    seconds = collections.Counter()
    for _, name, _, _, span in op_events(xspace_path):
        kind = op_type(name)  # _FusedConv2D, Conv2D; where TF rewrites to oneDNN's native ops, _MklNativeFusedConv2D, ...
        if ":" in name and kind.endswith("Conv2D") and "Backprop" not in kind and "/" in name:
            layer = conv_layer(name.split("/")[1])
            if layer is not None:
                seconds[layer] += span / 1e12 / steps
    rows = []
    for layer, s in sorted(seconds.items(), key=lambda item: -item[1]):
        gflops = by_layer[layer] / s / 1e9
        row = {"layer": layer, "ms": s * 1e3, "gflop": by_layer[layer] / 1e9, "gflops_per_s": gflops}
        if peak_gflops:
            row["share_of_matmul_peak"] = gflops / peak_gflops
        rows.append(row)
    return rows


def main(argv):
    del argv
    import tensorflow as tf

    from benchmarks import timing

    run_once, description, model = build_workload(FLAGS.workload, FLAGS.jit_compile, FLAGS.smoke)
    peak = timing.matmul_peak_gflops(1024 if FLAGS.smoke else 4096, repeats=3)["gflops_median"]
    run_once()  # warm-up: tracing, compilation
    folder = tempfile.mkdtemp(prefix="sr_keras_profile_")
    tf.profiler.experimental.start(folder)
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
        run_once()
    wall_s = time.perf_counter() - start
    tf.profiler.experimental.stop()
    paths = glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        sys.exit(f"the profiler wrote no .xplane.pb under {folder}")
    result = {"workload": FLAGS.workload, "smoke": FLAGS.smoke, "steps": FLAGS.steps, **description, "trace": paths[0]}
    result["matmul_peak_gflops"] = peak
    result.update(summarize(paths[0], FLAGS.steps, wall_s, FLAGS.top))
    if model is not None:  # Keras forward without XLA: convolutions by layer
        result["conv_layers"] = conv_layers(paths[0], model, description["input"], FLAGS.steps, peak)
    timing.print_json(result, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
