"""Receptive fields as strided views: the geometry and the copies that let convolutional and
pooling layers work on a whole batch at once.

A convolutional or pooling layer looks at each feature map through a window of kh x kw pixels
(its local receptive field), which slides over the map ``stride`` pixels at a time, after the
map is framed by ``padding`` rows and columns of zeros. On a side of H pixels the window fits at

    H_out = (H + 2 padding - kh) // stride + 1

positions. NumPy can show every window of a batch at once without copying anything
(:func:`windows`: an array of shape (n, C, H_out, W_out, kh, kw) that reads the input's own
memory). :func:`columns` copies those windows into a matrix, one window per column (im2col), so
that a convolution becomes a single matrix product for the BLAS; :func:`add_columns` goes the
other way (col2im): each column's numbers are added back onto the pixels they were read from.

The arrays (n, C, H, W) are a batch of n samples, each C feature maps of H x W pixels: the
layout of PyTorch's ``conv2d``. What a layer keeps between the forward and the backward pass,
and the scratch arrays of both, live in the ``cache`` dict of the training workspace
(:func:`scratch`), allocated once and reused by every step.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pair(name: str, value, minimum: int) -> tuple[int, int]:
    """``value`` (an int, or a pair of ints for the rows and the columns) as a pair of ints >= minimum."""
    values = (value, value) if isinstance(value, numbers.Integral) else value
    try:
        ok = len(values) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum for v in values)
    except TypeError:
        ok = False
    if not ok:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {wanted} or a pair of them (rows, columns); got {value!r}")
    return int(values[0]), int(values[1])


def image_shape(name: str, shape) -> tuple[int, int, int]:
    """``shape`` as (channels, height, width), three positive ints, or a ValueError naming ``name``."""
    try:
        shape = tuple(shape)
        ok = len(shape) == 3 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                                     for v in shape)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} takes feature maps of shape (channels, height, width), such as (1, 28, 28); "
                         f"got {shape!r}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def output_side(size: int, kernel: int, stride: int, padding: int) -> int:
    """How many positions a window of ``kernel`` pixels takes on a side of ``size`` pixels
    framed by ``padding`` zeros, moving ``stride`` pixels at a time (0 when it does not fit)."""
    room = size + 2 * padding - kernel
    return room // stride + 1 if room >= 0 else 0


def output_shape(name: str, input_shape, channels: int, kernel, stride, padding) -> tuple[int, int, int]:
    """(channels, H_out, W_out) for inputs of shape (C, H, W); a ValueError naming ``name`` when
    the window does not fit in the (padded) input."""
    _, height, width = input_shape
    sides = [output_side(size, k, s, p) for size, k, s, p in zip((height, width), kernel, stride, padding)]
    if min(sides) < 1:
        raise ValueError(f"{name}: a {kernel[0]}x{kernel[1]} window does not fit in inputs of shape "
                         f"{tuple(input_shape)} with padding {padding}")
    return channels, sides[0], sides[1]


# -- scratch arrays in a layer's cache ---------------------------------------------------------


def scratch(cache: dict, name: str, shape: tuple[int, ...], dtype, *, fill=None) -> np.ndarray:
    """A C-contiguous array of ``shape`` kept in ``cache`` under ``name`` and reused from step to
    step: a view of the first elements of a flat array, reallocated only when it is too small
    (or of another dtype). A new array is filled with ``fill`` when given; otherwise what was
    written before is kept (garbage, for a new one)."""
    size = math.prod(shape)
    kept = cache.get(name)
    if kept is None or kept.size < size or kept.dtype != dtype:
        kept = cache[name] = np.empty(size, dtype)
        if fill is not None:
            kept.fill(fill)
    return kept[:size].reshape(shape)


# -- the windows, and im2col / col2im ----------------------------------------------------------


def padded(x: np.ndarray, padding: tuple[int, int], cache: dict, fill: float = 0.0) -> np.ndarray:
    """x (n, C, H, W) framed by ``padding`` rows and columns of ``fill``, (n, C, H + 2 ph, W + 2 pw):
    x itself when there is no padding, else a copy in ``cache`` whose frame is never written."""
    ph, pw = padding
    if not ph and not pw:
        return x
    n, channels, height, width = x.shape
    frame = scratch(cache, "padded", (n, channels, height + 2 * ph, width + 2 * pw), x.dtype, fill=fill)
    frame[:, :, ph : ph + height, pw : pw + width] = x
    return frame


def channels_last(x: np.ndarray, padding: tuple[int, int], cache: dict) -> np.ndarray:
    """x (n, C, H, W) copied with its channels last and framed by zeros, (n, H + 2 ph, W + 2 pw, C),
    into ``cache``: the pixel (i, j) of every map of a sample side by side in memory."""
    ph, pw = padding
    n, channels, height, width = x.shape
    frame = scratch(cache, "channels_last", (n, height + 2 * ph, width + 2 * pw, channels), x.dtype, fill=0.0)
    np.copyto(frame[:, ph : ph + height, pw : pw + width, :], x.transpose(0, 2, 3, 1))
    return frame


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Every receptive field of x (n, C, H, W), a view of shape (n, C, H_out, W_out, kh, kw):
    ``windows(x)[s, c, i, j]`` is the kh x kw patch of map c of sample s at output position
    (i, j), whose corner is pixel (i stride_h, j stride_w). No copy."""
    (sh, sw) = stride
    return sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def at_offset(frame: np.ndarray, p: int, q: int, stride: tuple[int, int], size: tuple[int, int],
              last: bool = False) -> np.ndarray:
    """The pixel at offset (p, q) of every window of ``frame`` (n, C, H, W), a strided view
    (n, C, H_out, W_out) (``size`` = (H_out, W_out)); of a channels-last frame (n, H, W, C) with
    ``last``, a view (n, H_out, W_out, C). Written to, it sends numbers to those pixels."""
    (sh, sw), (rows, cols) = stride, size
    across, down = slice(q, q + sw * (cols - 1) + 1, sw), slice(p, p + sh * (rows - 1) + 1, sh)
    return frame[:, down, across, :] if last else frame[:, :, down, across]


