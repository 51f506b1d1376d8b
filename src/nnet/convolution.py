"""The convolutional layer of the book's chapter 6: local receptive fields, shared weights,
feature maps.

A fully connected layer gives every neuron a weight for every input pixel and forgets that the
pixels form an image. A convolutional layer keeps the image: each of its neurons looks only at
a small window of the maps below (its *local receptive field*, kh x kw pixels in each of the C
input maps), and all the neurons of one *feature map* share the same weights and bias, so that
they detect the same feature wherever it appears. Sliding the window over the input gives one
neuron per position; F sets of shared weights give F feature maps::

    z[s, f, i, j] = b[f] + Σ_c Σ_p Σ_q  W[f, c, p, q] · a_prev[s, c, i·stride + p, j·stride + q]
    a = σ(z)

(a_prev framed by ``padding`` zeros first). Shapes, for a batch of n samples::

    a_prev     (n, C, H, W)          C input maps of H x W pixels
    W          (F, C, kh, kw)        F filters: one kh x kw window of weights per input map
    b          (F,)                  one bias per feature map
    z, a, δ    (n, F, H_out, W_out)  F feature maps, H_out = (H + 2 padding - kh) // stride + 1

Written as matrices this is the fully connected layer again. Copy every receptive field of the
batch into a column (:func:`nnet.windows.columns`, "im2col"): a matrix X of C·kh·kw rows and
n·H_out·W_out columns. Then, with W read as a matrix of F rows and C·kh·kw columns,

    Z = W X + b                 the whole batch's weighted inputs, one matrix product
    ∂C/∂W = δ Xᵀ                BP4, summed over every sample and position that shares W
    ∂C/∂b = Σ δ                 BP3, likewise summed over samples and positions
    ∂C/∂X = Wᵀ δ                BP2's first half, then added back onto the pixels each column
                                came from ("col2im", :func:`nnet.windows.add_columns`)

where δ is read as the matrix (F, n·H_out·W_out). The shared weights are why BP3 and BP4 sum
over the positions: every neuron of a map nudges the same W[f] and b[f].
"""

from __future__ import annotations

import numpy as np

from . import activations, checks, initializers, windows
from .layers import Layer, _assign

#: Prediction feeds samples through a convolution in groups small enough that the columns of
#: one group (the im2col matrix) hold at most this many numbers: bounded memory for any n.
PREDICTION_COLUMNS = 1 << 22


