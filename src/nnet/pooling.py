"""Pooling, and the layer that flattens feature maps into a row: the layers of chapter 6 that have
no weights.

A pooling layer condenses each feature map: every output neuron summarises a small window of
the map below (kh x kw pixels, moving ``stride`` pixels at a time, by default the window's own
size, so the windows tile the map). Max-pooling keeps the largest activation of the window
("was the feature found anywhere in this region?"), average pooling their mean. Each map is
pooled on its own, so the channels stay as they are::

    a_prev  (n, C, H, W)  ->  z = a  (n, C, H_out, W_out),  H_out = (H + 2 padding - kh) // stride + 1

They have no parameters and their activation is the identity (σ(z) = z, σ' = 1), so BP2
reduces to sending each output's error back to the inputs it came from:

    max      the whole error goes to the pixel that won its window (the first of equal pixels,
             as in PyTorch), which the forward pass remembers in the cache
    average  each of the window's kh·kw pixels gets 1/(kh·kw) of the error

Both work one kernel offset at a time: for each (p, q) of the kh x kw window, the pixel (p, q)
of every window of the batch is one strided view (:func:`nnet.windows.windows`), so the loop
is over the kh·kw offsets only, each step a whole-batch operation. For the small windows of
pooling this is faster than reducing over the window axes (see benchmarks/conv.py).

:class:`Flatten` ends the convolutional part of a network: it lays the C maps of H x W out as
one row of C·H·W inputs (map after map, row after row: PyTorch's ``flatten`` order) for the
fully connected layers above it.
"""

from __future__ import annotations

import numpy as np

from . import activations, windows
from .layers import Layer, described, float_dtype


class _ShapeTaker(Layer):
    """A layer without parameters that takes its input shape (and dtype) from the layer below."""

    activation = activations.get("identity")

    def __init__(self, input_shape, dtype):
        super().__init__()
        self.input_shape = self.output_shape = None
        self.dtype = None if dtype is None else float_dtype(dtype)
        if input_shape is not None:
            self.build(input_shape)

    def build(self, input_shape, dtype=None) -> None:
        """Set the shape of one sample coming in, and so the shape going out; ``dtype`` (the
        layer below's) is taken when the layer was made without one (float32 otherwise)."""
        self.input_shape = self._checked(input_shape)
        self.output_shape = self._shape_out(self.input_shape)
        if self.dtype is None:
            self.dtype = float_dtype(np.float32 if dtype is None else dtype)

    def forward(self, a_prev, z=None, a=None, cache=None, rng=None):
        """z and a = z (the identity activation): no dropout, nothing learned."""
        z = self.weighted_input(a_prev, out=z, cache=cache)
        if a is None or a is z:
            return z
        np.copyto(a, z)
        return a

    def describe(self) -> dict:
        return {"kind": self.kind, **self._settings(),
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "output_shape": None if self.output_shape is None else list(self.output_shape),
                "n_in": self.n_in if self.input_shape else None, "n_out": self.n_out if self.output_shape else None,
                "activation": self.activation.name, "dropout": 0.0, "parameters": 0}

    def _settings(self) -> dict:
        return {}