def columns(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], out: np.ndarray) -> np.ndarray:
    """im2col, one window per column: every receptive field of x (n, C, H, W) into ``out``.

    ``out`` is (C, kh, kw, n, H_out, W_out), read as the matrix (C kh kw, n H_out W_out): row
    (c, p, q) holds pixel (p, q) of every window of map c, column (s, i, j) is the window of
    sample s at output position (i, j). Then ``W (F, C kh kw) @ columns`` is the convolution of
    the whole batch. The copy runs along the rows of the maps (W_out numbers at a time): the
    layout for few, wide maps. Returns ``out``.
    """
    np.copyto(out, windows(x, kernel, stride).transpose(1, 4, 5, 0, 2, 3))
    return out


def rows(frame: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], out: np.ndarray) -> np.ndarray:
    """im2col, one window per row: every receptive field of a channels-last ``frame`` (n, H, W, C)
    into ``out`` (n, H_out, W_out, kh, kw, C), read as the matrix (n H_out W_out, kh kw C). Then
    ``rows @ W_rowsᵀ`` is the convolution (W arranged as (F, kh, kw, C)). The copy runs along a
    row of the window across every channel (kw C numbers at a time): the layout for many, small
    maps. Returns ``out``."""
    (sh, sw) = stride
    view = sliding_window_view(frame, kernel, axis=(1, 2))[:, ::sh, ::sw]  # (n, H_out, W_out, C, kh, kw)
    np.copyto(out, view.transpose(0, 1, 2, 4, 5, 3))
    return out


def add_columns(columns: np.ndarray, stride: tuple[int, int], out: np.ndarray) -> np.ndarray:
    """col2im, the way back: ``out`` (n, C, H, W) becomes the sum, over the windows that read each
    pixel, of the numbers those windows send back to it.

    ``columns`` is (n, C, kh, kw, H_out, W_out): ``columns[s, c, p, q, i, j]`` goes to the pixel
    (p, q) of the window at (i, j) in map c of sample s. Windows overlap when the stride is
    smaller than the kernel, so a pixel collects from up to kh kw of them: one strided addition
    per kernel offset (p, q), each over the whole batch and every channel at once. (``np.add.at``
    is about as fast with NumPy 2, faster for a few channels, slower for one, but needs an index
    array as large as the columns; ``np.bincount`` is slower: benchmarks/conv.py --choices.)
    Returns ``out``.
    """
    _, _, kh, kw, rows, cols = columns.shape
    out.fill(0)
    for p in range(kh):
        for q in range(kw):
            target = at_offset(out, p, q, stride, (rows, cols))
            target += columns[:, :, p, q]
    return out
