"""Pure-numpy reader of ncnn models (text `.param` + `.bin`), no ncnn installation needed.

Formats, as implemented by ncnn itself (src/net.cpp, src/paramdict.cpp, src/modelbin.cpp):

`.param` (text): line 1 is the magic number 7767517; line 2 is "<layer count> <blob count>";
then one line per layer: `type name n_inputs n_outputs in_1 .. in_n out_1 .. out_m k=v ...`.
Values containing '.' or 'e' are floats, others ints.  Keys <= -23300 hold arrays of param id
(-key - 23300), written `-23310=n,v1,..,vn` (e.g. Convolution activation_params, Eltwise coeffs).

`.bin`: the layers' weights concatenated in layer order, each layer reading its own blobs with
`ModelBin::load(w, type)`.  type 1 is raw float32 (w * 4 bytes, biases, BN statistics...);
type 0 (convolution / inner-product weights) starts with a 4-byte little-endian storage flag:
  0x00000000 raw float32 (w * 4 bytes)    0x0002C056 raw float32 (with extra scaling)
  0x01306B47 float16, w * 2 bytes padded to a multiple of 4
  0x000D4B38 int8 (not supported here)    any other non-zero flag: 256-entry lookup-table
                                          quantized weights (not supported here).

Convolution params (ncnn/docs/developer-guide/operators.md): 0 num_output, 1 kernel_w,
11 kernel_h (default kernel_w), 2 dilation_w, 12 dilation_h, 3 stride_w, 13 stride_h, 4 pad_left,
15 pad_right, 14 pad_top, 16 pad_bottom, 18 pad_value, 5 bias_term, 6 weight_data_size,
8 int8_scale_term, 9 activation_type (0 none, 1 relu, 2 leakyrelu, 3 clip, 4 sigmoid, 5 mish,
6 hardswish), 10 activation_params, 19 dynamic_weight.  Weights are stored [out, in, kh, kw]
(like PyTorch); `conv_kernel_hwio` turns them into Keras' [kh, kw, in, out].

Every error is an `NcnnFormatError` whose message starts with the file (and the `.param` line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

MAGIC = 7767517
FLAG_FLOAT32 = 0x00000000
FLAG_FLOAT32_SCALED = 0x0002C056
FLAG_FLOAT16 = 0x01306B47
FLAG_INT8 = 0x000D4B38
ARRAY_KEY_BASE = -23300

# Layer types known to read nothing from the .bin.
WEIGHTLESS_TYPES = frozenset(
    """Input Split Concat Slice Eltwise BinaryOp UnaryOp Interp ReLU Sigmoid TanH Clip ELU Swish
    HardSigmoid HardSwish Mish GELU SELU Softmax Pooling PixelShuffle Reorg Crop Padding Reshape
    Flatten Permute Dropout Noop Exp Log Power AbsVal Reduction Squeeze ExpandDims Threshold
    ShuffleChannel Cast Yolov3DetectionOutput DetectionOutput""".split()
)


class NcnnFormatError(ValueError):
    """A malformed or unsupported ncnn file; the message names the file and the problem."""


@dataclass
class NcnnLayer:
    """One layer of a .param file; `weights` is filled by `read_bin` (name -> float32 array)."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, int | float | list[int | float]]
    line: int
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def get(self, key: int, default=None):
        return self.params.get(key, default)


@dataclass
class NcnnModel:
    """A parsed ncnn model: layers in file order and the declared blob count."""

    layers: list[NcnnLayer]
    blob_count: int
    param_path: str
    bin_path: str | None = None

    def layer(self, name: str) -> NcnnLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"{self.param_path}: no layer named {name!r}")

    def layers_of_type(self, layer_type: str) -> list[NcnnLayer]:
        return [layer for layer in self.layers if layer.type == layer_type]

    def producer(self, blob: str) -> NcnnLayer:
        for layer in self.layers:
            if blob in layer.outputs:
                return layer
        raise KeyError(f"{self.param_path}: no layer produces blob {blob!r}")

    def type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for layer in self.layers:
            counts[layer.type] = counts.get(layer.type, 0) + 1
        return counts


# ----------------------------------------------------------------------------------------- .param


def _parse_scalar(text: str, where: str) -> int | float:
    try:
        if "." in text or "e" in text.lower():
            return float(text)
        return int(text)
    except ValueError:
        raise NcnnFormatError(f"{where}: bad parameter value {text!r}") from None


