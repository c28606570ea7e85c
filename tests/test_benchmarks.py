"""The benchmarks' analytic FLOP counter and a --smoke run of `python -m benchmarks.run`."""

import json
import os
import subprocess
import sys

import keras
import pytest

from benchmarks import flops, training
from sr_keras.archs import SRResNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv(k, cin, cout, h, w, bias=True):
    """(2 * multiply-adds, bias adds) of a k x k 'same' stride-1 conv at h x w."""
    return 2 * k * k * cin * cout * h * w, (cout * h * w if bias else 0)


def test_one_conv_by_hand():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    count = flops.count_flops(model, (1, 8, 8, 3))
    assert count.multiply_add == 2 * 3 * 3 * 3 * 4 * 64 == 13824
    assert count.bias == 4 * 64
    assert count.total == 13824 + 256
    assert flops.count_flops(model, (5, 8, 8, 3)).total == 5 * count.total  # linear in the batch


def test_strided_conv_dense_and_zero_cost_layers():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", use_bias=False)(inputs)  # -> 4x4x6
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.Dense(5)(keras.layers.Flatten()(x))  # 96 -> 5
    count = flops.count_flops(keras.Model(inputs, x), (2, 8, 8, 3))
    assert count.multiply_add == 2 * (2 * 9 * 3 * 6 * 16) + 2 * (2 * 96 * 5)
    assert count.bias == 2 * 5
    assert len(count.by_layer) == 2  # BN, LeakyReLU and Flatten count 0


def test_srresnet_by_hand():
    """SRResNet (16 blocks, 64 features, x4) on a 24x24 LR input, from the architecture's formula."""
    parts = [conv(9, 3, 64, 24, 24)]  # conv_first
    parts += [conv(3, 64, 64, 24, 24)] * (16 * 2 + 1)  # residual blocks, conv_body
    parts += [conv(3, 64, 256, 24, 24), conv(3, 64, 256, 48, 48)]  # upsampling convs (before the shuffles)
    parts += [conv(9, 64, 3, 96, 96)]  # conv_last
    multiply_add, bias = sum(p[0] for p in parts), sum(p[1] for p in parts)
    count = flops.count_flops(SRResNet(num_blocks=16, num_features=64, scale=4), (1, 24, 24, 3))
    assert (count.multiply_add, count.bias) == (multiply_add, bias)
    assert count.total == 2_557_357_056
    assert len(count.by_layer) == 1 + 33 + 2 + 1


@pytest.mark.parametrize("name", ["srgan_vgg54_update", "esrgan_gan_update"])
def test_gan_update_passes(name):
    """The passes follow SRGANModel.train_step: G fwd+bwd, VGG on HR (fwd) and SR (fwd+bwd), D in both steps."""
    config = training.make_config(name, jit_compile=False, smoke=True)
    n = config.batch_size
    passes = training.update_passes(training.build_model(config), config)
    summary = [(p["network"], p["images"], p["factor"]) for p in passes]
    expected = [("generator", n, 3), ("vgg", n, 1), ("vgg", n, 2), ("discriminator", n, 2)]
    if name == "esrgan_gan_update":  # the relativistic G loss also needs D(HR), gradient stopped
        expected.append(("discriminator", n, 1))
    assert summary == expected + [("discriminator", 2 * n, 3)]
    assert all(p["flops"] == p["forward_flops_per_image"] * p["images"] * p["factor"] > 0 for p in passes)


