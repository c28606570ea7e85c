"""Run the benchmarks and print one JSON object.

  python -m benchmarks.run                 # everything
  python -m benchmarks.run --only pipeline # one workload (repeatable flag)
"""

from __future__ import annotations

import json
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from benchmarks import pipeline, timing, training  # noqa: E402

WORKLOADS = {
    "pipeline": pipeline.run,
    **{
        f"{name}{suffix}": (lambda name=name, jit=jit: training.run(name, jit_compile=jit))
        for name in training.CONFIGS
        for suffix, jit in (("", True), ("_no_xla", False))
    },
}

flags.DEFINE_multi_enum("only", None, sorted(WORKLOADS), "Run only these workloads.")
flags.DEFINE_string("output", None, "Also write the JSON to this file.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import tensorflow as tf

    names = FLAGS.only or sorted(WORKLOADS)
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__},
        "matmul_peak": timing.matmul_peak_gflops(),
        "workloads": {},
    }
    for name in names:
        print(f"running {name} ...", file=sys.stderr)
        result["workloads"][name] = WORKLOADS[name]()
    text = json.dumps(result, indent=2)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