def _parse_params(tokens: list[str], where: str) -> dict[int, int | float | list[int | float]]:
    params: dict[int, int | float | list[int | float]] = {}
    for token in tokens:
        key_text, sep, value_text = token.partition("=")
        if not sep:
            raise NcnnFormatError(f"{where}: expected key=value, got {token!r}")
        try:
            key = int(key_text)
        except ValueError:
            raise NcnnFormatError(f"{where}: parameter key {key_text!r} is not an integer") from None
        if key <= ARRAY_KEY_BASE:
            key = ARRAY_KEY_BASE - key
            items = value_text.split(",")
            try:
                length = int(items[0])
            except ValueError:
                raise NcnnFormatError(f"{where}: array parameter {key} has a bad length {items[0]!r}") from None
            values = [_parse_scalar(item, where) for item in items[1:]]
            if length != len(values):
                raise NcnnFormatError(f"{where}: array parameter {key} declares {length} values, has {len(values)}")
            params[key] = values
        else:
            if key < 0:
                raise NcnnFormatError(f"{where}: negative parameter key {key} (arrays use keys <= -23300)")
            params[key] = _parse_scalar(value_text, where)
    return params


def parse_param_text(text: str, source: str = "<param>") -> NcnnModel:
    """Parse the text of a .param file; `source` names the file in errors."""
    lines = text.splitlines()
    numbered = [(i + 1, line.strip()) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise NcnnFormatError(f"{source}: empty file")
    lineno, first = numbered[0]
    if first != str(MAGIC):
        raise NcnnFormatError(f"{source} line {lineno}: bad magic {first[:20]!r}, expected {MAGIC} (text .param)")
    if len(numbered) < 2:
        raise NcnnFormatError(f"{source}: missing the '<layer count> <blob count>' line")
    lineno, counts = numbered[1]
    try:
        layer_count, blob_count = (int(v) for v in counts.split())
    except ValueError:
        raise NcnnFormatError(f"{source} line {lineno}: expected '<layer count> <blob count>', got {counts!r}") from None

    layers: list[NcnnLayer] = []
    blobs: set[str] = set()
    for lineno, line in numbered[2:]:
        where = f"{source} line {lineno}"
        tokens = line.split()
        if len(tokens) < 4:
            raise NcnnFormatError(f"{where}: expected 'type name n_inputs n_outputs ...', got {line[:60]!r}")
        layer_type, name = tokens[0], tokens[1]
        try:
            n_in, n_out = int(tokens[2]), int(tokens[3])
        except ValueError:
            raise NcnnFormatError(f"{where}: input/output counts {tokens[2]!r} {tokens[3]!r} are not integers") from None
        if n_in < 0 or n_out < 0 or len(tokens) < 4 + n_in + n_out:
            raise NcnnFormatError(f"{where}: layer {name} declares {n_in} inputs and {n_out} outputs but lists fewer blobs")
        inputs = tokens[4 : 4 + n_in]
        outputs = tokens[4 + n_in : 4 + n_in + n_out]
        for blob in inputs:
            if blob not in blobs:
                raise NcnnFormatError(f"{where}: layer {name} reads blob {blob!r} that no earlier layer produces")
        for blob in outputs:
            if blob in blobs:
                raise NcnnFormatError(f"{where}: layer {name} produces blob {blob!r} a second time")
            blobs.add(blob)
        params = _parse_params(tokens[4 + n_in + n_out :], where)
        layers.append(NcnnLayer(layer_type, name, inputs, outputs, params, lineno))

    if len(layers) != layer_count:
        raise NcnnFormatError(f"{source}: header declares {layer_count} layers, file has {len(layers)}")
    if len(blobs) > blob_count:
        raise NcnnFormatError(f"{source}: header declares {blob_count} blobs, layers produce {len(blobs)}")
    return NcnnModel(layers, blob_count, source)


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        raise NcnnFormatError(f"{path}: cannot read ({error.strerror})") from None


def parse_param(path: str | os.PathLike) -> NcnnModel:
    """Parse a text .param file (binary .param.bin files are not supported)."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise NcnnFormatError(f"{path}: not a text .param file (binary .param.bin is not supported)") from None
    return parse_param_text(text, path)


# ------------------------------------------------------------------------------------------- .bin


class _BinReader:
    def __init__(self, data: bytes, source: str):
        self.data = data
        self.offset = 0
        self.source = source
        self.layer: NcnnLayer | None = None
        self.param_source = ""

    def _where(self) -> str:
        layer = self.layer
        return f"{self.source}: layer {layer.name} ({layer.type}, {self.param_source} line {layer.line})"

    def _take(self, nbytes: int, what: str) -> bytes:
        left = len(self.data) - self.offset
        if nbytes > left:
            raise NcnnFormatError(
                f"{self._where()}: file truncated reading {what} at byte {self.offset}: need {nbytes} bytes, {left} left"
            )
        chunk = self.data[self.offset : self.offset + nbytes]
        self.offset += nbytes
        return chunk

    def load(self, count: int, load_type: int, what: str) -> np.ndarray:
        """ModelBinFromDataReader::load(count, type) -> float32 [count]."""
        if count < 0:
            raise NcnnFormatError(f"{self._where()}: negative size {count} for {what}")
        if load_type == 1:
            return np.frombuffer(self._take(4 * count, what), "<f4").astype(np.float32)
        flag_bytes = self._take(4, f"{what} storage flag")
        flag = int.from_bytes(flag_bytes, "little")
        if flag == FLAG_FLOAT16:
            nbytes = (2 * count + 3) // 4 * 4  # alignSize(w * sizeof(unsigned short), 4)
            return np.frombuffer(self._take(nbytes, what)[: 2 * count], "<f2").astype(np.float32)
        if flag == FLAG_INT8:
            raise NcnnFormatError(f"{self._where()}: {what} is stored as int8 (flag 0x{flag:08X}); int8 models are not supported")
        if flag == FLAG_FLOAT32_SCALED or sum(flag_bytes) == 0:
            return np.frombuffer(self._take(4 * count, what), "<f4").astype(np.float32)
        raise NcnnFormatError(
            f"{self._where()}: {what} has storage flag 0x{flag:08X} at byte {self.offset - 4}: lookup-table "
            "quantized weights are not supported (or the .bin does not match the .param)"
        )


def _int8_unsupported(reader: _BinReader, layer: NcnnLayer, key: int = 8) -> None:
    if layer.get(key, 0):
        raise NcnnFormatError(f"{reader._where()}: int8 quantized layer (int8_scale_term={layer.get(key)}) is not supported")


def _read_layer(reader: _BinReader, layer: NcnnLayer) -> dict[str, np.ndarray]:
    t = layer.type
    if t in WEIGHTLESS_TYPES:
        return {}
    if t in ("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise"):
        _int8_unsupported(reader, layer)
        if layer.get(19, 0):  # dynamic_weight: weights come from a second input blob
            return {}
        weights = {"weight": reader.load(layer.get(6, 0), 0, "weight")}
        if layer.get(5, 0):
            weights["bias"] = reader.load(layer.get(0, 0), 1, "bias")
        return weights
    if t == "InnerProduct":
        _int8_unsupported(reader, layer)
        weights = {"weight": reader.load(layer.get(2, 0), 0, "weight")}
        if layer.get(1, 0):
            weights["bias"] = reader.load(layer.get(0, 0), 1, "bias")
        return weights
    if t == "PReLU":
        return {"slope": reader.load(layer.get(0, 0), 1, "slope")}
    if t == "BatchNorm":
        n = layer.get(0, 0)
        return {k: reader.load(n, 1, k) for k in ("slope", "mean", "variance", "bias")}
    if t == "Scale":
        n = layer.get(0, 0)
        if n == -233:  # scale from a second input blob
            return {}
        weights = {"scale": reader.load(n, 1, "scale")}
        if layer.get(1, 0):
            weights["bias"] = reader.load(n, 1, "bias")
        return weights
    if t == "Bias":
        return {"bias": reader.load(layer.get(0, 0), 1, "bias")}
    raise NcnnFormatError(f"{reader._where()}: reading weights of layer type {t} is not supported")


def read_bin(model: NcnnModel, path: str | os.PathLike) -> NcnnModel:
    """Read the .bin at `path` into `layer.weights` of every layer of `model` (in place; returns it).

    The whole file must be consumed: trailing bytes mean the .bin does not belong to the .param.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    reader = _BinReader(data, path)
    reader.param_source = os.path.basename(model.param_path)
    for layer in model.layers:
        reader.layer = layer
        layer.weights = _read_layer(reader, layer)
    if reader.offset != len(data):
        raise NcnnFormatError(
            f"{path}: {len(data) - reader.offset} bytes left after the last layer "
            f"(read {reader.offset} of {len(data)}): the .bin does not match {reader.param_source}"
        )
    model.bin_path = path
    return model


def load_ncnn(param_path: str | os.PathLike, bin_path: str | os.PathLike | None = None) -> NcnnModel:
    """Parse `param_path` and read its weights from `bin_path` (default: same name, `.bin`)."""
    param_path = os.fspath(param_path)
    if bin_path is None:
        bin_path = os.path.splitext(param_path)[0] + ".bin"
    return read_bin(parse_param(param_path), bin_path)


# ------------------------------------------------------------------------------------ conversion


def conv_geometry(layer: NcnnLayer) -> dict[str, int]:
    """num_output, in_channels, kernel, stride, dilation, pad, bias and groups of a Convolution."""
    out = int(layer.get(0, 0))
    kw = int(layer.get(1, 0))
    kh = int(layer.get(11, kw))
    groups = int(layer.get(7, 1)) if layer.type == "ConvolutionDepthWise" else 1
    size = int(layer.get(6, 0))
    if out <= 0 or kw <= 0 or kh <= 0 or size % (out * kh * kw):
        raise NcnnFormatError(
            f"{layer.name} ({layer.type}): weight_data_size {size} is not num_output {out} x {kh}x{kw} x in_channels"
        )
    dil_w = int(layer.get(2, 1))
    stride_w = int(layer.get(3, 1))
    pad_l = int(layer.get(4, 0))
    pad_t = int(layer.get(14, pad_l))
    return {
        "out_channels": out,
        "in_channels": size // (out * kh * kw) * groups,
        "kernel_h": kh,
        "kernel_w": kw,
        "stride_w": stride_w,
        "stride_h": int(layer.get(13, stride_w)),
        "dilation_w": dil_w,
        "dilation_h": int(layer.get(12, dil_w)),
        "pad_left": pad_l,
        "pad_right": int(layer.get(15, pad_l)),
        "pad_top": pad_t,
        "pad_bottom": int(layer.get(16, pad_t)),
        "bias_term": int(layer.get(5, 0)),
        "groups": groups,
    }


def conv_kernel_hwio(layer: NcnnLayer) -> np.ndarray:
    """A (non-grouped) Convolution's weights [out, in, kh, kw] as a Keras kernel [kh, kw, in, out]."""
    if layer.type != "Convolution":
        raise NcnnFormatError(f"{layer.name}: conv_kernel_hwio needs a Convolution layer, got {layer.type}")
    if "weight" not in layer.weights:
        raise NcnnFormatError(f"{layer.name}: no weights loaded (call read_bin first)")
    g = conv_geometry(layer)
    oihw = layer.weights["weight"].reshape(g["out_channels"], g["in_channels"], g["kernel_h"], g["kernel_w"])
    return np.ascontiguousarray(oihw.transpose(2, 3, 1, 0))


def conv_bias(layer: NcnnLayer) -> np.ndarray:
    """A Convolution's bias [out] (zeros when bias_term=0)."""
    if "bias" in layer.weights:
        return layer.weights["bias"]
    return np.zeros(int(layer.get(0, 0)), np.float32)


# ------------------------------------------------------------------------------------- writing


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:e}"
    return str(value)


