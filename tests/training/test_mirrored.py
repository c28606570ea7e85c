"""MirroredStrategy over two logical CPU devices gives the single-device result."""

import json
import subprocess
import sys
import textwrap


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[2])
    from conftest import tiny_config
    from sr_keras.training import loop
    out = {}
    for strategy in ("default", "mirrored"):
        config = tiny_config(sys.argv[1], gan="standard", strategy=strategy, steps=2, checkpoint_every=2, jit_compile=False)
        model = loop.train(config, sys.argv[3] + "/" + strategy, verbose=0)
        out[strategy] = {"replicas": int(model.distribute_strategy.num_replicas_in_sync),
                         "g": [w.tolist() for w in model.generator.get_weights()],
                         "d": [w.tolist() for w in model.discriminator.get_weights()]}
    print("RESULT" + json.dumps(out))
    """
)


def test_two_replica_training_equals_single_device(photo_dir, tmp_path):
    import os

    here = os.path.dirname(__file__)
    result = subprocess.run([sys.executable, "-c", SCRIPT, photo_dir, here, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT", 1)[1])
    import numpy as np

    assert (out["default"]["replicas"], out["mirrored"]["replicas"]) == (1, 2)
    # Both runs start from the same seeded weights and see the same global batches.  Gradients agree
    # up to float summation order; Adam divides by sqrt(v) + 1e-7, so a weight whose gradient is ~0
    # can still move by up to one learning-rate step (1e-3 here) either way.  Everything else must agree.
    lr_step = 1e-3
    for part in ("g", "d"):
        a = np.concatenate([np.ravel(w) for w in out["default"][part]])
        b = np.concatenate([np.ravel(w) for w in out["mirrored"][part]])
        assert np.abs(a - b).max() <= 2 * lr_step
        close = np.isclose(a, b, rtol=1e-4, atol=1e-5)
        assert close.mean() >= 0.98, f"{part}: only {close.mean():.2%} of {a.size} weights agree"

