"""The one shape inference: hyper-parameters from conv kernel shapes, counted by hand."""

import pytest

from sr_keras.weights import shapes


def rrdbnet_shapes(blocks, features, growth, steps):
    convs = [(3, 3, 3, features)]
    for _ in range(blocks * 3):
        convs += [(3, 3, features + k * growth, growth) for k in range(4)] + [(3, 3, features + 4 * growth, features)]
    return convs + [(3, 3, features, features)] * (1 + steps + 1) + [(3, 3, features, 3)]


def test_rrdbnet_from_shapes():
    assert shapes.rrdbnet_hyperparameters(rrdbnet_shapes(23, 64, 32, 2), 2, "x") == dict(
        num_blocks=23, num_features=64, growth=32, scale=4, in_channels=3, out_channels=3
    )
    assert shapes.rrdbnet_hyperparameters(rrdbnet_shapes(1, 8, 4, 3), 3, "x")["scale"] == 8
    with pytest.raises(ValueError, match=r"model\.bin: 350 convolutions and 2 upsamplings is not an RRDBNet"):
        shapes.rrdbnet_hyperparameters(rrdbnet_shapes(23, 64, 32, 2)[1:], 2, "model.bin")


def test_srresnet_from_shapes():
    f = 64
    convs = [(9, 9, 3, f)] + [(3, 3, f, f)] * (2 * 16 + 1) + [(3, 3, f, 4 * f)] * 2 + [(9, 9, f, 3)]
    assert shapes.srresnet_hyperparameters(convs, "x") == dict(num_blocks=16, num_features=64, scale=4)
    with pytest.raises(ValueError, match=r"g\.h5: 36 convolutions \(2 with 256 outputs\) is not an SRResNet"):
        shapes.srresnet_hyperparameters(convs[:1] + convs[2:], "g.h5")
