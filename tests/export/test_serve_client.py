"""sr-serve-client against the exported SavedModel, with TF Serving's REST JSON rules emulated.

The emulation follows tensorflow_serving/util/json_tensor.cc: in a row-format request,
"instances" elements that are {"b64": ...} objects are values of the single input (base64-decoded
into DT_STRING); in the response, a single output is unnamed ("predictions": [value, ...]), and a
DT_STRING output whose name ends in "_bytes" is written as {"b64": ...} (other strings raw).
"""

import base64
import http.server
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import export
from sr_keras.programs import serve_client
from tests.export.conftest import cli_env, keras_uint8


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)


def tf_serving_predict(signatures, body: bytes) -> tuple[int, dict]:
    """(HTTP status, JSON reply) of TF Serving's REST predict for a loaded SavedModel's signatures."""
    try:
        request = json.loads(body)
        function = signatures[request.get("signature_name", "serving_default")]
    except (ValueError, KeyError) as error:
        return 400, {"error": f"bad request: {error}"}
    specs = function.structured_input_signature[1]
    instances = request["instances"]
    if isinstance(instances[0], dict) and not _is_b64(instances[0]):
        columns = {name: [row[name] for row in instances] for name in specs}
    else:
        assert len(specs) == 1
        columns = {next(iter(specs)): instances}

    def tensor(values, spec):
        if spec.dtype == tf.string:
            return tf.constant([base64.b64decode(v["b64"]) if _is_b64(v) else v.encode() for v in values])
        return tf.constant(np.array(values), dtype=spec.dtype)

    outputs = function(**{name: tensor(values, specs[name]) for name, values in columns.items()})

    def json_value(name, value):
        if isinstance(value, bytes):
            if name.endswith("_bytes"):
                return {"b64": base64.b64encode(value).decode()}
            return value.decode("utf-8")  # TF Serving writes the raw string (binary data breaks)
        return value.tolist() if hasattr(value, "tolist") else value

    arrays = {name: value.numpy() for name, value in outputs.items()}
    batch = len(next(iter(arrays.values())))
    rows = []
    for index in range(batch):
        named = {name: json_value(name, array[index]) for name, array in arrays.items()}
        rows.append(next(iter(named.values())) if len(named) == 1 else named)
    return 200, {"predictions": rows}


@pytest.fixture(scope="module")
def served(saved_model):
    path, model = saved_model
    return tf.saved_model.load(path).signatures, model


@pytest.fixture
def photo_png():
    yy, xx = np.mgrid[0:10, 0:13]
    image = np.stack([yy * 20, xx * 15, (yy + xx) * 9], axis=-1).astype(np.uint8)
    return image, tf.io.encode_png(image).numpy()


def test_request_is_tf_serving_row_format_with_b64(photo_png):
    _, png = photo_png
    request = serve_client.build_rest_request(png)
    assert request == {"signature_name": "serve_image_bytes", "instances": [{"b64": base64.b64encode(png).decode()}]}
    assert json.loads(json.dumps(request)) == request
    assert len(serve_client.build_rest_request([png, png])["instances"]) == 2
    assert serve_client.rest_url("localhost:8501", "sr") == "http://localhost:8501/v1/models/sr:predict"
    assert serve_client.rest_url("http://h:1/", "esr", 3) == "http://h:1/v1/models/esr/versions/3:predict"


def test_output_name_makes_tf_serving_return_base64(served):
    signatures, _ = served
    outputs = signatures[export.SERVE_IMAGE_BYTES].structured_outputs
    assert list(outputs) == ["png_bytes"] and outputs["png_bytes"].dtype == tf.string
    assert serve_client.OUTPUT_KEY == export.PNG_BYTES_KEY and serve_client.INPUT_KEY == export.IMAGE_BYTES_KEY
    assert serve_client.SIGNATURE_NAME == export.SERVE_IMAGE_BYTES


