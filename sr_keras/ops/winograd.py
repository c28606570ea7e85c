"""Winograd's minimal filtering F(4x4, 3x3): a 3x3 stride-1 "same" convolution with 4x fewer multiplies.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016), Sec. 4-5.  Every 4x4
output tile Y of one channel pair is computed from the 6x6 input tile d around it and the 3x3 kernel g
(a cross-correlation, as tf.nn.conv2d):

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A         (.) elementwise, summed over the input channels

so the multiply-adds of the convolution become 36 matrix products [tiles, C] x [C, K], one per point
of the 6x6 transform domain: 36 / (16 * 9) = 1/4 of a direct convolution's.  The transforms are
fixed sums of a few terms each (B^T, G, A^T below, interpolation points 0, +-1, +-2, infinity).  The
cost moves from multiply-adds to memory traffic through the transformed tiles, which pays on CPUs
where a direct convolution is compute-bound and small maps keep the tiles in cache
(sr_keras.archs.layers.Conv2D decides where; benchmarks/RESULTS.md has the measurements).

Every step is linear, and each transform carries its own gradient (its transpose), so the gradients
with respect to the input and the kernel are again Winograd-domain products of the same cost.  Left to
TensorFlow's autodiff, the gradients of the many small slices ran 19x slower under XLA (a prototype with
strided slices: 205 ms against 10.7 ms for a 16 x 24 x 24 64 -> 64 conv, forward and both gradients).

Numerics (float32): the transforms' constants (up to 8 and 1/24) amplify rounding; outputs and both
gradients differ from tf.nn.conv2d by 7e-6 (64 channels) to 2e-5 (512) of their largest magnitude
(benchmarks/results/zen3_avx2/exp_winograd_shapes.json; tests/ops/test_winograd.py).  Float32 only.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

TILE = 4  # output tile m x m
WINDOW = 6  # input tile m + r - 1 (r = 3)

# B^T: input tile -> transform domain (6 x 6).
INPUT_TRANSFORM = np.array(
    [[4, 0, -5, 0, 1, 0],
     [0, -4, -4, 1, 1, 0],
     [0, 4, -4, -1, 1, 0],
     [0, -2, -1, 2, 1, 0],
     [0, 2, -1, -2, 1, 0],
     [0, 4, 0, -5, 0, 1]], dtype=np.float64)  # fmt: skip
# G: 3-tap kernel -> transform domain (6 x 3).
KERNEL_TRANSFORM = np.array(
    [[1 / 4, 0, 0],
     [-1 / 6, -1 / 6, -1 / 6],
     [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6],
     [0, 0, 1]], dtype=np.float64)  # fmt: skip
# A^T: transform domain -> output tile (4 x 6).
OUTPUT_TRANSFORM = np.array(
    [[1, 1, 1, 1, 1, 0],
     [0, 1, -1, 2, -2, 0],
     [0, 1, 1, 4, 4, 0],
     [0, 1, -1, 8, -8, 1]], dtype=np.float64)  # fmt: skip


def _weighted_sum(parts, weights):
    total = None
    for weight, part in zip(weights, parts):
        weight = float(weight)
        if weight == 0.0:
            continue
        term = part if weight == 1.0 else (-part if weight == -1.0 else weight * part)
        total = term if total is None else total + term
    return total


def _apply_matrix_raw(x, matrix: np.ndarray, in_axis: int, out_axis: int):
    parts = tf.unstack(x, num=matrix.shape[1], axis=in_axis)
    return tf.stack([_weighted_sum(parts, row) for row in matrix], axis=out_axis)


def apply_matrix(x, matrix: np.ndarray, in_axis: int, out_axis: int):
    """out[i] = sum_k matrix[i, k] * x[k] along axis `in_axis` of x (size matrix.shape[1]), which is
    removed; the new axis (size matrix.shape[0]) is inserted at `out_axis` of the result.

    Written as sums of slices with the constants folded in (XLA fuses them into one loop); the
    gradient is the same function of matrix^T with the axes swapped.
    """

    @tf.custom_gradient
    def transform(x):
        def gradient(upstream):
            return _apply_matrix_raw(upstream, matrix.T, out_axis, in_axis)

        return _apply_matrix_raw(x, matrix, in_axis, out_axis), gradient

    return transform(x)


def _windows(x, axis: int, tiles: int):
    """Overlapping 6-wide windows with stride 4 along `axis` (size >= 4 * tiles + 4): that axis becomes
    [tiles, 6].  Built from two reshaped slices (rows 4t..4t+3 and 4t+4..4t+5), not strided slices,
    whose gradients are plain pads."""
    shape = x.shape.as_list()
    pieces = []
    for start, keep in ((0, TILE), (TILE, WINDOW - TILE)):
        begin = [0] * len(shape)
        size = [-1] * len(shape)
        begin[axis], size[axis] = start, TILE * tiles
        piece = tf.slice(x, begin, size)
        piece = tf.reshape(piece, [-1 if d is None else d for d in shape[:axis]] + [tiles, TILE] + [-1 if d is None else d for d in shape[axis + 1 :]])
        if keep < TILE:
            begin = [0] * (len(shape) + 1)
            size = [-1] * (len(shape) + 1)
            size[axis + 1] = keep
            piece = tf.slice(piece, begin, size)
        pieces.append(piece)
    return tf.concat(pieces, axis=axis + 1)


def kernel_to_transform_domain(kernel):
    """G g G^T of a [3, 3, C, K] kernel: [36, C, K] (transform point 6 i + j first)."""
    u = apply_matrix(kernel, KERNEL_TRANSFORM, 0, 0)  # [6, 3, C, K]
    u = apply_matrix(u, KERNEL_TRANSFORM, 1, 1)  # [6, 6, C, K]
    return tf.reshape(u, [WINDOW * WINDOW, kernel.shape[2], kernel.shape[3]])


def _tile_counts(height: int, width: int) -> tuple[int, int]:
    return -(-height // TILE), -(-width // TILE)


def input_to_transform_domain(x):
    """B^T d B of every 6x6 input tile of a "same"-padded x [N, H, W, C] (static H, W, C): [36, N * tiles, C].

    Tiles past the bottom / right border read zeros; the extra outputs are cropped by
    `output_from_transform_domain`.  Per channel, so the transform of a channel concatenation is the
    concatenation of the transforms.
    """
    _, height, width, channels = x.shape
    if height is None or width is None or channels is None:
        raise ValueError(f"Winograd F(4x4, 3x3) needs static height, width and channels, got {tuple(x.shape)}")
    rows, cols = _tile_counts(height, width)
    # "same" padding: 1 before; after, up to the 4 * tiles + 4 rows the windows read.
    padded = tf.pad(x, [[0, 0], [1, TILE * rows + TILE - 1 - height], [1, TILE * cols + TILE - 1 - width], [0, 0]])
    tiles = _windows(_windows(padded, 1, rows), 3, cols)  # [N, rows, 6, cols, 6, C]
    v = apply_matrix(tiles, INPUT_TRANSFORM, 2, 0)  # [6, N, rows, cols, 6, C]
    v = apply_matrix(v, INPUT_TRANSFORM, 4, 1)  # [6, 6, N, rows, cols, C]
    return tf.reshape(v, [WINDOW * WINDOW, -1, channels])


def output_from_transform_domain(m, height: int, width: int):
    """A^T M A of products M [36, N * tiles, K] back to the [N, H, W, K] output of an H x W input."""
    rows, cols = _tile_counts(height, width)
    filters = m.shape[-1]
    m = tf.reshape(m, [WINDOW, WINDOW, -1, rows, cols, filters])
    y = apply_matrix(m, OUTPUT_TRANSFORM, 0, 3)  # [6 (j), N, rows, 4 (a), cols, K]
    y = apply_matrix(y, OUTPUT_TRANSFORM, 0, 4)  # [N, rows, 4 (a), cols, 4 (b), K]
    y = tf.reshape(y, [-1, TILE * rows, TILE * cols, filters])
    return y[:, :height, :width, :]


def conv2d_3x3(x, kernel):
    """tf.nn.conv2d(x, kernel, 1, "SAME") by Winograd F(4x4, 3x3), up to float32 rounding (module docstring).

    x: float32 [N, H, W, C] with static H, W, C (any sizes); kernel: float32 [3, 3, C, K].
    Returns float32 [N, H, W, K].
    """
    if tuple(kernel.shape[:2]) != (3, 3):
        raise ValueError(f"Winograd F(4x4, 3x3) needs a 3x3 kernel, got {tuple(kernel.shape)}")
    v = input_to_transform_domain(x)
    m = tf.matmul(v, kernel_to_transform_domain(kernel))  # [36, tiles, K]: the multiply-adds
    return output_from_transform_domain(m, x.shape[1], x.shape[2])
