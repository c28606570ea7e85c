"""Load a SavedModel as TF Serving does (the TF1 loader, one session) and send it requests.

    python -m tests.hardening.serve_probe SAVED_MODEL REQUEST.npy [REQUEST.npy ...]

The first output of each answered request is written to REQUEST.npy.out.png.  Each REQUEST.npy is an object array of encoded images (sent to serve_image_bytes) or a uint8
[N, H, W, 3] array (sent to serving_default).  Prints one JSON line per request
({"request", "ok", "shapes" | "error"}) and a last line {"peak_rss_mb": ...}; exits 0 if the
process survived every request (errors are answers, as TF Serving would return them).
"""

import json
import sys

import numpy as np
import tensorflow as tf


def main(path, requests):
    tf.compat.v1.disable_eager_execution()
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        print(json.dumps({"loaded_peak_rss_mb": _peak_rss_mb()}), flush=True)
        for request in requests:
            data = np.load(request, allow_pickle=True)
            name = "serve_image_bytes" if data.dtype == object else "serving_default"
            signature = meta.signature_def[name]
            (input_info,) = signature.inputs.values()
            (output_info,) = signature.outputs.values()
            feed = data.astype(object) if data.dtype == object else data
            try:
                result = session.run(output_info.name, {input_info.name: feed})
                if name == "serve_image_bytes":
                    shapes = [list(_png_size(png)) for png in result]
                else:
                    shapes = [list(result.shape)]
                with open(request + ".out.png", "wb") as handle:  # the first output, as PNG
                    handle.write(result[0] if name == "serve_image_bytes" else _encode_png(result[0]))
                answer = {"request": request, "signature": name, "ok": True, "shapes": shapes}
            except tf.errors.InvalidArgumentError as error:
                message = next((line for line in error.message.splitlines() if "assertion failed" in line), error.message.splitlines()[0])
                answer = {"request": request, "signature": name, "ok": False, "error": message.strip()}
            answer["peak_rss_mb_so_far"] = _peak_rss_mb()
            print(json.dumps(answer), flush=True)
    print(json.dumps({"peak_rss_mb": _peak_rss_mb()}), flush=True)


def _peak_rss_mb() -> float:
    """This process's own peak RSS in MB (`sr_keras.tiling.peak_rss_bytes`: VmHWM, not ru_maxrss)."""
    from sr_keras.tiling import peak_rss_bytes

    return peak_rss_bytes() / 2**20


def _encode_png(image: np.ndarray) -> bytes:
    from PIL import Image
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_size(png: bytes):
    import struct

    width, height = struct.unpack(">II", png[16:24])
    return height, width


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
