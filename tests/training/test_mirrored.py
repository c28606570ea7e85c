"""MirroredStrategy over two logical CPU devices gives the single-device result (plain SGD, so it can fail).

SRResNet with synchronized batch norm, no GAN (why: tests/training/test_multi_worker.py's docstring;
with the SRGAN discriminator at this learning rate D ended 0.32 from the one-device D, a 2x gradient 3.1).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[2])
    from conftest import tiny_config
    from sr_keras.training import loop, sr_model, srgan_model
    out = {}
    for name, strategy in (("default", "default"), ("mirrored", "mirrored"), ("mirrored_2x", "mirrored")):
        if name == "mirrored_2x":  # a replica that counts its gradient as the whole batch's: 2x the true gradient
            sr_model.scale_for_replicas = srgan_model.scale_for_replicas = lambda loss: loss
        config = tiny_config(sys.argv[1], strategy=strategy, steps=3, checkpoint_every=3,
                             optimizer="sgd", learning_rate=float(sys.argv[4]), jit_compile=False)
        model = loop.train(config, sys.argv[3] + "/" + name, verbose=0)
        out[name] = {"replicas": int(model.distribute_strategy.num_replicas_in_sync),
                     "g": [w.tolist() for w in model.generator.get_weights()]}
    print("RESULT" + json.dumps(out))
    """
)

# Plain SGD: w3 = w0 - lr * (g1 + g2 + g3), so the two-replica run must match the one-device run up
# to float32 summation order (the replicas' gradients and the synchronized BN moments are sums of
# two half-batch partial sums instead of one pass): tens of ulps of weights of order 0.1-1
# (measured 1.8e-7).  A replica that counts its gradient as the global batch's (2x) moved the
# weights 0.036 away, 3600x this tolerance; the test runs that control too, so it can fail.
TOLERANCE = 1e-5
LEARNING_RATE = 0.05


def test_two_replica_training_equals_single_device(photo_dir, tmp_path):
    here = os.path.dirname(__file__)
    command = [sys.executable, "-c", SCRIPT, photo_dir, here, str(tmp_path), str(LEARNING_RATE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)  # generous: the CI machine may be loaded
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT", 1)[1])
    assert (out["default"]["replicas"], out["mirrored"]["replicas"], out["mirrored_2x"]["replicas"]) == (1, 2, 2)
    flat = lambda run: np.concatenate([np.ravel(w) for w in out[run]["g"]])  # noqa: E731
    same = np.abs(flat("default") - flat("mirrored")).max()
    doubled = np.abs(flat("default") - flat("mirrored_2x")).max()
    print(f"generator: max |single - mirrored| = {same:.3g}, with a 2x gradient {doubled:.3g}")
    assert same <= TOLERANCE, same
    assert doubled > 100 * TOLERANCE, f"a 2x gradient moved the weights only {doubled}"  # the check has power