def format_param(model: NcnnModel) -> str:
    """Serialise `model` back to .param text (used by tests to build small models)."""
    lines = [str(MAGIC), f"{len(model.layers)} {model.blob_count}"]
    for layer in model.layers:
        parts = [f"{layer.type:<24} {layer.name:<24} {len(layer.inputs)} {len(layer.outputs)}", *layer.inputs, *layer.outputs]
        for key, value in layer.params.items():
            if isinstance(value, list):
                parts.append(f"{ARRAY_KEY_BASE - key}={len(value)}," + ",".join(_format_value(v) for v in value))
            else:
                parts.append(f"{key}={_format_value(value)}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def encode_blob(values: np.ndarray, storage: str = "float32", flagged: bool = True) -> bytes:
    """Bytes of one .bin blob as ModelBin::load reads it: `flagged` = type 0 (with storage flag)."""
    values = np.asarray(values, np.float32).ravel()
    if not flagged:
        return values.astype("<f4").tobytes()
    if storage == "float32":
        return FLAG_FLOAT32.to_bytes(4, "little") + values.astype("<f4").tobytes()
    if storage == "float16":
        data = values.astype("<f2").tobytes()
        return FLAG_FLOAT16.to_bytes(4, "little") + data + b"\0" * (-len(data) % 4)
    raise ValueError(f"storage must be 'float32' or 'float16', got {storage!r}")
