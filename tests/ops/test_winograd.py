"""Winograd F(4x4, 3x3) against two independent formulations: the 1-D identity of its matrices against
numpy's correlation in float64, and tf.nn.conv2d (outputs and both gradients, eager and under XLA) on
sizes that are and are not multiples of the 4x4 tile."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.ops import winograd


def test_matrices_compute_a_correlation_exactly_in_float64():
    # Lavin & Gray's identity in 1-D: A^T [(G g) * (B^T d)] = [sum_k d[i + k] g[k]]_{i < 4} for a 6-tap d.
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.normal(size=6), rng.normal(size=3)
        got = winograd.OUTPUT_TRANSFORM @ ((winograd.KERNEL_TRANSFORM @ g) * (winograd.INPUT_TRANSFORM @ d))
        np.testing.assert_allclose(got, np.correlate(d, g, mode="valid"), rtol=0, atol=1e-12)


def test_apply_matrix_by_hand():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # axis 0 has 3 entries
    matrix = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    # out[i, j] = sum_k matrix[i, k] x[k, j], new axis last: out[j, i]
    np.testing.assert_allclose(winograd.apply_matrix(x, matrix, 0, 1).numpy(), [[-4.0, 6.5], [-4.0, 9.0]])


@pytest.mark.parametrize("shape, filters", [((2, 8, 8, 3), 5), ((1, 13, 10, 4), 6), ((3, 5, 7, 2), 3), ((1, 1, 1, 2), 2)])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_outputs_and_gradients_equal_conv2d(shape, filters, jit_compile):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=shape).astype(np.float32))
    kernel = tf.Variable(rng.normal(0, 0.5, (3, 3, shape[-1], filters)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(*shape[:3], filters)).astype(np.float32))

    def run(conv):
        @tf.function(jit_compile=jit_compile)
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = conv(x, kernel)
                loss = tf.reduce_sum(y * upstream)
            return [y, *tape.gradient(loss, [x, kernel])]

        return [t.numpy() for t in f(x)]

    expected = run(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"))
    got = run(winograd.conv2d_3x3)
    for g, e in zip(got, expected):
        # The transforms amplify float32 rounding to a few 1e-6 of the largest value (module docstring);
        # a wrong tap, sign or border shifts values by O(0.1) of it.
        np.testing.assert_allclose(g, e, rtol=0, atol=2e-5 * np.abs(e).max())


def test_refuses_other_kernels_and_free_sizes():
    with pytest.raises(ValueError, match="3x3"):
        winograd.conv2d_3x3(tf.zeros((1, 8, 8, 2)), tf.zeros((5, 5, 2, 2)))
    f = tf.function(winograd.conv2d_3x3, input_signature=[tf.TensorSpec((1, None, None, 2)), tf.TensorSpec((3, 3, 2, 2))])
    with pytest.raises(ValueError, match="static"):
        f.get_concrete_function()
