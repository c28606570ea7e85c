"""Network interpolation (ESRGAN Sec. 3.4): exact endpoints, the blend, clear refusals, sr-interpolate."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sr_keras import interpolation
from sr_keras.archs import RRDBNet, SRResNet

TINY = dict(num_blocks=1, num_features=8, growth=4)


def perturbed(model, seed):
    """`model` with every weight (BN moving statistics included) replaced by distinct random values."""
    rng = np.random.default_rng(seed)
    new = []
    for weight in model.get_weights():
        values = rng.normal(0.0, 0.1, weight.shape)
        if weight.ndim == 1:  # biases, BN gamma/beta/mean/variance: keep variances positive
            values = np.abs(values) + 0.5
        new.append(values.astype(weight.dtype))
    model.set_weights(new)
    return model


@pytest.fixture(scope="module")
def pair():
    return perturbed(RRDBNet(**TINY, name="psnr"), 1), perturbed(RRDBNet(**TINY, name="gan"), 2)


def test_endpoints_are_exact(pair):
    psnr, gan = pair
    for alpha, endpoint in ((0, psnr), (1, gan), (0.0, psnr), (1.0, gan)):
        weights = interpolation.interpolate_weights(psnr, gan, alpha)
        expected = endpoint.get_weights()
        assert len(weights) == len(expected)
        assert all(w.dtype == e.dtype and np.array_equal(w, e) for w, e in zip(weights, expected))


def test_midpoint_and_any_alpha_are_the_weighted_average(pair):
    psnr, gan = pair
    a, b = psnr.get_weights(), gan.get_weights()
    middle = interpolation.interpolate_weights(psnr, gan, 0.5)
    for w, x, y in zip(middle, a, b):
        assert w.dtype == np.float32
        assert np.array_equal(w, ((x.astype(np.float64) + y.astype(np.float64)) / 2).astype(np.float32))
    for w, x, y in zip(interpolation.interpolate_weights(psnr, gan, 0.8), a, b):
        np.testing.assert_allclose(w, 0.2 * x + 0.8 * y, rtol=1e-6, atol=1e-7)


def test_batch_norm_moving_statistics_are_interpolated():
    psnr = perturbed(SRResNet(num_blocks=1, num_features=8, name="p"), 3)
    gan = perturbed(SRResNet(num_blocks=1, num_features=8, name="g"), 4)
    model = interpolation.interpolate_models(psnr, gan, 0.25)
    assert type(model) is SRResNet and model.get_config()["num_blocks"] == 1
    paths = [v.path for v in model.weights]
    assert any("moving_variance" in p for p in paths) and any("moving_mean" in p for p in paths)
    for path, w, x, y in zip(paths, model.get_weights(), psnr.get_weights(), gan.get_weights()):
        np.testing.assert_allclose(w, 0.75 * x.astype(np.float64) + 0.25 * y.astype(np.float64), rtol=1e-6, err_msg=path)


def test_interpolated_model_reproduces_the_endpoints_outputs(pair):
    psnr, gan = pair
    lr = tf.constant(np.random.default_rng(0).uniform(0, 1, (1, 6, 7, 3)).astype(np.float32))
    at_zero = interpolation.interpolate_models(psnr, gan, 0.0)
    at_one = interpolation.interpolate_models(psnr, gan, 1.0)
    assert type(at_zero) is RRDBNet and at_zero is not psnr
    assert at_zero.get_config()["num_blocks"] == 1 and at_zero.scale == 4
    assert np.array_equal(at_zero(lr, training=False).numpy(), psnr(lr, training=False).numpy())
    assert np.array_equal(at_one(lr, training=False).numpy(), gan(lr, training=False).numpy())
    # The Interpolator reuses one network; going back to alpha 0 is still exact.
    interpolator = interpolation.Interpolator(psnr, gan)
    interpolator.set_alpha(0.3)
    assert np.array_equal(interpolator.set_alpha(0)(lr, training=False).numpy(), psnr(lr, training=False).numpy())


@pytest.mark.parametrize("other,key", [(dict(TINY, num_blocks=2), "num_blocks"), (dict(TINY, num_features=16), "num_features")])
def test_mismatched_architectures_are_refused(pair, other, key):
    psnr, _ = pair
    gan = RRDBNet(**other, name="other_gan")
    with pytest.raises(ValueError, match=f"cannot interpolate.*'psnr'.*'other_gan'.*{key}"):
        interpolation.interpolate_weights(psnr, gan, 0.5)
    with pytest.raises(ValueError, match="different model classes RRDBNet vs SRResNet"):
        interpolation.interpolate_models(psnr, SRResNet(num_blocks=1, num_features=8), 0.5)


def test_alpha_outside_the_unit_interval_is_refused(pair):
    psnr, gan = pair
    for alpha in (-0.1, 1.01, float("nan"), "x"):
        with pytest.raises(ValueError, match="alpha"):
            interpolation.interpolate_weights(psnr, gan, alpha)


def save_pair(folder, pair):
    psnr, gan = pair
    paths = str(folder / "psnr.keras"), str(folder / "gan.keras")
    psnr.save(paths[0])
    gan.save(paths[1])
    return paths


def test_models_load_from_keras_files_and_run_directories(tmp_path, pair):
    from sr_keras.training.config import TrainConfig

    psnr, gan = pair
    psnr_path, _ = save_pair(tmp_path, pair)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.json").write_text(TrainConfig(generator="rrdbnet", **TINY).to_json())
    tf.train.Checkpoint(generator=gan).save(str(run_dir / "checkpoints" / "ckpt"))
    weights = interpolation.interpolate_weights(psnr_path, str(run_dir), 1.0)
    assert all(np.array_equal(w, e) for w, e in zip(weights, gan.get_weights()))
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        interpolation.load_model(str(tmp_path / "nope.keras"))
    with pytest.raises(ValueError, match="neither a SavedModel .* nor an sr-train run dir"):
        interpolation.load_model(str(tmp_path))


def test_sweep_and_figure_in_process(tmp_path, pair):
    from sr_keras import metrics
    from sr_keras.data import pipeline
    from sr_keras.inference import keras_upscaler
    from sr_keras.programs import interpolate as program

    psnr, gan = pair
    hr = np.random.default_rng(5).integers(0, 256, (34, 41, 3), dtype=np.uint8)
    results, scores = program.sweep(interpolation.Interpolator(psnr, gan), hr, [0.0, 0.5, 1.0])
    assert [r.shape for r in results] == [(32, 40, 3)] * 3  # cropped to a multiple of 4
    lr = pipeline.make_lr(hr[:32, :40], 4)
    assert np.array_equal(results[0], metrics.to_uint8(keras_upscaler(psnr, "p")(lr)))
    assert scores[0] == pytest.approx(metrics.psnr(hr[:32, :40], results[0], 4))
    figure = str(tmp_path / "fig.png")
    assert program.plot_sweep(results, ["a", "b", "c"], figure) == 3
    assert Image.open(figure).size[0] == 3 * program.PANEL_INCHES * program.DPI


def run_program(*args):
    return subprocess.run([sys.executable, "-m", "sr_keras.programs.interpolate", *args], capture_output=True, text=True, timeout=300)


def test_program_writes_the_model_and_the_sweep_figure(tmp_path, pair):
    psnr_path, gan_path = save_pair(tmp_path, pair)
    image = tmp_path / "hr.png"
    yy, xx = np.mgrid[0:36, 0:44]
    smooth = (127 + 90 * np.sin(xx / 4.0)[..., None] * np.cos(yy / 5.0)[..., None] * np.ones(3)).astype(np.uint8)
    Image.fromarray(smooth).save(image)
    output, figure = tmp_path / "out" / "interp.keras", tmp_path / "figs" / "sweep.png"
    result = run_program(
        f"--psnr_model={psnr_path}", f"--gan_model={gan_path}", "--alpha=0.8", f"--output={output}",
        f"--sweep_image={image}", f"--sweep_output={figure}", "--alphas=0,0.25,0.5,1", "--crop=4,8,24,32",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "(4 panels)" in result.stderr
    assert len([line for line in result.stdout.splitlines() if "PSNR-Y" in line]) == 4
    from sr_keras.programs.interpolate import DPI, PANEL_INCHES

    assert Image.open(figure).size[0] == 4 * PANEL_INCHES * DPI
    import sr_keras.archs  # noqa: F401

    saved = keras.saving.load_model(str(output), compile=False)
    assert type(saved).__name__ == "RRDBNet"
    expected = interpolation.interpolate_weights(*pair, 0.8)
    assert all(np.array_equal(w, e) for w, e in zip(saved.get_weights(), expected))


def test_program_errors_are_one_clear_line(tmp_path, pair):
    psnr_path, _ = save_pair(tmp_path, pair)
    other = tmp_path / "other.keras"
    RRDBNet(num_blocks=2, num_features=8, growth=4).save(other)
    result = run_program(f"--psnr_model={psnr_path}", f"--gan_model={other}", f"--output={tmp_path / 'x.keras'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "psnr.keras" in result.stderr and "other.keras" in result.stderr and "num_blocks" in result.stderr
    assert not (tmp_path / "x.keras").exists()
