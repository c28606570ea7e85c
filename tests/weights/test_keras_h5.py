"""A bare .weights.h5 rebuilds its generator: architecture and hyper-parameters from the file."""

import keras
import numpy as np
import pytest

from sr_keras.archs import RRDBNet, SRResNet
from sr_keras.weights.keras_h5 import architecture_from_weights, model_from_weights


def randomized(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) + (w if w.ndim == 1 else 0) for w in model.get_weights()])
    return model


@pytest.mark.parametrize(
    "build,expected",
    [
        (lambda: RRDBNet(num_blocks=2, num_features=8, growth=4, scale=2), ("RRDBNet", dict(num_blocks=2, num_features=8, growth=4, scale=2))),
        (lambda: SRResNet(num_blocks=11, num_features=8, scale=8), ("SRResNet", dict(num_blocks=11, num_features=8, scale=8))),
    ],
)
def test_rebuilds_generator(tmp_path, build, expected):
    source = randomized(build())
    path = tmp_path / "g.weights.h5"
    source.save_weights(path)
    kind, kwargs = architecture_from_weights(path)
    assert kind == expected[0] and expected[1].items() <= kwargs.items()
    lr = np.random.default_rng(1).uniform(0, 1, (1, 6, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(model_from_weights(path)(lr).numpy(), source(lr).numpy(), atol=1e-6)


def test_other_files_are_refused(tmp_path):
    other = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3)])
    other.save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match=r"other\.weights\.h5: cannot tell the architecture.*model\.save"):
        model_from_weights(tmp_path / "other.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"junk\.weights\.h5: not a readable Keras \.weights\.h5"):
        model_from_weights(tmp_path / "junk.weights.h5")
    with pytest.raises(FileNotFoundError, match=r"missing\.weights\.h5: no such weights file"):
        model_from_weights(tmp_path / "missing.weights.h5")
