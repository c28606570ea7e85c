"""sr-export end to end as a user runs it: a .keras file in, TF Serving / TFLite files out."""

import os
import subprocess
import sys

import numpy as np
import pytest

from sr_keras import export
from sr_keras.programs.export import default_model_name, parse_size
from tests.export.conftest import cli_env, keras_float


def run_export(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.export", *args], capture_output=True, text=True, timeout=300, env=env or cli_env()
    )


@pytest.fixture(scope="module")
def keras_file(models, tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "my_rrdbnet" / "generator.keras"  # as sr-train writes it
    path.parent.mkdir()
    models["rrdbnet"].save(path)
    return str(path)


def test_parse_size_and_default_name(models):
    assert parse_size("") is None and parse_size(" 128x96 ") == (128, 96) and parse_size("64") == (64, 64)
    for bad in ("0x4", "12x", "a", "3x-2"):
        with pytest.raises(ValueError, match="tflite_input"):
            parse_size(bad)
    assert default_model_name("runs/srgan/generator.keras", models["rrdbnet"]) == "srgan"  # the run folder
    assert default_model_name("models/esrgan v2.keras", models["rrdbnet"]) == "esrgan_v2"  # the file name
    assert default_model_name("realesrgan-x4plus", models["rrdbnet"]) == "realesrgan-x4plus"
    # Named before the model is loaded (sr-export's early checks), but for a name only the model has.
    assert default_model_name("runs/srgan/generator.keras") == "srgan" and default_model_name("realesrgan-x4plus") == "realesrgan-x4plus"
    assert default_model_name("models/.keras") is None
    assert default_model_name("models/.keras", models["rrdbnet"]) == models["rrdbnet"].name
    assert default_model_name("models/.keras", type("Named", (), {"name": "_my model"})()) == "my_model"  # URL-safe too


def test_saved_model_versions(keras_file, models, tmp_path, tensorflow_blocked_env):
    result = run_export(f"--model={keras_file}", f"--output={tmp_path}", "--model_name=esr")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "max abs diff 0" in result.stderr
    assert f"--model_base_path={tmp_path / 'esr'}" in result.stderr
    # An existing version is refused before TensorFlow is imported.
    result = run_export(f"--model={keras_file}", f"--output={tmp_path}", "--model_name=esr", "--version=1", env=tensorflow_blocked_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'esr' / '1'} already exists; pick another --version (next free: 2)" in result.stderr
    assert "TensorFlow was imported" not in result.stderr
    assert export.version_folders(str(tmp_path / "esr")) == [1]
    # Without --model_name the name comes from the run folder (my_rrdbnet), still before TensorFlow; a stray
    # file named 2 is taken too, so the next free version is 3.
    (tmp_path / "my_rrdbnet" / "1").mkdir(parents=True)
    (tmp_path / "my_rrdbnet" / "2").write_text("")
    result = run_export(f"--model={keras_file}", f"--output={tmp_path}", "--version=1", env=tensorflow_blocked_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "TensorFlow was imported" not in result.stderr
    assert f"{tmp_path / 'my_rrdbnet' / '1'} already exists; pick another --version (next free: 3)" in result.stderr


def test_tflite_fixed_size_file(keras_file, models, tmp_path):
    result = run_export(f"--model={keras_file}", "--format=tflite", f"--output={tmp_path}", "--tflite_input=12x10")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "my_rrdbnet_float32_12x10.tflite"  # named after the run folder
    assert path.is_file() and "ops: ADD, CONCATENATION, CONV_2D" in result.stderr
    image = np.random.default_rng(5).random((1, 12, 10, 3), dtype=np.float32)
    assert np.abs(export.run_tflite(str(path), image) - keras_float(models["rrdbnet"], image)).max() < 1e-4


def test_clear_errors(keras_file, tmp_path, tensorflow_blocked_env):
    for args, message in [
        ([f"--model={tmp_path / 'nope.keras'}"], "no such model file"),
        ([f"--model={keras_file}", "--format=tflite", "--tflite_input=12y"], "--tflite_input='12y'"),
        ([f"--model={keras_file}", "--tflite_quantization=int8"], "apply to --format=tflite only"),
    ]:
        result = run_export(*args, f"--output={tmp_path}", env=tensorflow_blocked_env)  # found before importing TensorFlow
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr and "TensorFlow was imported" not in result.stderr
    assert not os.listdir(tmp_path)
