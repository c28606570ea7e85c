"""THE serving function and the SavedModel signatures derived from it, memory-bounded.

    serve(image) = clip(model(image), 0, 1)      float32 [N, H, W, 3] in [0, 1] -> [N, rH, rW, 3]

(as `serve()` in tensorflow/models' official/vision export modules).  The signatures convert at
the edges only, and every one of them

  * refuses a request over `max_input_pixels` LR pixels (N x H x W for the tensor signatures, each
    image for ``serve_image_bytes``, read from the PNG/JPEG/GIF/BMP header *before* decoding) with
    InvalidArgument and a plain message, and an empty (0-pixel) image likewise;
  * runs the model one image at a time and, inside it, one window at a time: tiles of `tile` LR
    pixels with `tile_pad` pixels of context, overlaps discarded (`sr_keras.tiling`, the same rule
    as sr-upscale), the tile side derived at export from a memory budget for the model's working
    memory.  The uint8 signatures round each tile as it is made (the float output of a large image
    is never held).

Signatures:
  ``serving_default``    {"image": uint8 [N, H, W, 3]}  -> {"image": uint8 [N, rH, rW, 3]},
                         rounded floor(serve * 255 + 0.5) (MATLAB's im2uint8, `metrics.to_uint8`);
  ``serve_image_bytes``  {"image_bytes": string [N]}     -> {"png_bytes": string [N]}: each element
                         an encoded PNG/JPEG/GIF/BMP (TF Serving REST: ``{"b64": ...}``), decoded to
                         RGB, upscaled, rounded as above and encoded as PNG.  Images of one batch may
                         differ in size.  TF Serving's REST API returns outputs whose name ends in
                         ``_bytes`` as ``{"b64": ...}``, hence the output name;
  ``serve_float``        {"image": float32 [N, H, W, 3]} -> {"image": float32 [N, rH, rW, 3]}.
H and W are free (None) in all three.
"""

from __future__ import annotations

import tensorflow as tf

from sr_keras import tiling

SERVING_DEFAULT = "serving_default"
SERVE_IMAGE_BYTES = "serve_image_bytes"
SERVE_FLOAT = "serve_float"
SIGNATURES = (SERVING_DEFAULT, SERVE_IMAGE_BYTES, SERVE_FLOAT)

# Signature tensor names (the keys of the inputs / outputs dicts).
IMAGE_KEY = "image"
IMAGE_BYTES_KEY = "image_bytes"
PNG_BYTES_KEY = "png_bytes"  # must end in "_bytes": TF Serving REST then returns {"b64": ...}

# Input pixels per request (N x H x W; per image for serve_image_bytes).  2048 x 2048 LR pixels give
# a 8192 x 8192 x4 output: 201 MB as uint8, the most one request may make a server hold by default.
DEFAULT_MAX_INPUT_PIXELS = 2048 * 2048


def make_serve(model):
    """THE serving function: float32 [N, H, W, 3] in [0, 1] -> clip(model) [N, rH, rW, 3]."""

    def serve(image):
        return tf.clip_by_value(tf.cast(model(image, training=False), tf.float32), 0.0, 1.0)

    return serve


def float_to_uint8(image):
    """[0, 1] float -> uint8, rounded half up: floor(x * 255 + 0.5) (x is already clipped)."""
    return tf.cast(tf.floor(tf.clip_by_value(image, 0.0, 1.0) * 255.0 + 0.5), tf.uint8)


def _header_int(header, offset: int, length: int, dtype, little_endian: bool):
    value = tf.io.decode_raw(tf.strings.substr(header, offset, length), dtype, little_endian=little_endian)[0]
    return tf.cast(value, tf.int64)


def encoded_image_size(data):
    """(height, width) int64 of one encoded PNG/JPEG/GIF/BMP from its header; (-1, -1) if unknown.

    Reads the first 32 bytes only (JPEG: its SOF marker, via `tf.io.extract_jpeg_shape`), so a
    decompression bomb is measured without being decoded.
    """
    header = tf.strings.substr(tf.strings.join([tf.strings.substr(data, 0, 32), b"\0" * 32]), 0, 32)
    magic8 = tf.strings.substr(header, 0, 8)
    magic4 = tf.strings.substr(header, 0, 4)
    magic2 = tf.strings.substr(header, 0, 2)

    def png():  # IHDR: width, height as big-endian uint32 at bytes 16 and 20
        width = tf.bitwise.bitwise_and(_header_int(header, 16, 4, tf.int32, False), 0xFFFFFFFF)
        height = tf.bitwise.bitwise_and(_header_int(header, 20, 4, tf.int32, False), 0xFFFFFFFF)
        return tf.stack([height, width])

    def gif():  # logical screen: little-endian uint16 at bytes 6 and 8
        return tf.stack([_header_int(header, 8, 2, tf.uint16, True), _header_int(header, 6, 2, tf.uint16, True)])

    def bmp():  # DIB header at 14: 12-byte core header (uint16 sizes) or int32 sizes (height < 0: top-down)
        core = tf.equal(_header_int(header, 14, 4, tf.int32, True), 12)
        width = tf.where(core, _header_int(header, 18, 2, tf.uint16, True), tf.abs(_header_int(header, 18, 4, tf.int32, True)))
        height = tf.where(core, _header_int(header, 20, 2, tf.uint16, True), tf.abs(_header_int(header, 22, 4, tf.int32, True)))
        return tf.stack([height, width])

    def jpeg():
        return tf.cast(tf.io.extract_jpeg_shape(data)[:2], tf.int64)

    def unknown():
        return tf.constant([-1, -1], tf.int64)

    return tf.case(
        [
            (tf.equal(magic8, b"\x89PNG\r\n\x1a\n"), png),
            (tf.equal(magic4, b"GIF8"), gif),
            (tf.equal(magic2, b"BM"), bmp),
            (tf.equal(magic2, b"\xff\xd8"), jpeg),
        ],
        default=unknown,
    )


