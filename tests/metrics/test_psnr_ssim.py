"""Y-channel PSNR/SSIM against hand-computed values and a second (TF) formulation."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import metrics


def test_rgb_to_y_matlab_constants():
    # MATLAB rgb2ycbcr: black -> 16, white -> 235, pure red -> 16 + 65.481.
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    np.testing.assert_allclose(metrics.rgb_to_y(rgb)[0], [16.0, 16.0 + 65.481 + 128.553 + 24.966, 16.0 + 65.481])
    assert 16.0 + 65.481 + 128.553 + 24.966 == pytest.approx(235.0)


def test_psnr_by_hand_on_y_and_rgb():
    reference = np.zeros((8, 8, 3), dtype=np.uint8)
    test = reference.copy()
    test[..., :] = 10  # Y differs by 10 * (65.481 + 128.553 + 24.966) / 255 = 8.588235...
    dy = 10 * 219.0 / 255.0
    assert metrics.psnr(reference, test) == pytest.approx(10 * math.log10(255**2 / dy**2), abs=1e-9)
    assert metrics.psnr(reference, test, channel="rgb") == pytest.approx(10 * math.log10(255**2 / 100.0), abs=1e-9)


def test_border_crop_ignores_border_pixels():
    reference = np.full((20, 20, 3), 100, dtype=np.uint8)
    test = reference.copy()
    test[:4] = 0
    test[:, -4:] = 255
    assert metrics.psnr(reference, test, crop=4) == float("inf")
    assert metrics.ssim(reference, test, crop=4) == pytest.approx(1.0)
    assert metrics.psnr(reference, test, crop=3) < 30


def test_ssim_constant_images_by_hand():
    # Constant images: sigma terms vanish, SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
    a = np.full((16, 16, 3), 100, dtype=np.uint8)
    b = np.full((16, 16, 3), 120, dtype=np.uint8)
    c1 = (0.01 * 255) ** 2
    mx, my = metrics.rgb_to_y(a)[0, 0], metrics.rgb_to_y(b)[0, 0]
    assert metrics.ssim(a, b) == pytest.approx((2 * mx * my + c1) / (mx**2 + my**2 + c1), rel=1e-9)


def test_gaussian_window_matches_fspecial():
    g = metrics.gaussian_window()
    assert g.sum() == pytest.approx(1.0)
    assert g[5] / g[4] == pytest.approx(math.exp(1 / (2 * 1.5**2)))


def test_tf_metrics_match_numpy():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (2, 40, 36, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    for channel in ("y", "rgb"):
        p_tf = metrics.psnr_tf(hr / 255.0, sr / 255.0, crop=4, channel=channel).numpy()
        s_tf = metrics.ssim_tf(hr / 255.0, sr / 255.0, crop=4, channel=channel).numpy()
        for i in range(2):
            assert p_tf[i] == pytest.approx(metrics.psnr(hr[i], sr[i], 4, channel), abs=1e-3)
            assert s_tf[i] == pytest.approx(metrics.ssim(hr[i], sr[i], 4, channel), abs=1e-4)


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(metrics.to_uint8(np.array([-0.1, 0.5 / 255, 1.4 / 255, 1.2])), [0, 1, 1, 255])


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))
