"""BatchNormalization(synchronized=True), as the archs build it, vs synchronized=False on one device.

Keras' synchronized BN takes its moments as sums all-reduced over the replicas even when there is
only one; this times the SRResNet-MSE update (oneDNN, no XLA) both ways, each in a fresh process
so that the same number of processes sees the machine's between-process spread.
"""

from __future__ import annotations

import json
import subprocess
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The program's flags; defined only when it runs, so tests can import its functions."""
    flags.DEFINE_string("mixed_precision", "", "TrainConfig.mixed_precision of the update ('' or bfloat16).")
    flags.DEFINE_integer("rounds", 2, "Alternating rounds of (synchronized, local), one process each.")
    flags.DEFINE_bool("child", False, "Internal: time one variant in this process.")
    flags.DEFINE_bool("synchronized", True, "Internal, with --child: the BN variant.")


def time_variant(synchronized: bool, mixed_precision: str) -> dict:
    import keras

    from benchmarks import training

    if not synchronized:
        original = keras.layers.BatchNormalization.__init__

        def local_init(self, *args, **kwargs):
            original(self, *args, **{**kwargs, "synchronized": False})

        keras.layers.BatchNormalization.__init__ = local_init
    overrides = {"mixed_precision": mixed_precision} if mixed_precision else {}
    result = training.run("srresnet_mse_update", jit_compile=False, overrides=overrides)
    return {"synchronized": synchronized, **{k: result[k] for k in ("median_s", "min_s", "max_s", "samples_s")}}


def main(argv):
    del argv
    if FLAGS.child:
        print(json.dumps(time_variant(FLAGS.synchronized, FLAGS.mixed_precision)))
        return
    runs = []
    for _ in range(FLAGS.rounds):
        for synchronized in (True, False):
            command = [sys.executable, "-m", "benchmarks.experiments.batch_norm_sync", "--child",
                       f"--synchronized={synchronized}", f"--mixed_precision={FLAGS.mixed_precision}"]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(json.dumps({"workload": "srresnet_mse_update_no_xla", "mixed_precision": FLAGS.mixed_precision or "float32", "runs": runs}, indent=2))


if __name__ == "__main__":
    define_flags()
    app.run(main)
