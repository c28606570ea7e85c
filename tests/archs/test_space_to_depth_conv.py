"""sr_keras' Conv2D with a space-to-depth block is keras' Conv2D computed another way: outputs and both gradients against keras' Conv2D
(an independent formulation) with the same weights, on sizes that are and are not multiples of the block."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.archs.layers import Conv2D, space_to_depth_kernel_index


def test_kernel_index_by_hand():
    # k = 3, b = 2: R = 1, R' = 1, k' = 3.  Output offset r = 0 reads input rows p - 1, p, p + 1:
    # p - 1 is offset 1 of the block above (A = 0), p and p + 1 are offsets 0 and 1 of its own block (A = 1).
    index = space_to_depth_kernel_index(3, 2)
    assert index.shape == (3, 3, 2, 2, 2, 2)
    rows = lambda a, i, r: index[a, 1, i, 0, r, 0]  # noqa: E731  (column offset 0 -> dx = 1, the centre column)
    assert [rows(0, 1, 0), rows(1, 0, 0), rows(1, 1, 0)] == [0 * 3 + 1, 1 * 3 + 1, 2 * 3 + 1]
    assert rows(0, 0, 0) == 9  # two rows up: no tap of a 3x3 kernel, a zero
    assert rows(2, 0, 1) == 2 * 3 + 1  # r = 1 reads row p + 1 = offset 0 of the block below
    # Each output offset uses each of the k*k taps exactly once.
    for r in range(2):
        for s in range(2):
            taps = index[:, :, :, :, r, s].ravel()
            assert sorted(taps[taps < 9].tolist()) == list(range(9))


@pytest.mark.parametrize("kernel_size, block, shape", [(9, 2, (2, 12, 16, 5)), (9, 2, (1, 13, 10, 5)), (3, 2, (1, 7, 9, 4)), (9, 4, (1, 11, 12, 3))])
def test_outputs_and_gradients_equal_conv2d(kernel_size, block, shape):
    rng = np.random.default_rng(0)
    reference = keras.layers.Conv2D(3, kernel_size, padding="same", activation="tanh")
    layer = Conv2D(3, kernel_size, block=block, padding="same", activation="tanh")
    x = tf.constant(rng.normal(size=shape).astype(np.float32))
    reference.build(x.shape)
    layer.build(x.shape)
    layer.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in reference.get_weights()])
    reference.set_weights(layer.get_weights())
    upstream = tf.constant(rng.normal(size=(*shape[:3], 3)).astype(np.float32))
    results = []
    for conv in (reference, layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x)
            loss = tf.reduce_sum(y * upstream)
        results.append([y, *tape.gradient(loss, [x, *conv.trainable_variables])])
    for got, expected in zip(results[1], results[0]):
        # Sums of up to 81 * C taps in another order (gradients reach ~10): float32 rounding is ~1e-6 relative;
        # a wrong or missing tap moves values by O(0.1-1).
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_config_round_trip_and_bad_settings():
    layer = Conv2D(3, 9, block=2, padding="same", name="conv_last")
    clone = Conv2D.from_config(layer.get_config())
    assert (clone.block, clone.kernel_size, clone.filters) == (2, (9, 9), 3)
    with pytest.raises(ValueError, match="stride-1"):
        Conv2D(3, 9, block=2, padding="valid")
    with pytest.raises(ValueError, match="odd"):
        Conv2D(3, 4, block=2, padding="same")
    assert Conv2D(3, 4, padding="valid").block == 1  # block 1: keras' Conv2D, any settings


def test_weight_files_are_those_of_keras_conv2d(tmp_path):
    # Keras names .weights.h5 groups after the layer class: an SRResNet saved before conv_last was
    # computed by blocks (keras.layers.Conv2D) loads into today's, and back.
    from sr_keras.archs import SRResNet

    model = SRResNet(num_blocks=1, num_features=8)
    assert type(model.get_layer("conv_last")).__name__ == "Conv2D" and model.get_layer("conv_last").block == 4
    inputs = keras.Input((None, None, 3))
    rebuilt = keras.Model(inputs, keras.layers.Conv2D(3, 9, padding="same", name="conv_last")(inputs))
    saved = keras.Model(inputs, Conv2D(3, 9, block=4, padding="same", name="conv_last")(inputs))
    rng = np.random.default_rng(1)
    saved.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in saved.get_weights()])
    saved.save_weights(str(tmp_path / "w.weights.h5"))
    rebuilt.load_weights(str(tmp_path / "w.weights.h5"))
    for a, b in zip(rebuilt.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