def _pixel_limit_asserts(what: str, what_args: list, height, width, count, max_input_pixels: int):
    """Assert ops: the request is non-empty and at most `max_input_pixels` LR pixels (int64 math).

    `what` is a `tf.strings.format` template naming the request (e.g. "image_bytes[{}]") with
    `what_args` its values.
    """
    height, width, count = (tf.cast(v, tf.int64) for v in (height, width, count))
    pixels = count * height * width
    too_big = tf.strings.format(
        what + " of {}x{} pixels ({} input pixels) is over the limit of {} input pixels "
        "of this model (set by sr-export --max_input_pixels); send a smaller image",
        [*what_args, height, width, pixels, tf.constant(max_input_pixels, tf.int64)],
    )
    empty = tf.strings.format(what + " of {}x{} pixels is empty", [*what_args, height, width])
    return [
        tf.debugging.Assert(tf.logical_and(height > 0, width > 0), [empty]),
        tf.debugging.Assert(pixels <= max_input_pixels, [too_big]),
    ]


def tile_plan(model, memory_budget_mb: float = tiling.DEFAULT_MEMORY_BUDGET_MB, tile: int | None = None, tile_pad: int | None = None):
    """(tile, tile_pad) in LR pixels for `model`: the architecture's pad, the tile from the budget."""
    from sr_keras.inference import default_tile_pad

    tile_pad = default_tile_pad(model) if tile_pad is None else int(tile_pad)
    if tile is None:
        tile = tiling.tile_for_budget(memory_budget_mb * 2**20, tiling.bytes_per_lr_pixel(model), tile_pad)
    if tile < 0 or tile_pad < 0:
        raise ValueError(f"tile ({tile}) and tile pad ({tile_pad}) must be >= 0 LR pixels")
    return int(tile), tile_pad


def serving_signatures(
    model,
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS,
    memory_budget_mb: float = tiling.DEFAULT_MEMORY_BUDGET_MB,
    tile: int | None = None,
    tile_pad: int | None = None,
) -> dict[str, tuple]:
    """{signature name: (function, [input TensorSpec])}, all built on `make_serve(model)`.

    The functions return dicts; their keys become the SavedModel signature output names.  `tile`
    None derives the tile from `memory_budget_mb` (see `tile_plan`); 0 disables tiling.
    """
    if not (isinstance(max_input_pixels, int) and max_input_pixels > 0):
        raise ValueError(f"max_input_pixels must be a positive integer, got {max_input_pixels!r}")
    from sr_keras.inference import model_scale

    serve = make_serve(model)
    scale = model_scale(model)
    tile, tile_pad = tile_plan(model, memory_budget_mb, tile, tile_pad)

    def one_image(image, finish):  # float32 [H, W, 3] in [0, 1] -> finish(serve) [rH, rW, 3]
        return tiling.upscale_tiled_graph(serve, image, scale, tile, tile_pad, finish)

    def batch(images, to_float, finish, dtype):
        shape = tf.shape(images)
        checks = _pixel_limit_asserts("request of {} image(s)", [shape[0]], shape[1], shape[2], shape[0], max_input_pixels)
        with tf.control_dependencies(checks):
            images = tf.identity(images)
        return tf.map_fn(
            lambda image: one_image(to_float(image), finish),
            images,
            fn_output_signature=tf.TensorSpec([None, None, 3], dtype),
            parallel_iterations=1,  # one image at a time: memory of one image
        )

    def serve_float(image):
        return {IMAGE_KEY: batch(image, lambda x: x, lambda x: x, tf.float32)}

    def serve_uint8(image):
        return {IMAGE_KEY: batch(image, lambda x: tf.cast(x, tf.float32) / 255.0, float_to_uint8, tf.uint8)}

    def serve_one_encoded(indexed):
        index, data = indexed
        size = encoded_image_size(data)
        known = tf.debugging.Assert(
            size[0] >= 0, [tf.strings.format("image_bytes[{}] is not a PNG, JPEG, GIF or BMP image", [index])]
        )
        with tf.control_dependencies([known]):
            checks = _pixel_limit_asserts("image_bytes[{}]", [index], size[0], size[1], 1, max_input_pixels)
        with tf.control_dependencies(checks):
            data = tf.identity(data)
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
        image.set_shape([None, None, 3])
        return tf.io.encode_png(one_image(tf.cast(image, tf.float32) / 255.0, float_to_uint8))

    def serve_image_bytes(image_bytes):
        count = tf.shape(image_bytes, out_type=tf.int64)[0]
        png = tf.map_fn(
            serve_one_encoded, (tf.range(count), image_bytes), fn_output_signature=tf.string, parallel_iterations=1
        )
        return {PNG_BYTES_KEY: png}

    images = [None, None, None, 3]
    return {
        SERVING_DEFAULT: (serve_uint8, [tf.TensorSpec(images, tf.uint8, name=IMAGE_KEY)]),
        SERVE_IMAGE_BYTES: (serve_image_bytes, [tf.TensorSpec([None], tf.string, name=IMAGE_BYTES_KEY)]),
        SERVE_FLOAT: (serve_float, [tf.TensorSpec(images, tf.float32, name=IMAGE_KEY)]),
    }
