"""MATLAB bicubic imresize against independent expectations (hand-worked 1-D cases, a per-pixel
second formulation, constant and linear images) and numpy/TF agreement."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.ops.imresize import cubic, imresize, imresize_tf, output_length, resize_weights


def matlab_per_pixel(signal, scale, antialiasing=True):
    """A second formulation: MATLAB's contributions() evaluated pixel by pixel, with the
    symmetric border written as an explicit reflection instead of the matrix/aux table."""
    n = len(signal)
    out_n = math.ceil(round(n * scale, 9))
    width = 4.0 / scale if (scale < 1 and antialiasing) else 4.0

    def reflect(j):  # 1-based index j -> 0-based input index, MATLAB symmetric padding
        j = j - 1
        while j < 0 or j >= n:
            j = -j - 1 if j < 0 else 2 * n - 1 - j
        return j

    out = []
    for x in range(1, out_n + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [(left + p, u - (left + p)) for p in range(int(math.ceil(width)) + 2)]
        if scale < 1 and antialiasing:
            weights = [scale * float(cubic(np.array(scale * d))) for _, d in taps]
        else:
            weights = [float(cubic(np.array(d))) for _, d in taps]
        total = sum(weights)
        out.append(sum(w / total * signal[reflect(j)] for (j, _), w in zip(taps, weights)))
    return np.array(out)


def test_cubic_kernel_values_by_hand():
    # Keys a=-0.5: 1 at 0, 0 at integers, 0.5625 at 0.5, -0.0625 at 1.5.
    np.testing.assert_allclose(cubic(np.array([0.0, 1.0, 2.0, 0.5, 1.5, -0.5, 2.5])), [1, 0, 0, 0.5625, -0.0625, 0.5625, 0])


def test_downscale_by_two_worked_by_hand():
    # [a b c d] -> 2 samples with antialiasing (kernel widened to 8 taps), worked out on paper:
    # out0 = 0.546875 a + 0.3984375 b + 0.1015625 c - 0.046875 d, out1 its mirror image.
    expected = np.array([[0.546875, 0.3984375, 0.1015625, -0.046875], [-0.046875, 0.1015625, 0.3984375, 0.546875]])
    np.testing.assert_allclose(resize_weights(4, 2, 0.5), expected, atol=1e-12)


def test_upscale_by_two_first_sample_worked_by_hand():
    # u = 0.75: taps at b(reflected), a, a, b with cubic(1.75), cubic(0.75), cubic(0.25), cubic(1.25).
    weights = resize_weights(4, 8, 2.0)
    np.testing.assert_allclose(weights[0], [1.09375, -0.09375, 0, 0], atol=1e-12)


@pytest.mark.parametrize("n,scale", [(7, 0.25), (96, 0.25), (10, 0.5), (9, 1 / 3), (5, 4), (6, 2), (11, 3), (8, 0.75), (13, 1.7)])
def test_matrix_form_matches_per_pixel_formula(n, scale):
    rng = np.random.default_rng(n)
    signal = rng.random(n)
    out_n = output_length(n, scale)
    matrix = resize_weights(n, out_n, scale)
    np.testing.assert_allclose(matrix @ signal, matlab_per_pixel(signal, scale), atol=1e-12)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


def test_output_sizes_follow_matlab_ceil():
    assert imresize(np.zeros((96, 97)), 0.25).shape == (24, 25)
    assert imresize(np.zeros((7, 9, 3)), 4).shape == (28, 36, 3)
    assert imresize(np.zeros((10, 10)), size=(3, 7)).shape == (3, 7)


@pytest.mark.parametrize("scale", [0.25, 0.5, 2, 4])
def test_constant_image_stays_constant(scale):
    image = np.full((12, 9, 3), 0.37)
    np.testing.assert_allclose(imresize(image, scale), 0.37, atol=1e-12)


def test_linear_ramp_is_reproduced_away_from_borders():
    # Cubic convolution reproduces linear functions exactly; the symmetric border only bends the
    # ramp near the edges.  Sample i of the output sits at input position u_i = i/s + (1 - 1/s)/2.
    n, scale = 64, 0.25
    ramp = np.arange(n, dtype=np.float64)
    out = imresize(np.tile(ramp[:, None], (1, 3)), scale)[:, 0]
    positions = (np.arange(1, len(out) + 1) / scale + 0.5 * (1 - 1 / scale)) - 1
    np.testing.assert_allclose(out[2:-2], positions[2:-2], atol=1e-9)


def test_separable_two_dimensional_equals_rows_then_columns():
    rng = np.random.default_rng(0)
    image = rng.random((20, 28))
    by_rows = np.stack([matlab_per_pixel(row, 0.25) for row in image])
    expected = np.stack([matlab_per_pixel(col, 0.25) for col in by_rows.T], axis=1)
    np.testing.assert_allclose(imresize(image, 0.25), expected, atol=1e-12)


def test_antialiasing_flag_only_changes_downscaling():
    rng = np.random.default_rng(1)
    image = rng.random((16, 16))
    assert not np.allclose(imresize(image, 0.5, antialiasing=True), imresize(image, 0.5, antialiasing=False))
    np.testing.assert_array_equal(imresize(image, 2, antialiasing=True), imresize(image, 2, antialiasing=False))


@pytest.mark.parametrize("shape,scale", [((96, 96, 3), 0.25), ((31, 17, 3), 0.25), ((12, 10, 3), 4), ((2, 40, 24, 3), 0.5)])
def test_tf_face_matches_numpy_face(shape, scale):
    rng = np.random.default_rng(2)
    image = rng.random(shape).astype(np.float32)
    tf_out = imresize_tf(tf.constant(image), scale).numpy()
    np_out = np.stack([imresize(x, scale) for x in image]) if len(shape) == 4 else imresize(image, scale)
    np.testing.assert_allclose(tf_out, np_out, atol=1e-5)


def test_tf_face_with_dynamic_shape_inside_tf_data():
    rng = np.random.default_rng(3)
    images = [rng.random((h, w, 3)).astype(np.float32) for h, w in [(16, 20), (9, 13)]]
    dataset = tf.data.Dataset.from_generator(lambda: iter(images), output_signature=tf.TensorSpec([None, None, 3], tf.float32))
    outputs = list(dataset.map(lambda x: imresize_tf(x, 0.5)).as_numpy_iterator())
    for image, out in zip(images, outputs):
        np.testing.assert_allclose(out, imresize(image, 0.5), atol=1e-5)


def test_tf_face_in_float64_matches_numpy_to_float64_precision():
    # The whole-image LR of the training pipeline is made this way so its 8-bit rounding equals numpy's.
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (37, 52, 3)).astype(np.float64) / 255.0
    dataset = tf.data.Dataset.from_generator(lambda: iter([image]), output_signature=tf.TensorSpec([None, None, 3], tf.float64))
    (out,) = list(dataset.map(lambda x: imresize_tf(x, 0.25, dtype=tf.float64)).as_numpy_iterator())
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, imresize(image, 0.25), atol=1e-13)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="exactly one"):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        imresize(np.zeros((4,)), 0.5)
