"""Import official PyTorch ESRGAN / Real-ESRGAN RRDBNet checkpoints into the Keras RRDBNet.

Three key layouts are recognised (the hyper-parameters are inferred from the keys and shapes):

  layout      conv_first    dense conv (block i, RDB j, conv k)  trunk        upsampling       last two
  basicsr     conv_first    body.i.rdbj.convk                    conv_body    conv_up1, 2..    conv_hr, conv_last
  esrgan      conv_first    RRDB_trunk.i.RDBj.convk              trunk_conv   upconv1, 2..     HRconv, conv_last
  esrgan-old  model.0       model.1.sub.i.RDBj.convk.0           model.1.sub.B  model.3, .6..  model.-2, model.-1

`basicsr` is BasicSR / Real-ESRGAN (RealESRGAN_x4plus.pth, ESRGAN_SRx4_DF2KOST_official.pth),
whose files wrap the state dict in {"params": ...} and/or {"params_ema": ...} (params_ema is
preferred, as Real-ESRGAN's inference does); `esrgan` is xinntao/ESRGAN's RRDB_ESRGAN_x4.pth
and RRDB_PSNR_x4.pth; `esrgan-old` is the 2018 sequential layout of the first ESRGAN release
and of most community ESRGAN models.  A "module." prefix (DataParallel) is ignored.

PyTorch convolution weights [out, in, kh, kw] become Keras kernels [kh, kw, in, out].
BasicSR's x2 / x1 RRDBNet (pixel-unshuffled input, conv_first reading 12 or 48 channels) is
not the ESRGAN architecture and is refused with a clear message.

The core works on a mapping of numpy arrays, so it needs no PyTorch:

    model = rrdbnet_from_state_dict({"conv_first.weight": w, ...})
Reading a .pth needs PyTorch (`pip install "sr_keras[torch]"`), imported only then:

    python -m sr_keras.weights.pytorch --checkpoint=RRDB_ESRGAN_x4.pth --output=esrgan_x4.weights.h5
    sr-upscale --model=esrgan_x4.weights.h5 --input=photo.png --output=photo_x4.png
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from sr_keras.weights import shapes

WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict")


class CheckpointError(ValueError):
    """A checkpoint that is not an RRDBNet state dict this importer understands."""


# Patterns -> a function of the match giving the Keras layer name (`None`: resolved later).
_LAYOUTS = {
    "basicsr": [
        (r"conv_first", lambda m: "conv_first"),
        (r"body\.(\d+)\.rdb([123])\.conv([1-5])", lambda m: f"body_{m[1]}_rdb{m[2]}_conv{m[3]}"),
        (r"conv_body", lambda m: "conv_body"),
        (r"conv_up(\d+)", lambda m: f"conv_up{m[1]}"),
        (r"conv_hr", lambda m: "conv_hr"),
        (r"conv_last", lambda m: "conv_last"),
    ],
    "esrgan": [
        (r"conv_first", lambda m: "conv_first"),
        (r"RRDB_trunk\.(\d+)\.RDB([123])\.conv([1-5])", lambda m: f"body_{m[1]}_rdb{m[2]}_conv{m[3]}"),
        (r"trunk_conv", lambda m: "conv_body"),
        (r"upconv(\d+)", lambda m: f"conv_up{m[1]}"),
        (r"HRconv", lambda m: "conv_hr"),
        (r"conv_last", lambda m: "conv_last"),
    ],
    "esrgan-old": [
        (r"model\.0", lambda m: "conv_first"),
        (r"model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0", lambda m: f"body_{m[1]}_rdb{m[2]}_conv{m[3]}"),
        (r"model\.1\.sub\.(\d+)", lambda m: ("trunk", int(m[1]))),
        (r"model\.(\d+)", lambda m: ("seq", int(m[1]))),
    ],
}


def unwrap_checkpoint(checkpoint: Mapping) -> dict[str, np.ndarray]:
    """The state dict inside a loaded checkpoint, as float32 numpy arrays, "module." stripped."""
    state = checkpoint
    for key in WRAPPER_KEYS:
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise CheckpointError(f"expected a state dict (a mapping of names to tensors), got {type(state).__name__}")
    result = {}
    for key, value in state.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        if hasattr(value, "detach"):  # torch tensor
            value = value.detach().cpu().float().numpy()
        result[name] = np.asarray(value, dtype=np.float32)
    return result


def _detect_layout(keys) -> str:
    if any(k.startswith("body.") or k.startswith("conv_body.") for k in keys):
        return "basicsr"
    if any(k.startswith("RRDB_trunk.") or k.startswith("trunk_conv.") for k in keys):
        return "esrgan"
    if any(k.startswith("model.1.sub.") for k in keys):
        return "esrgan-old"
    sample = ", ".join(sorted(keys)[:4]) or "no keys"
    raise CheckpointError(
        "not an ESRGAN/Real-ESRGAN RRDBNet state dict: expected keys like body.0.rdb1.conv1.weight (BasicSR), "
        f"RRDB_trunk.0.RDB1.conv1.weight (ESRGAN) or model.1.sub.0.RDB1.conv1.0.weight (old ESRGAN); found {sample}"
    )


def keras_layer_weights(state: Mapping[str, np.ndarray]) -> tuple[str, dict[str, dict[str, np.ndarray]]]:
    """(layout, {keras layer name: {"weight": [out, in, kh, kw], "bias": [out]}}) of an RRDBNet state dict."""
    layout = _detect_layout(state.keys())
    patterns = [(re.compile(p + r"\.(weight|bias)"), f) for p, f in _LAYOUTS[layout]]
    layers: dict = {}
    for key, value in state.items():
        for pattern, name_of in patterns:
            match = pattern.fullmatch(key)
            if match:
                layers.setdefault(name_of(match), {})[match[match.lastindex]] = value
                break
        else:
            raise CheckpointError(f"unexpected key {key!r} {tuple(np.shape(value))} in a {layout} RRDBNet state dict")
    if layout == "esrgan-old":
        layers = _resolve_sequential(layers)
    for name, params in layers.items():
        if "weight" not in params:
            raise CheckpointError(f"{name}: the state dict has a bias but no weight")
    return layout, layers


def _resolve_sequential(layers: dict) -> dict:
    """Old ESRGAN: model.1.sub.B is the trunk conv; model.N (N >= 3) are the upsampling convs, HR conv, last conv."""
    trunk = [key for key in layers if isinstance(key, tuple) and key[0] == "trunk"]
    if len(trunk) != 1:
        raise CheckpointError(f"expected one trunk convolution model.1.sub.B, found {len(trunk)}")
    seq = sorted(key[1] for key in layers if isinstance(key, tuple) and key[0] == "seq")
    if len(seq) < 3:
        raise CheckpointError(f"expected the upsampling, HR and last convolutions model.3 ... model.N, found indices {seq}")
    names = {("seq", n): f"conv_up{i + 1}" for i, n in enumerate(seq[:-2])}
    names[("seq", seq[-2])] = "conv_hr"
    names[("seq", seq[-1])] = "conv_last"
    names[trunk[0]] = "conv_body"
    return {names.get(key, key): value for key, value in layers.items()}


def rrdbnet_hyperparameters(layers: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, int]:
    """RRDBNet(...) arguments from Keras-named layer weights (see `keras_layer_weights`)."""
    for required in ("conv_first", "conv_body", "conv_hr", "conv_last", "body_0_rdb1_conv1"):
        if required not in layers:
            raise CheckpointError(f"no weights for {required} (in Keras naming): the state dict is incomplete")
    blocks = {int(m[1]) for name in layers if (m := re.fullmatch(r"body_(\d+)_rdb\d_conv\d", name))}
    steps = len([name for name in layers if re.fullmatch(r"conv_up\d+", name)])
    first = layers["conv_first"]["weight"]
    if first.ndim != 4:
        raise CheckpointError(f"conv_first weight has shape {first.shape}, expected [out, in, kh, kw]")
    in_channels = int(first.shape[1])
    out_channels = int(layers["conv_last"]["weight"].shape[0])
    if steps in (1, 2) and in_channels in (4 * out_channels, 16 * out_channels):
        raise CheckpointError(
            f"conv_first reads {in_channels} channels: this is BasicSR's x{ {4: 2, 16: 1}[in_channels // out_channels]} "
            "RRDBNet with a pixel-unshuffled input (e.g. RealESRGAN_x2plus), which sr_keras' RRDBNet does not implement"
        )
    if steps not in (1, 2, 3):
        raise CheckpointError(f"{steps} upsampling convolutions: RRDBNet supports x2, x4, x8 (1 to 3)")
    if blocks != set(range(len(blocks))):
        raise CheckpointError(f"RRDB blocks {sorted(blocks)} are not numbered 0..{len(blocks) - 1}")
    names = ["conv_first"]
    names += [f"body_{i}_rdb{j}_conv{k}" for i in range(len(blocks)) for j in (1, 2, 3) for k in range(1, 6)]
    names += ["conv_body", *(f"conv_up{k}" for k in range(1, steps + 1)), "conv_hr", "conv_last"]
    conv_shapes = []
    for name in names:
        if name not in layers:
            raise CheckpointError(f"the state dict has no weights for {name} (Keras naming)")
        weight = layers[name]["weight"]
        if weight.ndim != 4:
            raise CheckpointError(f"{name}: weight shape {weight.shape}, expected [out, in, kh, kw]")
        conv_shapes.append((weight.shape[2], weight.shape[3], weight.shape[1], weight.shape[0]))
    try:
        return shapes.rrdbnet_hyperparameters(conv_shapes, steps, "the state dict")
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def rrdbnet_from_state_dict(state: Mapping, *, name: str = "rrdbnet"):
    """A Keras RRDBNet holding the weights of a PyTorch RRDBNet state dict (numpy arrays or tensors).

    `state` may be the checkpoint itself ({"params_ema": ...} etc.).  Every Keras variable must be
    set and every key used; errors (`CheckpointError`) name the offending key or layer.
    """
    from sr_keras.archs import RRDBNet

    _, layers = keras_layer_weights(unwrap_checkpoint(state))
    model = RRDBNet(**rrdbnet_hyperparameters(layers), name=name)
    conv_names = {layer.name for layer in model.layers if layer.weights}
    extra = sorted(set(layers) - conv_names)
    if extra:
        raise CheckpointError(f"the state dict has weights for {extra[0]} (Keras naming), which this RRDBNet does not have")
    for layer in model.layers:
        if not layer.weights:
            continue
        params = layers.get(layer.name)
        if params is None:
            raise CheckpointError(f"the state dict has no weights for {layer.name} (Keras naming)")
        weight = params["weight"]
        kernel_shape = tuple(layer.kernel.shape)
        expected = (kernel_shape[3], kernel_shape[2], kernel_shape[0], kernel_shape[1])
        if weight.shape != expected:
            raise CheckpointError(f"{layer.name}: weight shape {weight.shape}, expected [out, in, kh, kw] = {expected}")
        bias = params.get("bias", np.zeros(expected[0], np.float32))
        if bias.shape != (expected[0],):
            raise CheckpointError(f"{layer.name}: bias shape {bias.shape}, expected ({expected[0]},)")
        layer.set_weights([np.ascontiguousarray(weight.transpose(2, 3, 1, 0)), bias])
    return model


def load_torch_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a .pth file with PyTorch (imported here; `pip install "sr_keras[torch]"`) -> numpy state dict."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        import torch
    except ImportError:
        raise RuntimeError(
            f"{path}: reading PyTorch checkpoints needs PyTorch: pip install 'sr_keras[torch]' (or pip install torch); "
            "sr_keras.weights.pytorch.rrdbnet_from_state_dict also accepts a dict of numpy arrays"
        ) from None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (pickle / zip errors of many kinds)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path}: cannot read as a PyTorch checkpoint ({first_line})") from None
    try:
        return unwrap_checkpoint(checkpoint)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None


def convert_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike):
    """Import a .pth RRDBNet checkpoint and write it as `.weights.h5` (weights only) or `.keras` (whole model)."""
    checkpoint, output = os.fspath(checkpoint), os.fspath(output)
    if not (output.endswith(".weights.h5") or output.endswith(".keras")):
        raise ValueError(f"{output}: the output must end in .weights.h5 (weights) or .keras (model)")
    try:
        model = rrdbnet_from_state_dict(load_torch_checkpoint(checkpoint))
    except CheckpointError as error:
        message = str(error)
        raise CheckpointError(message if message.startswith(checkpoint) else f"{checkpoint}: {message}") from None
    parent = os.path.dirname(os.path.abspath(output))
    os.makedirs(parent, exist_ok=True)
    if output.endswith(".keras"):
        model.save(output)
    else:
        model.save_weights(output)
    return model


def main(argv):
    del argv
    from absl import flags

    FLAGS = flags.FLAGS
    model = convert_checkpoint(FLAGS.checkpoint, FLAGS.output)
    print(
        f"{FLAGS.checkpoint}: RRDBNet num_blocks={model.num_blocks} num_features={model.num_features} "
        f"growth={model.growth} x{model.scale}, {model.count_params():,} parameters -> {FLAGS.output}"
    )


def _define_flags():
    from absl import flags

    flags.DEFINE_string("checkpoint", None, "PyTorch RRDBNet checkpoint (.pth): ESRGAN, BasicSR or Real-ESRGAN.", required=True)
    flags.DEFINE_string("output", None, "Output .weights.h5 (weights only, for sr-upscale --model) or .keras (whole model).", required=True)


def run():
    """Command-line entry point (flags are defined only here: importing this module defines none)."""
    from sr_keras.programs import run_program

    _define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
