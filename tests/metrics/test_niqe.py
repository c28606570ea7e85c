"""NIQE against MATLAB's values, and its parts against hand-computed values.

Golden values:
  * baboon_niqe.png, Y channel: 5.72957338 (MATLAB R2021a running the niqe_release code, quoted in
    BasicSR's basicsr/metrics/niqe.py; /work/shared/data/goldens/README.md).
  * The five distorted TID2013 images, grey (rgb2gray, what the release does with an RGB image):
    IQA-PyTorch's "niqe" row of ResultsCalibra/calibration_summary.csv (the official MATLAB release):
    15.7536, 3.6549, 3.2355, 3.184, 8.6352.
The goldens README's "NIQE, MATLAB" row (7.20, 2.99, 3.17, 3.71, 7.69) is MATLAB's Image Processing
Toolbox `niqe`, whose default model (defaultNIQEModel.mat, not the release's pristine parameters) no
package ships: it is not reproducible with the release model and is not asserted here.
"""

import math

import numpy as np
import pytest

from sr_keras import metrics
from sr_keras.metrics import niqe_metric
from tests.metrics.conftest import PAIRS, read

RELEASE_GREY = dict(zip(PAIRS, (15.7536, 3.6549, 3.2355, 3.184, 8.6352)))


def test_baboon_matches_matlab():
    assert metrics.niqe(read("baboon_niqe.png")) == pytest.approx(5.72957338, abs=1e-4)


@pytest.mark.parametrize("name", PAIRS)
def test_tid2013_grey_matches_the_release(name):
    # NIQE's alpha is picked on a 0.001 grid, so last-digit float differences move it by up to ~0.03
    # between faithful ports (IQA-PyTorch's own port differs from these values by up to 0.44).
    assert metrics.niqe(read(f"iqa_pairs/dist/{name}.png"), convert_to="gray") == pytest.approx(RELEASE_GREY[name], abs=0.05)


def test_distortion_raises_niqe():
    # I03 is heavily distorted, I06 mildly: NIQE (lower is better) must order them.
    assert metrics.niqe(read("iqa_pairs/dist/I03.png")) > metrics.niqe(read("iqa_pairs/dist/I06.png")) + 5


def test_pristine_model_and_window():
    mu, cov = niqe_metric.pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    # fspecial('gaussian', 7, 7/6): the window shipped with the pristine parameters.
    with np.load(niqe_metric._PRISTINE_FILE) as params:
        np.testing.assert_allclose(niqe_metric.gaussian_window(), params["gaussian_window"], atol=1e-15)
    w = niqe_metric.gaussian_window()
    assert w.sum() == pytest.approx(1.0) and w[3, 4] / w[3, 3] == pytest.approx(math.exp(-1 / (2 * (7 / 6) ** 2)))


def test_aggd_fit_recovers_a_gaussian_and_asymmetry():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 2.0, 400_000)
    alpha, left, right = niqe_metric.aggd_fit(x)
    # A Gaussian is a generalized Gaussian with alpha = 2 and beta = sigma * sqrt(2).
    assert alpha == pytest.approx(2.0, abs=0.03)
    assert left == pytest.approx(2.0 * math.sqrt(2), rel=0.02) and right == pytest.approx(2.0 * math.sqrt(2), rel=0.02)
    y = np.where(x < 0, x * 0.5, x)  # left half squeezed: beta_left = beta_right / 2
    _, left, right = niqe_metric.aggd_fit(y)
    assert left / right == pytest.approx(0.5, rel=0.02)


def test_mscn_of_a_constant_image_is_zero_and_border_is_replicated():
    assert np.all(niqe_metric.mscn(np.full((20, 20), 77.0)) == 0)
    ramp = np.tile(np.arange(20, dtype=np.float64), (20, 1))
    # imfilter 'replicate': at the left border the 7-tap mean of a ramp sees copies of column 0.
    w = niqe_metric.gaussian_window().sum(axis=0)
    expected = sum(w[k] * max(0, k - 3) for k in range(7))
    assert niqe_metric._filter_replicate(ramp, niqe_metric.gaussian_window())[5, 0] == pytest.approx(expected)


def test_bad_inputs_fail_in_one_line():
    with pytest.raises(ValueError, match="uint8"):
        metrics.niqe(np.zeros((100, 100, 3), np.float32))
    with pytest.raises(ValueError, match="at least two whole 96x96 blocks"):
        metrics.niqe(np.zeros((50, 200, 3), np.uint8))
    with pytest.raises(ValueError, match="at least two whole 96x96 blocks"):
        metrics.niqe(np.zeros((100, 150, 3), np.uint8))
    with pytest.raises(ValueError, match="convert_to"):
        metrics.niqe(np.zeros((100, 100, 3), np.uint8), convert_to="lab")
