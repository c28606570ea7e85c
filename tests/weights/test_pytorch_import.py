"""PyTorch RRDBNet checkpoints -> Keras RRDBNet: the three key layouts (BasicSR / Real-ESRGAN,
ESRGAN, old sequential ESRGAN) built from a random Keras model import back to identical outputs;
wrappers and prefixes are handled; wrong checkpoints fail naming the key; with PyTorch installed,
a .pth saved from a torch module mirroring the official code matches its forward pass."""

import subprocess
import sys

import numpy as np
import pytest

from sr_keras.archs import RRDBNet
from sr_keras.weights import pytorch
from sr_keras.weights.keras_h5 import model_from_weights

TINY = dict(num_blocks=2, num_features=8, growth=4)


def random_rrdbnet(seed: int = 0, **kwargs) -> RRDBNet:
    model = RRDBNet(**{**TINY, **kwargs})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.15, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def torch_key(layout: str, keras_name: str, model: RRDBNet) -> str:
    """The official PyTorch module path of a Keras RRDBNet layer."""
    parts = keras_name.split("_")
    if parts[0] == "body":
        i, j, k = parts[1], parts[2][3:], parts[3][4:]
        return {
            "basicsr": f"body.{i}.rdb{j}.conv{k}",
            "esrgan": f"RRDB_trunk.{i}.RDB{j}.conv{k}",
            "esrgan-old": f"model.1.sub.{i}.RDB{j}.conv{k}.0",
        }[layout]
    steps = int(np.log2(model.scale))
    sequential = {"conv_first": "model.0", "conv_body": f"model.1.sub.{model.num_blocks}"}
    sequential.update({f"conv_up{k}": f"model.{3 * k}" for k in range(1, steps + 1)})
    sequential.update({"conv_hr": f"model.{3 * steps + 2}", "conv_last": f"model.{3 * steps + 4}"})
    esrgan = {"conv_body": "trunk_conv", "conv_hr": "HRconv", **{f"conv_up{k}": f"upconv{k}" for k in range(1, 4)}}
    return {"basicsr": keras_name, "esrgan": esrgan.get(keras_name, keras_name), "esrgan-old": sequential[keras_name]}[layout]


def state_dict(model: RRDBNet, layout: str) -> dict[str, np.ndarray]:
    state = {}
    for layer in model.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            key = torch_key(layout, layer.name, model)
            state[f"{key}.weight"] = kernel.transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
            state[f"{key}.bias"] = bias
    return state


@pytest.fixture(scope="module")
def source():
    return random_rrdbnet(0)


@pytest.fixture(scope="module")
def lr():
    return np.random.default_rng(1).uniform(0, 1, (1, 10, 7, 3)).astype(np.float32)


@pytest.mark.parametrize("layout", ["basicsr", "esrgan", "esrgan-old"])
def test_numpy_state_dict_round_trip(source, lr, layout):
    state = state_dict(source, layout)
    assert pytorch.keras_layer_weights(state)[0] == layout
    imported = pytorch.rrdbnet_from_state_dict(state)
    assert (imported.num_blocks, imported.num_features, imported.growth, imported.scale) == (2, 8, 4, 4)
    np.testing.assert_allclose(imported(lr).numpy(), source(lr).numpy(), atol=1e-6)


def test_wrappers_prefix_and_x8(lr):
    source = random_rrdbnet(3, num_blocks=1, scale=8)
    state = {f"module.{k}": v for k, v in state_dict(source, "basicsr").items()}
    decoy = {k: np.zeros_like(v) for k, v in state.items()}
    imported = pytorch.rrdbnet_from_state_dict({"params": decoy, "params_ema": state})  # params_ema wins
    assert imported.scale == 8
    np.testing.assert_allclose(imported(lr).numpy(), source(lr).numpy(), atol=1e-6)


def test_bad_checkpoints_name_the_key(source):
    state = state_dict(source, "esrgan")
    with pytest.raises(pytorch.CheckpointError, match=r"unexpected key 'RRDB_trunk\.0\.RDB4\.conv1\.weight'"):
        pytorch.rrdbnet_from_state_dict({**state, "RRDB_trunk.0.RDB4.conv1.weight": np.zeros((4, 8, 3, 3))})
    missing = {k: v for k, v in state.items() if not k.startswith("RRDB_trunk.1.RDB2.conv3.")}
    with pytest.raises(pytorch.CheckpointError, match=r"no weights for body_1_rdb2_conv3"):
        pytorch.rrdbnet_from_state_dict(missing)
    bad_shape = {**state, "HRconv.weight": np.zeros((8, 8, 5, 5), np.float32)}
    with pytest.raises(pytorch.CheckpointError, match=r"conv_hr: weight shape \(8, 8, 5, 5\), expected .* \(8, 8, 3, 3\)"):
        pytorch.rrdbnet_from_state_dict(bad_shape)
    x2plus = state_dict(random_rrdbnet(4, num_blocks=1, in_channels=12), "basicsr")
    with pytest.raises(pytorch.CheckpointError, match=r"reads 12 channels: this is BasicSR's x2 RRDBNet with a pixel-unshuffled input"):
        pytorch.rrdbnet_from_state_dict(x2plus)
    with pytest.raises(pytorch.CheckpointError, match=r"not an ESRGAN/Real-ESRGAN RRDBNet state dict.*found fc\.weight"):
        pytorch.rrdbnet_from_state_dict({"fc.weight": np.zeros((2, 2))})


