"""ncnn reader: .param syntax (arrays, floats), .bin storage (float32, float16 with padding, raw
biases), and errors that name the file and the layer (truncated, trailing bytes, bad magic)."""

import numpy as np
import pytest

from sr_keras.weights import ncnn


def tiny_model():
    layers = [
        ncnn.NcnnLayer("Input", "in", [], ["data"], {}, 0),
        # 3 -> 2 channels, 3x3, float32 weights, LeakyReLU fused.
        ncnn.NcnnLayer("Convolution", "conv_a", ["data"], ["a"], {0: 2, 1: 3, 4: 1, 5: 1, 6: 54, 9: 2, 10: [0.2]}, 0),
        # 2 -> 1, 1x3 (kernel_h 1), 6 float16 weights, no bias.
        ncnn.NcnnLayer("Convolution", "conv_b", ["a"], ["b"], {0: 1, 1: 3, 11: 1, 5: 0, 6: 6}, 0),
        # 3 float16 weights: 6 bytes, padded to 8.
        ncnn.NcnnLayer("Convolution", "conv_c", ["b"], ["c"], {0: 3, 1: 1, 5: 1, 6: 3}, 0),
        ncnn.NcnnLayer("Eltwise", "sum", ["c", "c"], ["out"], {0: 1, 1: [0.2, 1.0]}, 0),
    ]
    return ncnn.NcnnModel(layers, 5, "<memory>")


def write_tiny(tmp_path, rng):
    w_a, b_a = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2)
    w_b = rng.normal(size=(1, 2, 1, 3))
    w_c, b_c = rng.normal(size=(3, 1, 1, 1)), rng.normal(size=3)
    data = (
        ncnn.encode_blob(w_a, "float32") + ncnn.encode_blob(b_a, flagged=False)
        + ncnn.encode_blob(w_b, "float16")
        + ncnn.encode_blob(w_c, "float16") + ncnn.encode_blob(b_c, flagged=False)
    )  # fmt: skip
    (tmp_path / "tiny.param").write_text(ncnn.format_param(tiny_model()))
    (tmp_path / "tiny.bin").write_bytes(data)
    return tmp_path / "tiny.param", tmp_path / "tiny.bin", (w_a, b_a, w_b, w_c, b_c), data


def test_reads_float32_and_float16_blobs(tmp_path):
    param, _, (w_a, b_a, w_b, w_c, b_c), data = write_tiny(tmp_path, np.random.default_rng(0))
    assert len(ncnn.encode_blob(w_c, "float16")) == 4 + 8  # 3 halves padded to a multiple of 4
    model = ncnn.load_ncnn(param)
    a, b, c = model.layer("conv_a"), model.layer("conv_b"), model.layer("conv_c")
    np.testing.assert_array_equal(a.weights["weight"], w_a.astype(np.float32).ravel())
    np.testing.assert_array_equal(a.weights["bias"], b_a.astype(np.float32))
    np.testing.assert_array_equal(b.weights["weight"], w_b.astype(np.float16).astype(np.float32).ravel())
    assert "bias" not in b.weights and not ncnn.conv_bias(b).any()
    np.testing.assert_array_equal(c.weights["weight"], w_c.astype(np.float16).astype(np.float32).ravel())
    np.testing.assert_array_equal(c.weights["bias"], b_c.astype(np.float32))
    # Kernels come out as Keras [kh, kw, in, out].
    np.testing.assert_array_equal(ncnn.conv_kernel_hwio(a), w_a.astype(np.float32).transpose(2, 3, 1, 0))
    assert ncnn.conv_kernel_hwio(b).shape == (1, 3, 2, 1)
    geometry = ncnn.conv_geometry(a)
    assert (geometry["in_channels"], geometry["out_channels"], geometry["pad_top"]) == (3, 2, 1)
    # Array and float parameters survive the text round trip.
    assert a.params[10] == [pytest.approx(0.2)] and model.layer("sum").params[1] == [pytest.approx(0.2), 1.0]
    assert ncnn.format_param(ncnn.parse_param(param)) == ncnn.format_param(model)


def test_truncated_bin_names_file_and_layer(tmp_path):
    param, bin_path, _, data = write_tiny(tmp_path, np.random.default_rng(1))
    bin_path.write_bytes(data[:-6])
    with pytest.raises(ncnn.NcnnFormatError, match=r"tiny\.bin: layer conv_c .*truncated"):
        ncnn.load_ncnn(param)
    bin_path.write_bytes(data + b"\0" * 8)
    with pytest.raises(ncnn.NcnnFormatError, match=r"tiny\.bin: 8 bytes left .*does not match tiny\.param"):
        ncnn.load_ncnn(param)
    bin_path.write_bytes(b"\x01\x02\x03\x04" + data[4:])  # unknown storage flag on the first weights
    with pytest.raises(ncnn.NcnnFormatError, match=r"tiny\.bin: layer conv_a .*storage flag"):
        ncnn.load_ncnn(param)


def test_param_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.param"
    path.write_text("7767518\n1 1\nInput in 0 1 data\n")
    with pytest.raises(ncnn.NcnnFormatError, match=r"bad\.param line 1: bad magic"):
        ncnn.parse_param(path)
    path.write_text("7767517\n2 2\nInput in 0 1 data\nConvolution c 1 1 nope out 0=1\n")
    with pytest.raises(ncnn.NcnnFormatError, match=r"bad\.param line 4: layer c reads blob 'nope'"):
        ncnn.parse_param(path)
    path.write_text("7767517\n1 1\nInput in 0 1 data -23310=2,0.1\n")
    with pytest.raises(ncnn.NcnnFormatError, match=r"bad\.param line 3: array parameter 10 declares 2 values, has 1"):
        ncnn.parse_param(path)
    with pytest.raises(ncnn.NcnnFormatError, match=r"missing\.param: cannot read"):
        ncnn.parse_param(tmp_path / "missing.param")