def test_round_trip_through_the_saved_model(served, photo_png):
    signatures, model = served
    image, png = photo_png
    jpeg = tf.io.encode_jpeg(image[:7, :9], quality=95).numpy()
    request = serve_client.build_rest_request([png, jpeg])
    status, reply = tf_serving_predict(signatures, json.dumps(request).encode())
    assert status == 200 and all(_is_b64(row) for row in reply["predictions"])  # the _bytes rule applied
    pngs = serve_client.parse_rest_response(json.dumps(reply))
    expected = [keras_uint8(model, image[None])[0], keras_uint8(model, tf.io.decode_jpeg(jpeg).numpy()[None])[0]]
    for data, reference in zip(pngs, expected):
        upscaled = tf.io.decode_png(data).numpy()
        assert upscaled.shape == reference.shape
        assert np.abs(upscaled.astype(int) - reference.astype(int)).max() <= 1


def test_response_forms_and_errors():
    data = base64.b64encode(b"\x89PNG...").decode()
    assert serve_client.parse_rest_response({"predictions": [{"b64": data}]}) == [b"\x89PNG..."]
    assert serve_client.parse_rest_response({"predictions": [{"png_bytes": {"b64": data}, "x": 1}]}) == [b"\x89PNG..."]
    assert serve_client.parse_rest_response({"outputs": [{"b64": data}]}) == [b"\x89PNG..."]
    assert serve_client.parse_rest_response({"outputs": {"png_bytes": [{"b64": data}], "x": [1]}}) == [b"\x89PNG..."]
    with pytest.raises(RuntimeError, match="Servable not found"):
        serve_client.parse_rest_response('{"error": "Servable not found for request: Latest(x)"}')
    with pytest.raises(RuntimeError, match="_bytes"):  # an output not named *_bytes comes back raw
        serve_client.parse_rest_response({"predictions": ["raw string"]})
    with pytest.raises(RuntimeError, match="not JSON"):
        serve_client.parse_rest_response(b"<html>")


def test_grpc_request_or_clear_error(photo_png):
    _, png = photo_png
    try:
        import tensorflow_serving.apis  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="pip install tensorflow-serving-api"):
            serve_client.build_grpc_request([png], "sr")
        return
    request = serve_client.build_grpc_request([png], "sr", version=2)
    assert request.model_spec.name == "sr" and request.model_spec.version.value == 2
    assert list(request.inputs["image_bytes"].string_val) == [png]


@pytest.fixture
def fake_tf_serving(served):
    """A local HTTP server answering POST /v1/models/tiny_srresnet[/versions/1]:predict like TF Serving."""
    signatures, _ = served

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path in ("/v1/models/tiny_srresnet:predict", "/v1/models/tiny_srresnet/versions/1:predict"):
                status, reply = tf_serving_predict(signatures, body)
            else:
                status, reply = 404, {"error": f"Servable not found for request: {self.path}"}
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_client(*args):
    return subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.serve_client", *args], capture_output=True, text=True, timeout=120, env=cli_env()
    )


def test_client_program_over_http(fake_tf_serving, served, photo_png, tmp_path):
    _, model = served
    image, png = photo_png
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "photo.png").write_bytes(png)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    result = run_client(f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--server={fake_tf_serving}", "--model_name=tiny_srresnet", "--version=1")
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path / "out") == ["photo.png"]
    upscaled = tf.io.decode_png((tmp_path / "out" / "photo.png").read_bytes()).numpy()
    assert np.abs(upscaled.astype(int) - keras_uint8(model, image[None])[0].astype(int)).max() <= 1
    # Through the library function too (stdlib HTTP, no subprocess).
    url = serve_client.rest_url(fake_tf_serving, "tiny_srresnet")
    assert serve_client.predict_rest([png], url)[0] == (tmp_path / "out" / "photo.png").read_bytes()

    result = run_client(f"--input={tmp_path / 'in' / 'photo.png'}", f"--output={tmp_path / 'x.png'}", f"--server={fake_tf_serving}", "--model_name=other")
    assert result.returncode == 2
    assert "HTTP 404: Servable not found" in result.stderr and "Traceback" not in result.stderr
    result = run_client(f"--input={tmp_path / 'missing.png'}", f"--output={tmp_path / 'x.png'}", "--model_name=tiny_srresnet")
    assert result.returncode == 2 and "no such file or folder" in result.stderr
