"""Tiled upscaling with bounded memory: one tiling rule, run on the host (numpy) or in the graph.

An image is cut into cores of `tile` x `tile` LR pixels; each core is upscaled through a window
with `pad` LR pixels of context on every side and only the core of the result is kept (overlaps
are discarded, never blended).  All windows have one size, min(side, tile + 2 * pad): windows at
the borders are shifted inwards instead of shrunk, so a compiled model sees one input shape.

Memory is bounded by design: the model only ever sees one window, and the tile side comes from a
memory budget (`tile_for_budget`):

    window side = floor(sqrt(budget / bytes_per_lr_pixel)),   tile = window side - 2 * pad

where `bytes_per_lr_pixel(model)` is the generator's peak working memory per LR input pixel,
estimated from its graph (`activation_bytes_per_lr_pixel`, the largest op's inputs + outputs,
float32) times ACTIVATION_OVERHEAD, measured on this project's SRResNet and RRDBNet (oneDNN's
convolution scratch, residual branches kept alive, TF's allocator slack; see
experiments/results/hardening/README.md).

`upscale_tiled` (host, numpy) writes each tile, already rounded to uint8 by `finish`, into a
preallocated output, so a large image is never held as float32.  `upscale_tiled_graph` is the same
loop as a `tf.while_loop` inside a SavedModel signature (sr_keras.export.serving).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import tensorflow as tf

# Measured peak RSS growth of one forward pass / `activation_bytes_per_lr_pixel` x pixels, full-size
# SRResNet and RRDBNet on 128^2 and 256^2 windows: 1.17, 1.05, 1.26, 1.12
# (experiments/results/hardening/activation_overhead.py -> activation_overhead.jsonl); 1.5 leaves margin.
ACTIVATION_OVERHEAD = 1.5
# The default budget for one window's forward pass (host programs and SavedModel signatures).
DEFAULT_MEMORY_BUDGET_MB = 1024
MIN_TILE = 16  # LR pixels: below this the context pad dominates the work


def tile_windows(length: int, tile: int, pad: int) -> list[tuple[int, int, int, int]]:
    """Split [0, length) into cores of `tile` samples, each read through a window with `pad`
    samples of context on both sides.

    Returns (window_start, window_end, core_start, core_end) tuples.  All windows have the same
    size min(length, tile + 2 * pad): windows at the borders are shifted inwards instead of
    shrunk, so a compiled model sees one input shape.  Cores partition [0, length) exactly.
    tile <= 0 (or >= length) gives one window, the whole length.
    """
    if tile <= 0 or tile >= length:
        return [(0, length, 0, length)]
    size = min(length, tile + 2 * pad)
    result = []
    for core_start in range(0, length, tile):
        core_end = min(core_start + tile, length)
        window_start = min(max(core_start - pad, 0), length - size)
        result.append((window_start, window_start + size, core_start, core_end))
    return result


def activation_bytes_per_lr_pixel(model, probe: int = 16) -> float:
    """The largest single op's float32 inputs + outputs, in bytes per LR input pixel.

    Read from the graph of `model` traced on a [1, probe, probe, 3] input (static shapes), so it
    counts what the architecture computes (e.g. SRResNet's 256-channel conv before the second
    pixel shuffle at 2x), not a guess.  Weights are excluded (not per pixel).
    """
    function = tf.function(lambda x: model(x, training=False))
    graph = function.get_concrete_function(tf.TensorSpec([1, probe, probe, 3], tf.float32)).graph
    largest = 0
    for op in graph.get_operations():
        if op.type in ("ReadVariableOp", "Const", "Placeholder", "Identity", "VarHandleOp"):
            continue
        total = 0
        for tensor in list(op.inputs) + list(op.outputs):
            if tensor.dtype in (tf.float32, tf.float16, tf.bfloat16) and tensor.shape.is_fully_defined():
                size = tensor.shape.num_elements()
                if tensor.shape.rank == 4:  # activations (kernels are 4-D too, but tiny next to these)
                    total += size * tensor.dtype.size
        largest = max(largest, total)
    return largest / float(probe * probe)


def bytes_per_lr_pixel(model) -> float:
    """Estimated peak working memory of `model` per LR input pixel (bytes): graph estimate x overhead."""
    return ACTIVATION_OVERHEAD * activation_bytes_per_lr_pixel(model)


def peak_rss_bytes() -> int:
    """This process's own peak resident memory (bytes): VmHWM of /proc/self/status (Linux).

    The high-water mark of the address space made at exec, what the estimates above are checked
    against.  Not getrusage's ru_maxrss: Linux carries that across fork + exec, so a process started
    by a 2.4 GB parent (e.g. a pytest worker) would report 2.4 GB before doing anything.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def tile_for_budget(budget_bytes: float, bytes_per_pixel: float, pad: int) -> int:
    """The tile side (LR pixels) whose padded window fits `budget_bytes`; at least MIN_TILE.

    window = floor(sqrt(budget / bytes_per_pixel)); tile = window - 2 * pad, rounded down to a
    multiple of 8.  A budget too small for even MIN_TILE gives MIN_TILE (the budget is then
    exceeded, by at most the MIN_TILE window).
    """
    if not (budget_bytes > 0 and bytes_per_pixel > 0):
        raise ValueError(f"memory budget and bytes per pixel must be positive, got {budget_bytes}, {bytes_per_pixel}")
    window = int(math.sqrt(budget_bytes / bytes_per_pixel))
    return max(MIN_TILE, (window - 2 * pad) // 8 * 8)


def upscale_tiled(
    upscale_float: Callable[[np.ndarray], np.ndarray],
    lr: np.ndarray,
    scale: int,
    tile: int,
    pad: int,
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Run `upscale_float` ([1, h, w, C] float32 [0, 1] -> [1, sh, sw, C']) tile by tile.

    lr: [H, W, C] uint8 (converted to float32 / 255 one window at a time) or float32 in [0, 1].
    `finish` maps each upscaled core (float32 [sh, sw, C']) to what is stored (e.g. rounding to
    uint8); None stores float32.  `out` is the preallocated [sH, sW, C''] output (its dtype is
    what `finish` returns), else one is allocated from the first tile.  Peak memory: one padded
    tile plus the output in the stored dtype.
    """
    height, width = lr.shape[:2]
    for y0, y1, cy0, cy1 in tile_windows(height, tile, pad):
        for x0, x1, cx0, cx1 in tile_windows(width, tile, pad):
            window = lr[None, y0:y1, x0:x1]
            if window.dtype == np.uint8:
                window = window.astype(np.float32) / 255.0
            sr = np.asarray(upscale_float(window))[0]
            core = sr[(cy0 - y0) * scale : (cy1 - y0) * scale, (cx0 - x0) * scale : (cx1 - x0) * scale]
            core = core if finish is None else finish(core)
            if out is None:
                out = np.empty((height * scale, width * scale, core.shape[-1]), dtype=core.dtype)
            out[cy0 * scale : cy1 * scale, cx0 * scale : cx1 * scale] = core
    return out


def upscale_tiled_graph(upscale, image, scale: int, tile: int, pad: int, finish, channels: int = 3):
    """`upscale_tiled` as TensorFlow ops (for a SavedModel signature): one image [H, W, C].

    `upscale` maps float32 [1, h, w, C] in [0, 1] to [1, sh, sw, channels]; `finish` converts
    each kept core (e.g. to uint8) before it is stored.  The windows are visited by two nested
    `tf.while_loop`s with parallel_iterations=1, so one window is in flight at a time; each row of
    cores is assembled in a TensorArray (stored transposed, so rows concatenate along axis 0).
    tile <= 0 runs the whole image at once.
    """
    if tile <= 0:
        return finish(upscale(image[tf.newaxis])[0])
    shape = tf.shape(image)
    height, width = shape[0], shape[1]

    def plan(length):
        size = tf.minimum(length, tile + 2 * pad)
        count = (length + tile - 1) // tile
        return size, count

    def window_start(core_start, length, size):
        return tf.minimum(tf.maximum(core_start - pad, 0), length - size)

    window_h, rows = plan(height)
    window_w, cols = plan(width)

    def row_body(i, row_array):
        cy0 = i * tile
        cy1 = tf.minimum(cy0 + tile, height)
        y0 = window_start(cy0, height, window_h)

        def col_body(j, col_array):
            cx0 = j * tile
            cx1 = tf.minimum(cx0 + tile, width)
            x0 = window_start(cx0, width, window_w)
            window = image[y0 : y0 + window_h, x0 : x0 + window_w]
            sr = upscale(window[tf.newaxis])[0]
            core = finish(sr[(cy0 - y0) * scale : (cy1 - y0) * scale, (cx0 - x0) * scale : (cx1 - x0) * scale])
            return j + 1, col_array.write(j, tf.transpose(core, [1, 0, 2]))

        dtype = finish(tf.zeros([1, 1, channels])).dtype
        col_array = tf.TensorArray(dtype, size=cols, infer_shape=False, element_shape=[None, None, channels])
        _, col_array = tf.while_loop(lambda j, _: j < cols, col_body, [0, col_array], parallel_iterations=1)
        strip = tf.transpose(col_array.concat(), [1, 0, 2])  # [core height * scale, W * scale, channels]
        return i + 1, row_array.write(i, strip)

    dtype = finish(tf.zeros([1, 1, channels])).dtype
    row_array = tf.TensorArray(dtype, size=rows, infer_shape=False, element_shape=[None, None, channels])
    _, row_array = tf.while_loop(lambda i, _: i < rows, row_body, [0, row_array], parallel_iterations=1)
    return row_array.concat()
