"""Write a Keras RRDBNet as an ncnn .param/.bin pair laid out like Real-ESRGAN's ncnn export
(REALESRGAN_X4PLUS_UP4X.param): Split layers for every blob read twice, Convolution with the
LeakyReLU fused (9=2 -23310=1,0.2), Concat, Eltwise SUM with coefficients 0.2/1.0 for the
residuals, BinaryOp add for the long skip, Interp nearest x2.  Variants let tests exercise the
other ways ncnn can spell the same network, or break it on purpose.
"""

from __future__ import annotations

import numpy as np

from sr_keras.weights import ncnn


class _Graph:
    def __init__(self):
        self.layers = []  # [type, name, inputs, outputs, params]
        self.blobs = 0

    def add(self, layer_type, inputs, params=None, name=None):
        out = f"b{self.blobs}"
        self.blobs += 1
        self.layers.append([layer_type, name or f"{layer_type}_{len(self.layers)}", list(inputs), [out], params or {}])
        return out

    def model(self) -> ncnn.NcnnModel:
        """Insert Split layers like onnx2ncnn does (one per blob read more than once)."""
        readers: dict[str, int] = {}
        for layer in self.layers:
            for blob in layer[2]:
                readers[blob] = readers.get(blob, 0) + 1
        layers, used, splits = [], {}, 0
        for layer_type, name, inputs, outputs, params in self.layers:
            renamed = []
            for blob in inputs:
                if readers[blob] > 1:
                    used[blob] = used.get(blob, 0) + 1
                    renamed.append(f"{blob}_splitncnn_{readers[blob] - used[blob]}")
                else:
                    renamed.append(blob)
            layers.append(ncnn.NcnnLayer(layer_type, name, renamed, outputs, params, 0))
            for blob in outputs:
                if readers.get(blob, 0) > 1:
                    split_outputs = [f"{blob}_splitncnn_{i}" for i in range(readers[blob])]
                    layers.append(ncnn.NcnnLayer("Split", f"splitncnn_{splits}", [blob], split_outputs, {}, 0))
                    splits += 1
        blob_count = len({b for layer in layers for b in layer.outputs})
        return ncnn.NcnnModel(layers, blob_count, "<memory>")


def write_rrdbnet_ncnn(
    keras_model,
    directory,
    stem: str = "tiny",
    *,
    storage: str = "float16",
    activation: str = "fused",  # "fused" (9=2) or "relu" (a separate ReLU layer)
    residual: str = "eltwise",  # "eltwise" (coeffs) or "binaryop" (mul by scalar, then add)
    residual_scale: float = 0.2,
    interp_type: int = 1,
    drop_last_activation: bool = False,
):
    """Write <directory>/<stem>.param and .bin from an RRDBNet's weights; returns (param, bin) paths."""
    g = _Graph()
    blobs: list[bytes] = []

    def conv(x, name, leaky: bool):
        layer = keras_model.get_layer(name)
        kernel, bias = (np.asarray(w) for w in layer.get_weights())
        kh, kw, cin, cout = kernel.shape
        params = {0: cout, 1: kw, 4: 1, 5: 1, 6: kernel.size}
        if kh != kw:
            params[11] = kh
        if leaky and activation == "fused":
            params[9] = 2
            params[10] = [0.2]
        blobs.append(ncnn.encode_blob(kernel.transpose(3, 2, 0, 1), storage))
        blobs.append(ncnn.encode_blob(bias, flagged=False))
        y = g.add("Convolution", [x], params, name=f"Conv_{name}")
        if leaky and activation == "relu":
            y = g.add("ReLU", [y], {0: 0.2})
        return y

    def residual_sum(x, y):  # x + scale * y
        if residual == "eltwise":
            return g.add("Eltwise", [y, x], {0: 1, 1: [residual_scale, 1.0]})
        scaled = g.add("BinaryOp", [y], {0: 2, 1: 1, 2: residual_scale})
        return g.add("BinaryOp", [x, scaled], {0: 0})

    num_blocks = keras_model.num_blocks
    steps = int(np.log2(keras_model.scale))
    x = g.add("Input", [], {}, name="input.1")
    first = conv(x, "conv_first", False)
    x = first
    for i in range(num_blocks):
        block_input = x
        for j in range(1, 4):
            features = [x]
            for k in range(1, 6):
                inputs = features[0] if k == 1 else g.add("Concat", features)
                last = k == 5
                y = conv(inputs, f"body_{i}_rdb{j}_conv{k}", not last and not (drop_last_activation and k == 4))
                features.append(y)
            x = residual_sum(x, y)
        x = residual_sum(block_input, x)
    x = g.add("BinaryOp", [first, conv(x, "conv_body", False)], {0: 0})
    for k in range(1, steps + 1):
        x = g.add("Interp", [x], {0: interp_type, 1: 2.0, 2: 2.0})
        x = conv(x, f"conv_up{k}", True)
    x = conv(x, "conv_hr", True)
    conv(x, "conv_last", False)

    model = g.model()
    param_path = directory / f"{stem}.param"
    bin_path = directory / f"{stem}.bin"
    param_path.write_text(ncnn.format_param(model))
    bin_path.write_bytes(b"".join(blobs))
    return param_path, bin_path
