"""Folding BN into the convolutions keeps an SRResNet's inference output (parity against the BN model)."""

import keras
import numpy as np
import pytest

from sr_keras.archs import SRResNet
from sr_keras.archs.fold_batch_norm import fold_batch_norm, folded_conv_weights


def test_folded_weights_by_hand():
    # A 1x1 conv (kernel 2, bias 1) then BN (gamma 3, beta 0.5, mean 4, var 8, eps 1): s = 3 / 3 = 1.
    kernel, bias = folded_conv_weights(np.full((1, 1, 1, 1), 2.0), [1.0], [3.0], [0.5], [4.0], [8.0], 1.0)
    assert kernel.ravel().tolist() == [2.0] and bias.tolist() == [(1.0 - 4.0) * 1.0 + 0.5]
    # For any x: BN(conv(x)) = 3 * (2x + 1 - 4) / 3 + 0.5 = 2x - 2.5 = kernel' x + bias'.


@pytest.mark.parametrize("options", [{}, {"tanh_output": True, "batch_norm_epsilon": 1e-3}], ids=["default", "krasserm_form"])
def test_folded_srresnet_equals_the_bn_model_at_inference(options):
    keras.utils.set_random_seed(3)
    model = SRResNet(num_blocks=2, num_features=16, **options)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # BN statistics far from the identity, as a trained model has
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 0.5, n), rng.uniform(0.2, 3, n)])
    folded = fold_batch_norm(model)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    assert folded.count_params() < model.count_params()
    x = rng.random((2, 12, 10, 3)).astype(np.float32)
    expected = model(x, training=False).numpy()
    got = folded(x).numpy()
    # float32: the folded kernels round once more (kernel * s); outputs are O(1): 1e-4 is ~1000 ulps
    # of slack, far below a wrong fold (the BN shifts here move outputs by O(0.1-1)).
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    assert folded.tanh_output == model.tanh_output  # the options carry over (krasserm's models end in tanh)
    # The same convolutions with BN dropped instead of folded: far off, so the BN statistics matter here.
    dropped = SRResNet(num_blocks=2, num_features=16, batch_norm=False, tanh_output=model.tanh_output)
    for layer in dropped.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    assert np.abs(expected - dropped(x).numpy()).max() > 0.1


def test_only_batch_norm_srresnets_fold():
    with pytest.raises(ValueError, match="batch-norm SRResNet"):
        fold_batch_norm(SRResNet(num_blocks=1, num_features=8, batch_norm=False))
