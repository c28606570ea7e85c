"""TFLite export refuses to overwrite unless asked, is named after the model the user gave, and
the int8 model's scale / zero point are the documented 1/255 and -128 with no stray converter
output."""

import os
import subprocess
import sys

import numpy as np
import pytest

from sr_keras import export
from tests.export.conftest import cli_env


def test_export_tflite_refuses_an_existing_file_unless_overwrite(models, tmp_path):
    path = str(tmp_path / "m.tflite")
    export.export_tflite(models["srresnet"], path, input_size=(8, 8))
    before = open(path, "rb").read()
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        export.export_tflite(models["srresnet"], path, input_size=(12, 12))
    assert open(path, "rb").read() == before
    export.export_tflite(models["srresnet"], path, input_size=(12, 12), overwrite=True)
    assert open(path, "rb").read() != before
    assert sorted(os.listdir(tmp_path)) == ["m.tflite"]  # no partial files left


def test_int8_scale_zero_point_are_documented_values_and_the_converter_is_quiet(models, capfd):
    content = export.convert_tflite(models["srresnet"], "int8", (16, 16), num_calibration_samples=4)
    captured = capfd.readouterr()
    assert "fully_quantize" not in captured.out + captured.err and "inference_type" not in captured.out + captured.err
    quantization = export.int8_io_quantization(content)
    for key in ("input", "output"):
        scale, zero_point = quantization[key]
        assert zero_point == -128 and abs(scale - 1 / 255) < 1e-6, (key, scale, zero_point)
    # q = pixel - 128: a uint8 photo maps onto the int8 input exactly.
    pixels = np.arange(256, dtype=np.float32) / 255
    scale, zero_point = quantization["input"]
    np.testing.assert_array_equal(np.round(pixels / scale + zero_point), np.arange(256) - 128)


def test_sr_export_tflite_named_after_the_run_and_refuses_overwrite(models, tmp_path, tensorflow_blocked_env):
    run = tmp_path / "my_srgan"
    run.mkdir()
    models["srresnet"].save(run / "generator.keras")
    args = [sys.executable, "-m", "sr_keras.programs.export", f"--model={run / 'generator.keras'}", "--format=tflite",
            f"--output={tmp_path / 'lite'}", "--tflite_input=8x8", "--noverify"]  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, env=cli_env())
    assert first.returncode == 0, first.stderr
    assert os.listdir(tmp_path / "lite") == ["my_srgan_float32_8x8.tflite"]
    # Refused before TensorFlow is imported: the file's name comes from the model path, not the model.
    second = subprocess.run(args, capture_output=True, text=True, timeout=300, env=tensorflow_blocked_env)
    assert second.returncode == 2 and "Traceback" not in second.stderr and "TensorFlow was imported" not in second.stderr
    assert f"{tmp_path / 'lite' / 'my_srgan_float32_8x8.tflite'} already exists; pass --overwrite to replace it" in second.stderr
    # (--overwrite = export_tflite(overwrite=True), tested above without a third process)
