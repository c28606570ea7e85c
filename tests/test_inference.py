"""Tiled inference: windows partition the image; tiled equals untiled once the pad covers the
receptive field; bicubic upscaler is MATLAB's."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.inference import Upscaler, bicubic_upscaler, keras_upscaler, tile_windows
from sr_keras.ops.imresize import imresize


@pytest.mark.parametrize("length,tile,pad", [(100, 32, 8), (33, 32, 4), (32, 32, 4), (10, 4, 20), (97, 10, 0)])
def test_windows_partition_and_have_one_size(length, tile, pad):
    windows = tile_windows(length, tile, pad)
    covered = np.zeros(length, int)
    for w0, w1, c0, c1 in windows:
        assert 0 <= w0 <= c0 < c1 <= w1 <= length
        covered[c0:c1] += 1
    assert (covered == 1).all()
    assert len({w1 - w0 for w0, w1, _, _ in windows}) == 1


def test_context_is_at_least_the_pad_away_from_borders():
    for w0, w1, c0, c1 in tile_windows(200, 30, 12):
        assert c0 - w0 >= min(12, c0) and w1 - c1 >= min(12, 200 - c1)


def test_tiled_equals_untiled_when_pad_covers_the_receptive_field():
    # A 1-block SRResNet: 9x9, 4 x 3x3 convs at LR, 2 x 3x3 at 2x and 4x and a 9x9 at 4x:
    # receptive radius = 4 + 4 + (1 + 1)/... < 10 LR pixels.
    from sr_keras.archs import SRResNet

    keras_model = SRResNet(num_blocks=1, num_features=8)
    whole = keras_upscaler(keras_model, "m")
    tiled = keras_upscaler(keras_model, "m")
    tiled.tile, tiled.tile_pad = 12, 10
    lr = np.random.default_rng(0).integers(0, 256, (37, 29, 3), dtype=np.uint8)
    np.testing.assert_allclose(tiled(lr), whole(lr), atol=1e-5)
    tiled.tile_pad = 0  # without context the tile borders differ: the pad matters
    assert np.abs(tiled(lr) - whole(lr)).max() > 1e-3


def test_bicubic_tiles_are_exact_with_its_default_pad():
    # MATLAB bicubic x4 reads 2 LR pixels on each side of an output pixel: pad 2 is exact, pad 1 is not.
    lr = np.random.default_rng(2).integers(0, 256, (23, 19, 3), dtype=np.uint8)
    whole = bicubic_upscaler(4)(lr)
    tiled = bicubic_upscaler(4)
    assert tiled.tile_pad == 2
    tiled.tile = 5
    np.testing.assert_allclose(tiled(lr), whole, atol=1e-6)
    tiled.tile_pad = 1
    assert np.abs(tiled(lr) - whole).max() > 1e-3


def test_default_tile_pad_follows_the_architecture():
    from sr_keras.archs import RRDBNet, SRResNet
    from sr_keras.inference import DEFAULT_TILE_PAD, TILE_PADS

    assert keras_upscaler(RRDBNet(num_blocks=1, num_features=8, growth=4), "r").tile_pad == TILE_PADS["RRDBNet"]
    assert keras_upscaler(SRResNet(num_blocks=1, num_features=8), "s").tile_pad == TILE_PADS["SRResNet"]
    # The widest context, RRDBNet's, for architectures the table does not know.
    assert DEFAULT_TILE_PAD == max(TILE_PADS.values())
    assert Upscaler("other", 4, lambda x: x).tile_pad == DEFAULT_TILE_PAD


def test_bicubic_upscaler_is_matlab_imresize():
    lr = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    np.testing.assert_allclose(bicubic_upscaler(4)(lr), imresize(lr / 255.0, 4), atol=1e-6)


def test_upscaler_rejects_non_uint8_rgb():
    with pytest.raises(ValueError, match="uint8"):
        bicubic_upscaler(4)(np.zeros((4, 4, 3), np.float32))


def test_weights_h5_spec_rebuilds_the_generator(tmp_path):
    from sr_keras.archs import RRDBNet
    from sr_keras.inference import load_upscaler

    model = RRDBNet(num_blocks=1, num_features=8, growth=4, scale=2)
    path = str(tmp_path / "tiny.weights.h5")
    model.save_weights(path)
    upscaler = load_upscaler(path)
    assert (upscaler.name, upscaler.scale) == ("tiny.weights.h5", 2)
    lr = np.random.default_rng(2).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_allclose(upscaler(lr), model(lr[None] / np.float32(255.0)).numpy()[0], atol=1e-6)
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        load_upscaler(str(tmp_path / "nope.weights.h5"))


def test_unknown_spec_lists_the_choices():
    from sr_keras.inference import load_upscaler

    with pytest.raises(ValueError, match=r"unknown model 'nope'.*realesrgan-x4plus, realesrgan-x4plus-anime.*\.weights\.h5"):
        load_upscaler("nope")


def test_keras_forward_compiles_only_repeated_shapes_and_agrees_with_the_graph():
    from sr_keras.archs import SRResNet
    from sr_keras.inference import KerasForward

    model = SRResNet(num_blocks=1, num_features=8)
    forward = KerasForward(model, xla=True)
    rng = np.random.default_rng(0)
    x, other = rng.random((1, 12, 10, 3), dtype=np.float32), rng.random((1, 8, 8, 3), dtype=np.float32)
    first, second, once = forward(x), forward(x), forward(other)
    assert forward.calls == {"graph": 2, "xla": 1}  # x's second call and nothing else ran XLA
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(second, expected, rtol=0, atol=1e-5)  # XLA's kernels: float32 rounding apart
    np.testing.assert_allclose(once, model(other, training=False).numpy(), rtol=0, atol=1e-6)
    assert KerasForward(model).xla is None  # xla=False: TF's kernels only


def test_xla_inference_follows_the_architecture_and_the_cpu(monkeypatch):
    from sr_keras import inference
    from sr_keras.archs import RRDBNet, SRResNet
    from sr_keras.training import hardware

    srresnet, rrdbnet = SRResNet(num_blocks=1, num_features=8), RRDBNet(num_blocks=1, num_features=8, growth=4)
    monkeypatch.setattr(hardware, "default_jit_compile", lambda: True)  # e.g. Zen 3 (AVX2)
    assert inference.xla_inference(srresnet) and not inference.xla_inference(rrdbnet)
    monkeypatch.setattr(hardware, "default_jit_compile", lambda: False)  # AVX-512: oneDNN
    assert not inference.xla_inference(srresnet)