class _Pool(_ShapeTaker):
    """What max and average pooling share: the window, its stride and padding, the shapes."""

    name = ""

    def __init__(self, size, stride=None, padding=0, *, input_shape=None, dtype=None):
        self.kernel_size = windows.pair(f"{type(self).__name__} size", size, 1)
        self.stride = self.kernel_size if stride is None else windows.pair(f"{type(self).__name__} stride", stride, 1)
        self.padding = windows.pair(f"{type(self).__name__} padding", padding, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{type(self).__name__} padding must be at most half the window size "
                             f"{self.kernel_size}; got {self.padding}")
        super().__init__(input_shape, dtype)

    def _checked(self, input_shape):
        return windows.image_shape(type(self).__name__, input_shape)

    def _shape_out(self, shape):
        return windows.output_shape(type(self).__name__, shape, shape[0], self.kernel_size, self.stride, self.padding)

    @property
    def _overlapping(self) -> bool:
        """Whether a pixel can sit in more than one window (a stride smaller than the window)."""
        return any(s < k for s, k in zip(self.stride, self.kernel_size))

    @property
    def _tiling(self) -> bool:
        """Whether the windows cover every pixel exactly once, padding included."""
        _, rows, cols = self.output_shape
        _, height, width = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        return self.stride == self.kernel_size and rows * kh == height + 2 * ph and cols * kw == width + 2 * pw

    def _offsets(self):
        """The kernel offsets (p, q) in row-major order: (0, 0), (0, 1), ..."""
        kh, kw = self.kernel_size
        return [(p, q) for p in range(kh) for q in range(kw)]

    def _target(self, frame, p, q):
        """The pixels of ``frame`` (n, C, Hp, Wp) at offset (p, q) of every window: a strided view
        (n, C, H_out, W_out)."""
        return windows.at_offset(frame, p, q, self.stride, self.output_shape[1:])

    def _error_frame(self, n, out, cache):
        """Where the input error is summed: ``out`` itself without padding, else a padded frame."""
        if not any(self.padding):
            return np.empty((n, *self.input_shape), self.dtype) if out is None else out
        C, height, width = self.input_shape
        ph, pw = self.padding
        return windows.scratch(cache, "padded_errors", (n, C, height + 2 * ph, width + 2 * pw), self.dtype)

    def _unframed(self, frame, n, out):
        """The input error without the padding's frame, in ``out``."""
        if not any(self.padding):
            return frame
        C, height, width = self.input_shape
        ph, pw = self.padding
        out = np.empty((n, *self.input_shape), self.dtype) if out is None else out
        np.copyto(out, frame[:, :, ph : ph + height, pw : pw + width])
        return out

    def _settings(self) -> dict:
        return {"size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}

    @classmethod
    def from_description(cls, entry, input_shape, *, parameters=None, init="auto", rng=None, dtype=np.float32):
        given = described(cls, entry, required=("size",), optional={"stride": None, "padding": 0})
        return cls(given["size"], given["stride"], given["padding"], input_shape=input_shape, dtype=dtype)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f"{'' if self.dtype is None else ', dtype=' + self.dtype.name})")


