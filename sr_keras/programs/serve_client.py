"""sr-serve-client: upscale image files with a model served by TensorFlow Serving.

  sr-serve-client --input=photo.jpg --output=photo_x4.png --model_name=srresnet
  sr-serve-client --input=photos/ --output=out/ --server=http://gpu-box:8501 --model_name=esrgan --version=3
  sr-serve-client --input=photo.jpg --output=x4.png --protocol=grpc --server=gpu-box:8500

The encoded file is sent as is (PNG/JPEG/GIF/BMP, decoded by the server) to the SavedModel's
`serve_image_bytes` signature (written by sr-export), and the returned PNG is written.  REST (the
default) uses only the Python standard library:

  POST http://HOST:8501/v1/models/NAME[/versions/V]:predict
  {"signature_name": "serve_image_bytes", "instances": [{"b64": "<base64 of the file>"}]}
  -> {"predictions": [{"b64": "<base64 PNG>"}]}

(TF Serving returns string outputs whose name ends in `_bytes`, here `png_bytes`, as {"b64": ...}.)
gRPC (port 8500) needs `pip install tensorflow-serving-api`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Sequence

SIGNATURE_NAME = "serve_image_bytes"  # sr_keras.export.SERVE_IMAGE_BYTES (not imported: no TF here)
INPUT_KEY = "image_bytes"
OUTPUT_KEY = "png_bytes"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


# --------------------------------------------------------------------------------------------
# REST: pure request/response functions
# --------------------------------------------------------------------------------------------


def rest_url(server: str, model_name: str, version: int | None = None) -> str:
    """http://HOST:PORT/v1/models/NAME[/versions/V]:predict ("http://" added if missing)."""
    server = server.rstrip("/")
    if "://" not in server:
        server = "http://" + server
    version_part = f"/versions/{int(version)}" if version is not None else ""
    return f"{server}/v1/models/{model_name}{version_part}:predict"


def build_rest_request(images: bytes | Sequence[bytes], signature_name: str = SIGNATURE_NAME) -> dict:
    """The JSON body (as a dict) of a REST predict request for one or more encoded images.

    Row format with the single input implied: {"signature_name": ..., "instances": [{"b64": ...}]}.
    """
    if isinstance(images, (bytes, bytearray)):
        images = [images]
    if not images:
        raise ValueError("no image to send")
    return {
        "signature_name": signature_name,
        "instances": [{"b64": base64.b64encode(bytes(data)).decode("ascii")} for data in images],
    }


def _decode_b64(value, where: str) -> bytes:
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise RuntimeError(f"TF Serving response: {where} is not valid base64 ({error})") from None
    raise RuntimeError(
        f"TF Serving response: {where} is {json.dumps(value)[:80]}, expected {{\"b64\": ...}} "
        f"(is the signature's output named '..._bytes'?)"
    )


def parse_rest_response(response: dict | str | bytes, output_key: str = OUTPUT_KEY) -> list[bytes]:
    """The encoded PNGs in a REST predict response (one per image sent).

    Accepts the row form {"predictions": [{"b64": ...}, ...]} (single output) or
    [{"png_bytes": {"b64": ...}}, ...] (several outputs), and the columnar form {"outputs": ...}.
    A response {"error": MESSAGE} raises RuntimeError with that message.
    """
    if isinstance(response, (str, bytes, bytearray)):
        try:
            response = json.loads(response)
        except ValueError as error:
            raise RuntimeError(f"TF Serving response is not JSON ({error})") from None
    if not isinstance(response, dict):
        raise RuntimeError(f"TF Serving response is not a JSON object: {str(response)[:80]}")
    if "error" in response:
        raise RuntimeError(f"TF Serving: {response['error']}")
    if "predictions" in response:
        rows = response["predictions"]
        if not isinstance(rows, list):
            raise RuntimeError("TF Serving response: 'predictions' is not a list")
        return [
            _decode_b64(row[output_key] if isinstance(row, dict) and output_key in row else row, f"predictions[{i}]")
            for i, row in enumerate(rows)
        ]
    if "outputs" in response:
        outputs = response["outputs"]
        if isinstance(outputs, dict) and output_key in outputs:
            outputs = outputs[output_key]
        if not isinstance(outputs, list):
            raise RuntimeError(f"TF Serving response: 'outputs' has no list '{output_key}'")
        return [_decode_b64(value, f"outputs[{i}]") for i, value in enumerate(outputs)]
    raise RuntimeError(f"TF Serving response has neither 'predictions' nor 'outputs': {list(response)}")