class Conv2D(Layer):
    """A convolutional layer: F feature maps, each computed by one kh x kw filter slid over the
    C maps below (see the module docstring for the equations and shapes).

    Parameters
    ----------
    in_channels : int
        C, the maps coming in (1 for grey images).
    out_channels : int
        F, the feature maps of this layer (its number of filters).
    kernel_size : int or (int, int)
        The receptive field, kh x kw pixels.
    stride : int or (int, int)
        How many pixels the window moves between neighbouring neurons (1).
    padding : int or (int, int)
        Rows and columns of zeros framing each input map (0).
    activation : str or Activation
        σ (``relu`` by default, as in the book's best networks).
    init : str or callable
        How to draw W and b (``he`` by default), with fan-in C·kh·kw (see :mod:`nnet.initializers`;
        ``xavier`` counts F as the fan-out).
    dropout : float
        The rate at which its activations are dropped while training (0: never).
    input_shape : (int, int, int), optional
        (C, H, W) of one sample. Needed for the first layer of a network; a later layer takes it
        from the layer below when the network is built (:meth:`build`).
    rng, seed, dtype
        As for :class:`nnet.Dense`.

    Attributes
    ----------
    W : ndarray of shape (F, C, kh, kw)
        Filter f's weights for input map c: ``W[f, c]`` (``torch.nn.Conv2d.weight``'s layout).
    b : ndarray of shape (F,)
    dW, db : ndarrays like W and b
        ∂C/∂W and ∂C/∂b from the last :meth:`gradient`.

    Examples
    --------
    >>> layer = Conv2D(1, 20, 5, input_shape=(1, 28, 28), seed=0)
    >>> layer.W.shape, layer.output_shape
    ((20, 1, 5, 5), (20, 24, 24))
    """

    kind = "conv2d"
    decayed = ("W",)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, activation="relu", *,
                 init="he", dropout: float = 0.0, input_shape=None, rng: np.random.Generator | None = None,
                 seed: int | None = None, dtype=np.float32):
        super().__init__()
        self.in_channels = checks.positive_int("Conv2D in_channels", in_channels)
        self.out_channels = checks.positive_int("Conv2D out_channels", out_channels)
        self.kernel_size = windows.pair("Conv2D kernel_size", kernel_size, 1)
        self.stride = windows.pair("Conv2D stride", stride, 1)
        self.padding = windows.pair("Conv2D padding", padding, 0)
        self.activation = activations.get(activation)
        self.dropout = checks.rate("dropout", dropout)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        rng = rng if rng is not None else np.random.default_rng(seed)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        W, b = initializers.get(init)(rng, self.out_channels, fan_in)
        W = np.asarray(W).reshape(self.out_channels, self.in_channels, kh, kw)
        self.parameters = {"W": np.ascontiguousarray(W, self.dtype), "b": np.ascontiguousarray(b, self.dtype)}
        self.gradients = {name: np.zeros_like(array) for name, array in self.parameters.items()}
        self.input_shape = self.output_shape = None
        if input_shape is not None:
            self.build(input_shape)

    def build(self, input_shape, dtype=None) -> None:
        """Set the shape of one sample coming in, (C, H, W), and so the shape going out,
        (F, H_out, W_out). The network calls it with the output shape of the layer below."""
        shape = windows.image_shape("Conv2D", input_shape)
        if shape[0] != self.in_channels:
            raise ValueError(f"Conv2D takes {self.in_channels} input maps (in_channels); got inputs of shape {shape}")
        self.input_shape = shape
        self.output_shape = windows.output_shape("Conv2D", shape, self.out_channels, self.kernel_size, self.stride,
                                                 self.padding)

    # -- the parameters, by the lessons' names ------------------------------------------------
    @property
    def W(self) -> np.ndarray:
        return self.parameters["W"]

    @W.setter
    def W(self, value) -> None:
        _assign("Conv2D.W", self.parameters["W"], value)

    @property
    def b(self) -> np.ndarray:
        return self.parameters["b"]

    @b.setter
    def b(self, value) -> None:
        _assign("Conv2D.b", self.parameters["b"], value)

    @property
    def dW(self) -> np.ndarray:
        return self.gradients["W"]

    @property
    def db(self) -> np.ndarray:
        return self.gradients["b"]

    # -- forward -----------------------------------------------------------------------------
    def forward(self, a_prev, z=None, a=None, cache=None, rng=None):
        """As :meth:`nnet.Layer.forward`; training (with ``cache``) keeps the columns of the
        receptive fields there for :meth:`gradient`."""
        z = self.weighted_input(a_prev, out=z, cache=cache)
        a = self.activation.value(z, out=z if a is None else a)
        if cache is None or not self.dropout:
            return a
        return self._drop(a, cache, rng)

    def weighted_input(self, a_prev, out=None, cache=None):
        """z (n, F, H_out, W_out) for a_prev (n, C, H, W): ``Z = W X + b`` over the columns X of
        every receptive field. Without ``cache`` (prediction), the samples go through in groups
        that bound the memory of the columns."""
        n = len(a_prev)
        z = np.empty((n, *self.output_shape), self.dtype) if out is None else out
        if cache is not None:
            self._convolve(a_prev, z, cache)
            return z
        group = max(1, PREDICTION_COLUMNS // self._column_size())
        scratch: dict = {}
        for start in range(0, n, group):
            self._convolve(a_prev[start : start + group], z[start : start + group], scratch)
        return z

    def _column_size(self) -> int:
        """Numbers in one sample's columns: C kh kw x H_out W_out."""
        kh, kw = self.kernel_size
        return self.in_channels * kh * kw * self.output_shape[1] * self.output_shape[2]

    def _convolve(self, a_prev, z, cache) -> None:
        """z = W X + b into z, the columns X kept in ``cache["columns"]``."""
        n = len(a_prev)
        F, rows, cols = self.output_shape
        kh, kw = self.kernel_size
        x = windows.padded(a_prev, self.padding, cache)
        X = windows.scratch(cache, "columns", (self.in_channels, kh, kw, n, rows, cols), self.dtype)
        windows.columns(x, self.kernel_size, self.stride, out=X)
        Z = windows.scratch(cache, "products", (F, n * rows * cols), self.dtype)
        np.matmul(self.parameters["W"].reshape(F, -1), X.reshape(-1, n * rows * cols), out=Z)
        # Z is (F, n, H_out, W_out): map-major; z is sample-major, as the layer below gave it
        np.add(Z.reshape(F, n, rows, cols).transpose(1, 0, 2, 3), self.parameters["b"][:, None, None], out=z)

    # -- backward ----------------------------------------------------------------------------
    def _delta_matrix(self, delta, cache) -> np.ndarray:
        """δ (n, F, H_out, W_out) as the matrix (F, n H_out W_out), copied into ``cache``."""
        F = self.out_channels
        matrix = windows.scratch(cache, "delta", (F, *delta.shape[:1], *delta.shape[2:]), self.dtype)
        np.copyto(matrix, delta.transpose(1, 0, 2, 3))
        return matrix.reshape(F, -1)

    def gradient(self, delta, a_prev, cache=None):
        """BP4: ∂C/∂W = δ Xᵀ (X: the columns kept by the forward pass). BP3: ∂C/∂b = Σ δ, over
        the samples and every position of each map. Needs the ``cache`` of a training forward."""
        if cache is None or "columns" not in cache:
            raise ValueError("Conv2D.gradient needs the cache of a training forward pass (forward(..., cache=...))")
        n = len(delta)
        F = self.out_channels
        X = windows.scratch(cache, "columns", (self.n_weights_per_filter, n * self.output_shape[1] * self.output_shape[2]),
                            self.dtype)
        matrix = self._delta_matrix(delta, cache)
        np.matmul(matrix, X.T, out=self.gradients["W"].reshape(F, -1))
        np.add.reduce(matrix, axis=1, out=self.gradients["b"])

    @property
    def n_weights_per_filter(self) -> int:
        """C kh kw: the weights of one filter, the size of one receptive field."""
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev (n, C, H, W): ``Wᵀ δ`` gives each column's share of the error, and col2im
        adds each share back onto the pixel it was read from (a pixel sits in up to kh kw
        receptive fields)."""
        cache = {} if cache is None else cache
        n = len(delta)
        _, rows, cols = self.output_shape
        C, height, width = self.input_shape
        kh, kw = self.kernel_size
        ph, pw = self.padding
        matrix = self._delta_matrix(delta, cache)
        errors = windows.scratch(cache, "column_errors", (C, kh, kw, n, rows, cols), self.dtype)
        np.matmul(self.parameters["W"].reshape(self.out_channels, -1).T, matrix, out=errors.reshape(-1, n * rows * cols))
        out = np.empty((n, *self.input_shape), self.dtype) if out is None else out
        if not ph and not pw:
            return windows.add_columns(errors, self.kernel_size, self.stride, out)
        frame = windows.scratch(cache, "padded_errors", (n, C, height + 2 * ph, width + 2 * pw), self.dtype)
        windows.add_columns(errors, self.kernel_size, self.stride, frame)
        np.copyto(out, frame[:, :, ph : ph + height, pw : pw + width])
        return out

    # -- what it is --------------------------------------------------------------------------
    def describe(self) -> dict:
        entry = {"kind": self.kind, "in_channels": self.in_channels, "out_channels": self.out_channels,
                 "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding),
                 "input_shape": None if self.input_shape is None else list(self.input_shape),
                 "output_shape": None if self.output_shape is None else list(self.output_shape),
                 "n_in": self.n_in if self.input_shape else None, "n_out": self.n_out if self.output_shape else None,
                 "activation": self.activation.name}
        entry.update(self.activation.settings())
        entry["dropout"] = self.dropout
        entry["parameters"] = self.n_parameters
        return entry

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value}" for name, value, default in
                        (("stride", self.stride, (1, 1)), ("padding", self.padding, (0, 0))) if value != default)
        dropout = f", dropout={self.dropout}" if self.dropout else ""
        return (f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}{extra}, "
                f"activation={self.activation.name!r}{dropout}, dtype={self.dtype.name})")
