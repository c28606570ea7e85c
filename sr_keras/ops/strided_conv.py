"""A stride-2 convolution as a sum of four stride-1 convolutions, one per input phase.

With stride 2, output pixel i (along one axis) reads padded inputs 2i + t for the taps t = 0 .. k-1.
Split the taps by parity, t = 2u + v: the even-offset inputs x[2j] (phase v = 0) meet the even taps
and the odd-offset inputs x[2j + 1] (phase v = 1) the odd taps, each now at stride 1 in j:

    y[i] = sum_v sum_u x_v[i + u] w[2u + v],   x_v[j] = x[2j + v]

In 2-D there are four phases (row parity x column parity), each a 'valid' stride-1 convolution with
the kernel's taps of that parity (2x2, 2x1, 1x2 and 1x1 for a 3x3 kernel; four 2x2 for a 4x4), so the
multiply-adds are exactly the strided convolution's.  The point is the gradients: XLA:CPU computes a
strided convolution's input gradient as an input-dilated convolution and its kernel gradient as a
window-dilated one, both slow (about 14% of the SRGAN-VGG54 update's op time on Zen 3,
benchmarks/RESULTS.md), while the phases' gradients are ordinary stride-1 convolutions.

Padding follows TensorFlow's: 'same' pads (out - 1) * 2 + k - size in total, the smaller half first;
'valid' pads nothing.  Results equal tf.nn.conv2d(x, kernel, 2, padding) up to float32 summation
order (tests/ops/test_strided_conv.py).
"""

from __future__ import annotations

import tensorflow as tf


def _axis_plan(size: int, kernel_size: int, padding: str) -> tuple[int, int, int]:
    """(output size, zeros before, padded length) along one axis of a stride-2 convolution."""
    if padding == "same":
        out = -(-size // 2)
        before = max((out - 1) * 2 + kernel_size - size, 0) // 2
    elif padding == "valid":
        out = (size - kernel_size) // 2 + 1
        before = 0
    else:
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    if out < 1:
        raise ValueError(f"a {kernel_size}-tap stride-2 '{padding}' convolution of {size} pixels has no output")
    # Phase 0 needs out + ceil(k / 2) - 1 samples, phase 1 out + floor(k / 2) - 1: 2 * (out + ceil(k / 2) - 1) in all.
    return out, before, 2 * (out + -(-kernel_size // 2) - 1)


def conv2d_stride2(x: tf.Tensor, kernel: tf.Tensor, padding: str) -> tf.Tensor:
    """tf.nn.conv2d(x, kernel, strides=2, padding) computed on the four phases of x.

    x: [N, H, W, C] with static H and W; kernel: [kh, kw, C, O]; padding: 'same' or 'valid'.
    Returns [N, out_h, out_w, O] (no bias, no activation).
    """
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(f"conv2d_stride2 needs a static spatial size, got {x.shape}")
    kh, kw = kernel.shape[0], kernel.shape[1]
    out_h, top, length_h = _axis_plan(height, kh, padding)
    out_w, left, length_w = _axis_plan(width, kw, padding)
    padded = tf.pad(x, [[0, 0], [top, max(length_h - height - top, 0)], [left, max(length_w - width - left, 0)], [0, 0]])
    padded = padded[:, :length_h, :length_w, :]
    y = None
    for row in range(min(2, kh)):
        for col in range(min(2, kw)):
            taps = kernel[row::2, col::2]  # [ceil((kh - row) / 2), ceil((kw - col) / 2), C, O]
            phase = padded[:, row::2, col::2, :][:, : out_h + taps.shape[0] - 1, : out_w + taps.shape[1] - 1, :]
            term = tf.nn.conv2d(phase, taps, 1, "VALID")
            y = term if y is None else y + term
    return y
