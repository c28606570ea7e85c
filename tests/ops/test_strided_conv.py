"""The four-phase stride-2 convolution (sr_keras.ops.strided_conv) against a hand-computed case and
tf.nn.conv2d(strides=2) (the independent formulation): outputs and both gradients, 'same' and
'valid', odd and even sizes, 3x3 and 4x4 kernels, eager and under XLA."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.ops.strided_conv import conv2d_stride2


def test_hand_computed_same_padding_pads_after():
    # TF's 'same' with stride 2 on 4 pixels pads one zero after, none before: output (i, j) sums the
    # 3x3 window starting at (2i, 2j).
    x = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
    y = conv2d_stride2(x, tf.ones([3, 3, 1, 1]), "same")
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], [[45, 39], [66, 50]])


@pytest.mark.parametrize("size,kernel_size,padding", [(9, 3, "same"), (10, 3, "same"), (10, 4, "valid"), (11, 4, "valid"), (11, 3, "valid"), (10, 4, "same"), (7, 5, "same")])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_outputs_and_gradients_equal_strided_conv2d(size, kernel_size, padding, jit_compile):
    rng = np.random.default_rng(size + kernel_size)
    x = tf.constant(rng.normal(size=(2, size, size + 1, 3)).astype(np.float32))
    kernel = tf.Variable(rng.normal(0, 0.5, (kernel_size, kernel_size, 3, 4)).astype(np.float32))
    expected_shape = tf.nn.conv2d(x, kernel, 2, padding.upper()).shape
    upstream = tf.constant(rng.normal(size=expected_shape).astype(np.float32))

    def run(conv):
        @tf.function(jit_compile=jit_compile)
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = conv(x, kernel)
                loss = tf.reduce_sum(y * upstream)
            return [y, *tape.gradient(loss, [x, kernel])]

        return [t.numpy() for t in f(x)]

    direct = run(lambda x, k: tf.nn.conv2d(x, k, 2, padding.upper()))
    phases = run(lambda x, k: conv2d_stride2(x, k, padding))
    for want, got, what in zip(direct, phases, ("output", "input gradient", "kernel gradient")):
        assert got.shape == want.shape, what
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.abs(want).max(), err_msg=what)


def test_refusals():
    with pytest.raises(ValueError, match="static spatial size"):
        conv2d_stride2(tf.keras.Input((None, None, 3)), tf.zeros([3, 3, 3, 4]), "same")
    with pytest.raises(ValueError, match="padding must be 'same' or 'valid'"):
        conv2d_stride2(tf.zeros([1, 8, 8, 3]), tf.zeros([3, 3, 3, 4]), "causal")
    with pytest.raises(ValueError, match="has no output"):
        conv2d_stride2(tf.zeros([1, 3, 3, 3]), tf.zeros([4, 4, 3, 4]), "valid")