def predict_rest(images: Sequence[bytes], url: str, signature_name: str = SIGNATURE_NAME, timeout: float = 300.0) -> list[bytes]:
    """POST the images to `url` (see `rest_url`) and return the PNGs; RuntimeError on failure."""
    body = json.dumps(build_rest_request(images, signature_name)).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            payload = reply.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except (ValueError, AttributeError):
            pass
        raise RuntimeError(f"{url}: HTTP {error.code}: {str(detail).strip()[:500]}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RuntimeError(f"{url}: cannot reach TF Serving ({reason})") from None
    pngs = parse_rest_response(payload)
    if len(pngs) != len(images):
        raise RuntimeError(f"{url}: sent {len(images)} image(s), got {len(pngs)} back")
    return pngs


# --------------------------------------------------------------------------------------------
# gRPC (optional)
# --------------------------------------------------------------------------------------------


def build_grpc_request(images: Sequence[bytes], model_name: str, signature_name: str = SIGNATURE_NAME, version: int | None = None):
    """A tensorflow_serving PredictRequest; needs `pip install tensorflow-serving-api`."""
    try:
        from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorflow_serving.apis import predict_pb2
    except ImportError:
        raise RuntimeError("--protocol=grpc needs the TF Serving API: pip install tensorflow-serving-api") from None
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(images))]),
        string_val=[bytes(data) for data in images],
    )
    request.inputs[INPUT_KEY].CopyFrom(tensor)
    return request


def predict_grpc(
    images: Sequence[bytes], target: str, model_name: str, signature_name: str = SIGNATURE_NAME, version: int | None = None, timeout: float = 300.0
) -> list[bytes]:
    """Predict over gRPC (target HOST:8500); returns the PNGs."""
    request = build_grpc_request(images, model_name, signature_name, version)
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    target = target.split("://", 1)[-1].rstrip("/")
    limit = 1 << 30  # upscaled PNGs exceed gRPC's 4 MB default
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)])
    try:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=timeout)
    except grpc.RpcError as error:
        raise RuntimeError(f"{target}: gRPC {error.code().name}: {error.details()}") from None
    finally:
        channel.close()
    return list(response.outputs[OUTPUT_KEY].string_val)


# --------------------------------------------------------------------------------------------
# Program
# --------------------------------------------------------------------------------------------


def input_output_pairs(source: str, target: str) -> list[tuple[str, str]]:
    """(input file, output PNG) pairs for a file or a folder of images."""
    if os.path.isdir(source):
        names = sorted(name for name in os.listdir(source) if name.lower().endswith(IMAGE_EXTENSIONS))
        if not names:
            raise FileNotFoundError(f"{source}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        return [(os.path.join(source, name), os.path.join(target, os.path.splitext(name)[0] + ".png")) for name in names]
    if not os.path.isfile(source):
        raise FileNotFoundError(f"{source}: no such file or folder")
    if os.path.isdir(target) or target.endswith(os.sep):
        target = os.path.join(target, os.path.splitext(os.path.basename(source))[0] + ".png")
    return [(source, target)]


def main(argv):
    del argv
    from absl import flags

    options = flags.FLAGS
    pairs = input_output_pairs(options.input, options.output)
    for source, target in pairs:
        with open(source, "rb") as handle:
            data = handle.read()
        if options.protocol == "rest":
            url = rest_url(options.server, options.model_name, options.version)
            png = predict_rest([data], url, options.signature_name, options.timeout)[0]
        else:
            png = predict_grpc([data], options.server, options.model_name, options.signature_name, options.version, options.timeout)[0]
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise RuntimeError(f"{source}: the server did not return a PNG (got {png[:8]!r}...)")
        folder = os.path.dirname(target)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(png)
        print(f"{source} -> {target} ({len(png)} bytes)", file=sys.stderr)


def define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("input", None, "An image file (PNG/JPEG/GIF/BMP) or a folder of them.", required=True)
    flags.DEFINE_string("output", None, "Output PNG file (one input) or folder.", required=True)
    flags.DEFINE_string("server", "http://localhost:8501", "REST: http://HOST:8501; gRPC: HOST:8500.")
    flags.DEFINE_string("model_name", None, "Served model name (tensorflow_model_server --model_name).", required=True)
    flags.DEFINE_integer("version", None, "Model version (default: the latest the server has).")
    flags.DEFINE_string("signature_name", SIGNATURE_NAME, "SavedModel signature taking encoded images.")
    flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "REST (stdlib only) or gRPC (tensorflow-serving-api).")
    flags.DEFINE_float("timeout", 300.0, "Seconds to wait for each image.")


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