def test_pth_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "model.pth"
    path.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(RuntimeError, match=r"model\.pth: reading PyTorch checkpoints needs PyTorch: pip install 'sr_keras\[torch\]'"):
        pytorch.load_torch_checkpoint(path)


def test_keras_h5_output_rebuilds_the_model(tmp_path, source, lr):
    path = tmp_path / "esrgan.weights.h5"
    pytorch.rrdbnet_from_state_dict(state_dict(source, "esrgan")).save_weights(path)
    rebuilt = model_from_weights(path)
    assert (rebuilt.num_blocks, rebuilt.num_features, rebuilt.growth, rebuilt.scale) == (2, 8, 4, 4)
    np.testing.assert_allclose(rebuilt(lr).numpy(), source(lr).numpy(), atol=1e-6)


# ----------------------------------------------------------------------------- with PyTorch


def official_esrgan_module(torch, nf=8, nb=2, gc=4):
    """xinntao/ESRGAN RRDBNet_arch.py (2019), verbatim structure and key names, tiny sizes."""
    nn, F = torch.nn, torch.nn.functional

    class ResidualDenseBlock_5C(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
            self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
            self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
            self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
            self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

        def forward(self, x):
            x1 = self.lrelu(self.conv1(x))
            x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
            x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
            x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
            x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
            return x5 * 0.2 + x

    class RRDB(nn.Module):
        def __init__(self):
            super().__init__()
            self.RDB1, self.RDB2, self.RDB3 = ResidualDenseBlock_5C(), ResidualDenseBlock_5C(), ResidualDenseBlock_5C()

        def forward(self, x):
            return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x

    class RRDBNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
            self.RRDB_trunk = nn.Sequential(*[RRDB() for _ in range(nb)])
            self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
            self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1)
            self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1)
            self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
            self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

        def forward(self, x):
            fea = self.conv_first(x)
            fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
            fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")))
            fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")))
            return self.conv_last(self.lrelu(self.HRconv(fea)))

    return RRDBNet()


def test_pth_matches_the_torch_forward_pass(tmp_path, lr):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = official_esrgan_module(torch).eval()
    with torch.no_grad():
        for p in net.parameters():  # larger than the default init, so every weight matters
            p.normal_(0, 0.15)
        expected = net(torch.from_numpy(lr.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    esrgan_pth, basicsr_pth = tmp_path / "RRDB_ESRGAN_x4.pth", tmp_path / "RealESRGAN_like.pth"
    torch.save(net.state_dict(), esrgan_pth)
    # The same weights in BasicSR naming, wrapped as Real-ESRGAN ships them.
    basicsr = {}
    for key, value in net.state_dict().items():
        key = (key.replace("RRDB_trunk", "body").replace("RDB", "rdb").replace("trunk_conv", "conv_body")
               .replace("upconv", "conv_up").replace("HRconv", "conv_hr"))  # fmt: skip
        basicsr[key] = value
    torch.save({"params_ema": basicsr}, basicsr_pth)

    for path in (esrgan_pth, basicsr_pth):
        model = pytorch.convert_checkpoint(path, tmp_path / "out.weights.h5")
        np.testing.assert_allclose(model(lr).numpy(), expected, atol=1e-5)
        np.testing.assert_allclose(model_from_weights(tmp_path / "out.weights.h5")(lr).numpy(), expected, atol=1e-5)

    # The command line (errors are ValueErrors: sr_keras.programs.run_program prints them in one line).
    command = [sys.executable, "-m", "sr_keras.weights.pytorch", f"--checkpoint={esrgan_pth}", f"--output={tmp_path / 'cli.keras'}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "num_blocks=2 num_features=8 growth=4 x4" in done.stdout
    from sr_keras.inference import load_upscaler

    upscaler = load_upscaler(str(tmp_path / "cli.keras"))
    np.testing.assert_allclose(upscaler.upscale_float(lr), expected, atol=1e-5)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(pytorch.CheckpointError, match=r"junk\.pth: cannot read as a PyTorch checkpoint"):
        pytorch.convert_checkpoint(tmp_path / "junk.pth", tmp_path / "junk.weights.h5")
    with pytest.raises(ValueError, match=r"out\.h5: the output must end in \.weights\.h5 \(weights\) or \.keras"):
        pytorch.convert_checkpoint(esrgan_pth, tmp_path / "out.h5")