def test_smoke_run_prints_one_json_object():
    command = [sys.executable, "-m", "benchmarks.run", "--smoke", "--only", "pipeline", "--only", "infer_srresnet"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert {"machine", "settings", "flop_convention", "matmul_peak", "workloads", "total_s"} <= set(result)
    assert result["matmul_peak"]["gflops_median"] > 0
    assert list(result["workloads"]) == ["infer_srresnet", "pipeline"]
    # Which CPU ran it: the model name alone is "AMD EPYC" on some VMs, so family and model numbers too.
    machine = result["machine"]
    assert machine["cpus"] == os.cpu_count() and machine["tensorflow"] and machine["keras"]
    with open("/proc/cpuinfo") as handle:  # the first CPU's block, keys stripped of their tabs
        pairs = [line.split(":", 1) for line in handle.read().split("\n\n")[0].splitlines() if ":" in line]
    first_cpu = {key.strip(): value.strip() for key, value in pairs}
    assert (machine["cpu_family"], machine["cpu_model_number"]) == (first_cpu["cpu family"], first_cpu["model"])
    assert machine["avx2"] == ("avx2" in first_cpu["flags"].split())

    pipeline = result["workloads"]["pipeline"]
    assert {"median_s", "min_s", "max_s", "batches_per_s", "crop_pairs_per_s", "hr_megapixels_per_s"} <= set(pipeline)
    assert "pipeline_vs_srresnet_update" not in pipeline  # srresnet_mse_update did not run

    infer = result["workloads"]["infer_srresnet"]
    assert infer["flops"]["total"] > 0
    assert set(infer["backends"]) == {"keras", "keras_upscaler", "saved_model", "litert_float32", "litert_float16"}
    assert infer["backends"]["keras_upscaler"]["batch_norm_folded"]  # sr-upscale's path for a BN SRResNet
    for name, backend in infer["backends"].items():
        assert backend["min_s"] <= backend["median_s"] <= backend["max_s"], name
        assert {"images_per_s", "output_megapixels_per_s", "achieved_gflops_per_s", "share_of_matmul_peak"} <= set(backend)
        if name != "keras":
            # Outputs spread over [0, 1] (see benchmarks/inference.py); float16 weights cost up to ~1 grey level.
            limit = 2.0 if name == "litert_float16" else 0.05
            assert backend["max_abs_diff_grey_levels_vs_keras"] < limit, name


def test_experiment_overrides_are_typed_and_checked():
    base = [sys.executable, "-m", "benchmarks.run", "--smoke", "--flops_only", "--only", "srresnet_mse_update"]
    done = subprocess.run(base + ["--set", "mixed_precision=bfloat16", "--set", "pixel_weight=0.5"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["settings"]["set"] == {"mixed_precision": "bfloat16", "pixel_weight": 0.5}
    done = subprocess.run(base + ["--set", "no_such_field=1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "no_such_field" in done.stderr


def test_layout_experiment_gives_the_same_gradients_in_both_layouts():
    import numpy as np
    import tensorflow as tf

    from benchmarks import layout

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 4), dtype=np.float32)
    kernels = [tf.constant(rng.standard_normal((3, 3, 4, 5), dtype=np.float32)) for _ in range(2)]
    nhwc = layout.train_pass("NHWC", jit_compile=True)(tf.constant(x), kernels)
    nchw = layout.train_pass("NCHW", jit_compile=True)(tf.constant(x.transpose(0, 3, 1, 2)), kernels)
    np.testing.assert_allclose(nchw[0].numpy().transpose(0, 2, 3, 1), nhwc[0].numpy(), rtol=1e-4, atol=1e-6)
    for a, b in zip(nchw[1:], nhwc[1:]):  # kernel gradients: HWIO in both layouts
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_bfloat16_copy_computes_in_bfloat16_with_the_same_weights():
    import numpy as np

    from benchmarks.experiments.low_precision_inference import bfloat16_copy

    model = SRResNet(num_blocks=1, num_features=8)
    copy = bfloat16_copy(model)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert copy.get_layer("conv_first").compute_dtype == "bfloat16"
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32)
    reference = model(x, training=False).numpy()
    np.testing.assert_allclose(np.asarray(copy(x, training=False), np.float32), reference, atol=0.05)


def test_winograd_shapes_times_and_compares_one_shape():
    # The experiment behind layers.winograd_pays, on one tiny shape: both variants timed, and Winograd's
    # results against tf.nn.conv2d's (the independent formulation) within float32 rounding.
    from benchmarks.experiments import winograd_shapes

    entry = winograd_shapes.measure(12, 4, 8, repeats=1)
    assert all(entry[kind][variant] > 0 for kind in ("train_ms", "forward_ms") for variant in ("direct", "winograd"))
    assert set(entry["relative_difference"]) == {"output", "input_gradient", "kernel_gradient"}
    assert max(entry["relative_difference"].values()) < 1e-4


def test_stride2_shapes_times_and_compares_one_shape():
    # The experiment behind layers.stride2_phases_pay, on one tiny shape, against tf.nn.conv2d(strides=2).
    from benchmarks.experiments import stride2_shapes

    entry = stride2_shapes.measure(10, 4, 4, "valid", repeats=1)
    assert all(entry[kind][variant] > 0 for kind in ("train_ms", "forward_ms") for variant in ("direct", "phases"))
    assert max(entry["relative_difference"].values()) < 1e-5


def test_matmul_peak_is_not_capped_by_an_inherited_openblas_coretype():
    """A forced OPENBLAS_CORETYPE (this project's Zen 5 VM inherited Haswell, half its AVX-512 peak)
    must not set the peak: the product is also timed with the kernel OpenBLAS detects itself."""

    def python(code, **env):
        base = {name: value for name, value in os.environ.items() if name != "OPENBLAS_CORETYPE"}
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    detected_core = python("import json; from benchmarks import timing; print(json.dumps(timing.openblas_core_name()))")
    if detected_core is None:
        pytest.skip("numpy has no bundled OpenBLAS that names its kernel")
    peak = python("import json; from benchmarks import timing; print(json.dumps(timing.matmul_peak_gflops(256, 2)))", OPENBLAS_CORETYPE="Haswell")
    measured = {entry["openblas_coretype_forced"]: entry for entry in (peak, peak["other"])}
    assert measured[True]["openblas_core"] == "Haswell"  # this process, as the variable forced it
    assert measured[False]["openblas_core"] == detected_core  # the child ran without the variable
    assert peak["gflops_median"] == max(entry["gflops_median"] for entry in measured.values())
    unforced = python("import json; from benchmarks import timing; print(json.dumps(timing.matmul_peak_gflops(256, 2)))")
    assert unforced["openblas_core"] == detected_core and not unforced["openblas_coretype_forced"] and "other" not in unforced