class MaxPool2D(_Pool):
    """Max-pooling: each output is the largest activation in its kh x kw window of one map.

    Parameters
    ----------
    size : int or (int, int)
        The window, kh x kw pixels.
    stride : int or (int, int), optional
        How far the window moves; by default its own size (windows side by side).
    padding : int or (int, int)
        Rows and columns framing each map, which never win (-inf); at most half the window.
    input_shape : (int, int, int), optional
        (C, H, W) of one sample, when the layer comes first; otherwise taken from below.
    dtype : optional
        float32 or float64; by default the layer below's.

    Examples
    --------
    >>> pool = MaxPool2D(2, input_shape=(20, 24, 24))
    >>> pool.output_shape
    (20, 12, 12)
    """

    kind = "max_pool2d"

    def weighted_input(self, a_prev, out=None, cache=None):
        """The maximum of each window, (n, C, H_out, W_out); with ``cache``, the offset of the
        winning pixel of each window is kept there for backpropagation (the first of equal
        pixels wins, as in PyTorch)."""
        n = len(a_prev)
        z = np.empty((n, *self.output_shape), self.dtype) if out is None else out
        frame = windows.padded(a_prev, self.padding, {} if cache is None else cache, fill=-np.inf)
        offsets = self._offsets()
        np.copyto(z, self._target(frame, *offsets[0]))
        if cache is None:  # prediction: the maximum only
            for p, q in offsets[1:]:
                np.maximum(z, self._target(frame, p, q), out=z)
            return z
        index = np.uint8 if len(offsets) <= 256 else np.int32
        winner = windows.scratch(cache, "winner", z.shape, index)
        larger = windows.scratch(cache, "larger", z.shape, index)  # 0 or 1
        candidate = windows.scratch(cache, "candidate", z.shape, index)
        winner.fill(0)
        for offset, (p, q) in enumerate(offsets[1:], start=1):
            pixels = self._target(frame, p, q)
            np.greater(pixels, z, out=larger, casting="unsafe")  # strictly: a tie keeps the earlier pixel
            np.maximum(z, pixels, out=z)
            # the offsets come in increasing order: the winner is the largest offset that won
            np.multiply(larger, index(offset), out=candidate)
            np.maximum(winner, candidate, out=winner)
        return z

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev (n, C, H, W): each window's δ goes to its winning pixel, the others get 0
        (summed where windows overlap). Needs the ``cache`` of a training forward pass."""
        if cache is None or "winner" not in cache:
            raise ValueError("MaxPool2D.backpropagate needs the cache of a training forward pass")
        n = len(delta)
        winner = windows.scratch(cache, "winner", delta.shape, cache["winner"].dtype)
        won = windows.scratch(cache, "won", delta.shape, np.bool_)
        sent = windows.scratch(cache, "sent", delta.shape, self.dtype) if self._overlapping else None
        frame = self._error_frame(n, out, cache)
        if not self._tiling:
            frame.fill(0)
        for offset, (p, q) in enumerate(self._offsets()):
            np.equal(winner, offset, out=won)
            target = self._target(frame, p, q)
            if sent is None:  # each pixel in one window at most: written once
                np.multiply(delta, won, out=target)
            else:
                target += np.multiply(delta, won, out=sent)
        return self._unframed(frame, n, out)


class AvgPool2D(_Pool):
    """Average pooling: each output is the mean of the kh x kw activations of its window (the
    padding's zeros counted in it, as PyTorch's ``avg_pool2d`` does by default).

    Parameters are those of :class:`MaxPool2D` (the padding here is zeros).
    """

    kind = "avg_pool2d"

    def weighted_input(self, a_prev, out=None, cache=None):
        """The mean of each window, (n, C, H_out, W_out)."""
        n = len(a_prev)
        z = np.empty((n, *self.output_shape), self.dtype) if out is None else out
        frame = windows.padded(a_prev, self.padding, {} if cache is None else cache)
        offsets = self._offsets()
        np.copyto(z, self._target(frame, 0, 0))
        for p, q in offsets[1:]:
            z += self._target(frame, p, q)
        z *= 1.0 / len(offsets)
        return z

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev (n, C, H, W): every pixel of a window gets 1/(kh kw) of its δ (summed where
        windows overlap)."""
        n = len(delta)
        cache = {} if cache is None else cache
        frame = self._error_frame(n, out, cache)
        offsets = self._offsets()
        share = windows.scratch(cache, "share", delta.shape, self.dtype)
        np.multiply(delta, 1.0 / len(offsets), out=share)
        if not self._tiling:
            frame.fill(0)
        for p, q in offsets:
            target = self._target(frame, p, q)
            if self._overlapping:
                target += share
            else:
                np.copyto(target, share)
        return self._unframed(frame, n, out)


class Flatten(_ShapeTaker):
    """The feature maps of one sample, (C, H, W), as one row of C·H·W numbers for the fully
    connected layers: ``a = a_prev.reshape(n, -1)``, and the error goes back reshaped.

    Parameters
    ----------
    input_shape : tuple of int, optional
        The shape of one sample, when the layer comes first; otherwise taken from below.
    dtype : optional
        float32 or float64; by default the layer below's.
    """

    kind = "flatten"

    def __init__(self, *, input_shape=None, dtype=None):
        super().__init__(input_shape, dtype)

    def _checked(self, input_shape):
        try:
            shape = tuple(int(v) for v in input_shape)
        except (TypeError, ValueError):
            shape = ()
        if not shape or min(shape) < 1:
            raise ValueError(f"Flatten takes samples of a shape of positive sizes, such as (40, 4, 4); got {input_shape!r}")
        return shape

    def _shape_out(self, shape):
        return (int(np.prod(shape)),)

    def weighted_input(self, a_prev, out=None, cache=None):
        """a_prev (n, *input_shape) as rows (n, C·H·W): a view when ``out`` is not given."""
        rows = a_prev.reshape(len(a_prev), -1)
        if out is None:
            return rows
        np.copyto(out, rows)
        return out

    def backpropagate(self, delta, out=None, cache=None):
        """δ (n, C·H·W) back in the shape of the maps, (n, C, H, W)."""
        maps = delta.reshape(len(delta), *self.input_shape)
        if out is None:
            return maps
        np.copyto(out, maps)
        return out

    @classmethod
    def from_description(cls, entry, input_shape, *, parameters=None, init="auto", rng=None, dtype=np.float32):
        described(cls, entry, required=(), optional={})
        return cls(input_shape=input_shape, dtype=dtype)

    def __repr__(self) -> str:
        return f"Flatten(input_shape={self.input_shape})"
