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
batch into a matrix X ("im2col", :mod:`nnet.windows`), one window of C·kh·kw inputs per column,
n·H_out·W_out of them, each led by a 1: the input the bias multiplies (the lessons' bias as the
weight of an input that is always on). With W and b read as one matrix [b | W] of F rows,

    Z = [b | W] X               the whole batch's weighted inputs: matrix products
    [∂C/∂b | ∂C/∂W] = δ Xᵀ      BP3 and BP4, summed over every sample and position sharing W
    ∂C/∂X = Wᵀ δ                BP2's first half, then added back onto the pixels each window
                                read ("col2im")

where δ is read as the matrix (F, n·H_out·W_out). The shared weights are why BP3 and BP4 sum
over the positions: every neuron of a map nudges the same W[f] and b[f].

How the windows are copied decides the speed, because NumPy copies fastest in long runs of
neighbouring numbers. A layer with few, wide maps (the first, on grey images) copies along the
rows of its maps and multiplies sample by sample, straight into each sample's maps; a layer
with many small maps copies each window row across all its channels at once (the channels
last, one window per row of X) and sends its error back one kernel offset at a time
(:attr:`Conv2D.channels_last`; benchmarks/conv.py has the measurements).
"""

from __future__ import annotations

import numpy as np

from . import checks, windows
from .layers import AUTO_INIT, Weighted, activation_of, described, stored

#: Prediction feeds samples through a convolution in groups small enough that the columns of
#: one group (the im2col matrix) hold at most this many numbers: bounded memory for any n.
PREDICTION_COLUMNS = 1 << 22


class Conv2D(Weighted):
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
    parameter_names = ("W", "b")
    derived = ("in_channels", "input_shape", "output_shape", "n_in", "n_out", "parameters")

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, activation="relu", *,
                 init="he", dropout: float = 0.0, input_shape=None, rng: np.random.Generator | None = None,
                 seed: int | None = None, dtype=np.float32):
        super().__init__()
        self.in_channels = checks.positive_int("Conv2D in_channels", in_channels)
        self.out_channels = checks.positive_int("Conv2D out_channels", out_channels)
        self.kernel_size = windows.pair("Conv2D kernel_size", kernel_size, 1)
        self.stride = windows.pair("Conv2D stride", stride, 1)
        self.padding = windows.pair("Conv2D padding", padding, 0)
        kh, kw = self.kernel_size  # each map's neuron sees in_channels x kh x kw inputs: its fan-in
        self._neurons(self.out_channels, self.in_channels * kh * kw, activation, init, dropout, seed, rng, dtype,
                      shape=(self.out_channels, self.in_channels, kh, kw))
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

    # -- forward -----------------------------------------------------------------------------
    def weighted_input(self, a_prev, out=None, cache=None):
        """z (n, F, H_out, W_out) for a_prev (n, C, H, W): ``Z = W X + b`` over the receptive
        fields X of the batch. Without ``cache`` (prediction), the samples go through in groups
        that bound the memory of the receptive fields' copy."""
        n = len(a_prev)
        z = np.empty((n, *self.output_shape), self.dtype) if out is None else out
        if cache is not None:
            self._convolve(a_prev, z, cache)
            return z
        group = max(1, PREDICTION_COLUMNS // (self.window_size * self.output_shape[1] * self.output_shape[2]))
        scratch: dict = {}
        for start in range(0, n, group):
            self._convolve(a_prev[start : start + group], z[start : start + group], scratch)
        return z

    @property
    def window_size(self) -> int:
        """C kh kw: the inputs of one receptive field, and the weights of one filter."""
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]

    @property
    def channels_last(self) -> bool:
        """How the receptive fields are copied (:mod:`nnet.windows`): channels last (one row per
        window, copied kw·C numbers at a time) when that beats copying along the rows of the
        maps (W_out numbers at a time, or one at a time with a stride)."""
        run = self.output_shape[2] if self.stride[1] == 1 else 1
        return self.kernel_size[1] * self.in_channels > run

    def _convolve(self, a_prev, z, cache) -> None:
        """z = W X + b into z, the windows X kept in ``cache`` for :meth:`gradient`."""
        n = len(a_prev)
        F, rows, cols = self.output_shape
        X = self._windows(n, cache, a_prev)
        filters = self._filters(cache)
        if self.channels_last:  # X (n H_out W_out, 1 + kh kw C): one product for the batch
            Z = windows.scratch(cache, "products", (n * rows * cols, F), self.dtype)
            np.matmul(X, filters, out=Z)
            np.copyto(z, Z.reshape(n, rows, cols, F).transpose(0, 3, 1, 2))
        else:  # X (1 + C kh kw, n, H_out W_out): one product per sample, straight into its maps
            np.matmul(filters, X.transpose(1, 0, 2), out=z.reshape(n, F, rows * cols, copy=False))

    def _windows(self, n: int, cache, a_prev=None) -> np.ndarray:
        """The receptive fields of the batch, each led by a 1 (the input the bias multiplies),
        kept in the cache and copied from ``a_prev`` when given (:mod:`nnet.windows`):

        rows     (n H_out W_out, 1 + kh kw C)    when :attr:`channels_last`
        columns  (1 + C kh kw, n, H_out W_out)   otherwise
        """
        (_, rows, cols), (kh, kw), C = self.output_shape, self.kernel_size, self.in_channels
        size = 1 + self.window_size
        if self.channels_last:
            X = windows.scratch(cache, "windows", (n * rows * cols, size), self.dtype, fill=1.0)
            if a_prev is not None:
                frame = windows.channels_last(a_prev, self.padding, cache)
                windows.rows(frame, self.kernel_size, self.stride, out=X[:, 1:].reshape(n, rows, cols, kh, kw, C, copy=False))
            return X
        X = windows.scratch(cache, "windows", (size, n, rows * cols), self.dtype)
        if a_prev is not None:  # the 1s again: in this layout a batch of another size moves them
            X[0].fill(1.0)
            frame = windows.padded(a_prev, self.padding, cache)
            windows.columns(frame, self.kernel_size, self.stride, out=X[1:].reshape(C, kh, kw, n, rows, cols, copy=False))
        return X

    def _filters(self, cache) -> np.ndarray:
        """b and W as the matrix that multiplies the windows, copied into the cache: (1 + kh kw C, F)
        for rows (b in row 0), (F, 1 + C kh kw) for columns (b in column 0)."""
        F, (kh, kw), C = self.out_channels, self.kernel_size, self.in_channels
        W, b = self.parameters["W"], self.parameters["b"]
        if self.channels_last:
            filters = windows.scratch(cache, "filters", (1 + self.window_size, F), self.dtype)
            filters[0] = b
            np.copyto(filters[1:].reshape(kh, kw, C, F), W.transpose(2, 3, 1, 0))
        else:
            filters = windows.scratch(cache, "filters", (F, 1 + self.window_size), self.dtype)
            filters[:, 0] = b
            np.copyto(filters[:, 1:], W.reshape(F, -1))
        return filters

    # -- backward ----------------------------------------------------------------------------
    def _delta_rows(self, delta, cache) -> np.ndarray:
        """δ (n, F, H_out, W_out) as rows (n H_out W_out, F), copied into the cache."""
        matrix = windows.scratch(cache, "delta", (len(delta), *delta.shape[2:], self.out_channels), self.dtype)
        np.copyto(matrix, delta.transpose(0, 2, 3, 1))
        return matrix.reshape(-1, self.out_channels)

    def gradient(self, delta, a_prev, cache=None):
        """BP3 and BP4 in one product: ``[∂C/∂b | ∂C/∂W] = δ Xᵀ``, summed over the samples and every
        position of each map (X: the windows kept by the forward pass, each led by a 1, so the
        first column is Σ δ, ∂C/∂b). Needs the ``cache`` of a training forward pass."""
        if cache is None or "windows" not in cache:
            raise ValueError("Conv2D.gradient needs the cache of a training forward pass (forward(..., cache=...))")
        n, (F, rows, cols), (kh, kw), C = len(delta), self.output_shape, self.kernel_size, self.in_channels
        X = self._windows(n, cache)
        dW, db = self.gradients["W"], self.gradients["b"]
        if self.channels_last:  # (F, 1 + kh kw C) = δ_rowsᵀ X
            total = windows.scratch(cache, "filter_gradients", (F, 1 + self.window_size), self.dtype)
            rows = self._delta_rows(delta, cache)
            np.matmul(rows.T, X, out=total)
            cache["delta_rows_of"] = (delta, rows)  # for backpropagate, next with the same δ: copied once a step
            np.copyto(db, total[:, 0])
            np.copyto(dW, total[:, 1:].reshape(F, kh, kw, C).transpose(0, 3, 1, 2))
        else:  # per sample δ[s] (F, H_out W_out) X[:, s]ᵀ, then the sum over the samples
            per_sample = windows.scratch(cache, "filter_gradients", (n, F, 1 + self.window_size), self.dtype)
            np.matmul(delta.reshape(n, F, rows * cols), X.transpose(1, 2, 0), out=per_sample)
            total = np.add.reduce(per_sample, axis=0)
            np.copyto(db, total[:, 0])
            np.copyto(dW, total[:, 1:].reshape(dW.shape))

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev (n, C, H, W): the error each window sends back through its weights, ``Wᵀ δ``,
        added onto the pixels the window read (a pixel sits in up to kh kw windows)."""
        cache = {} if cache is None else cache
        n = len(delta)
        out = np.empty((n, *self.input_shape), self.dtype) if out is None else out
        if self.channels_last:
            kept = cache.pop("delta_rows_of", None)
            rows = kept[1] if kept is not None and kept[0] is delta else self._delta_rows(delta, cache)
            return self._send_back_by_offset(rows, n, out, cache)
        F, rows, cols = self.output_shape
        C, height, width = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        sent = windows.scratch(cache, "sent", (n, C, kh, kw, rows, cols), self.dtype)
        np.matmul(self.parameters["W"].reshape(F, -1).T, delta.reshape(n, F, rows * cols),
                  out=sent.reshape(n, self.window_size, rows * cols))
        if not ph and not pw:
            return windows.add_columns(sent, self.stride, out)
        frame = windows.scratch(cache, "error_frame", (n, C, height + 2 * ph, width + 2 * pw), self.dtype)
        windows.add_columns(sent, self.stride, frame)
        np.copyto(out, frame[:, :, ph : ph + height, pw : pw + width])
        return out

    def _send_back_by_offset(self, D, n, out, cache) -> np.ndarray:
        """∂C/∂a_prev for channels-last windows, one kernel offset (p, q) at a time: ``δ W[:, :, p, q]``
        (n H_out W_out, C) is what each window sends to its pixel (p, q), across the channels, and
        it is added onto those pixels, a contiguous run of W_out C numbers per row of the maps."""
        F, rows, cols = self.output_shape
        C, height, width = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        by_offset = windows.scratch(cache, "offset_filters", (kh * kw, F, C), self.dtype)
        np.copyto(by_offset.reshape(kh, kw, F, C), self.parameters["W"].transpose(2, 3, 0, 1))
        sent = windows.scratch(cache, "sent", (kh * kw, n * rows * cols, C), self.dtype)
        np.matmul(D, by_offset, out=sent)  # every offset's share, one product per offset
        frame = windows.scratch(cache, "error_frame", (n, height + 2 * ph, width + 2 * pw, C), self.dtype)
        frame.fill(0)
        for offset, share in enumerate(sent):
            target = windows.at_offset(frame, *divmod(offset, kw), self.stride, (rows, cols), last=True)
            target += share.reshape(n, rows, cols, C)
        np.copyto(out, frame[:, ph : ph + height, pw : pw + width, :].transpose(0, 3, 1, 2))
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

    @classmethod
    def from_description(cls, entry, input_shape, *, parameters=None, init="auto", rng=None, dtype=np.float32):
        given = described(cls, entry, required=("out_channels", "kernel_size"),
                          optional={"stride": 1, "padding": 0, "activation": "relu", "dropout": 0.0})
        activation = activation_of(entry, given["activation"])
        shape = windows.image_shape("Conv2D", input_shape)
        F = checks.positive_int("Conv2D out_channels", given["out_channels"])
        kh, kw = windows.pair("Conv2D kernel_size", given["kernel_size"], 1)
        if parameters is not None:
            init = stored(cls, parameters, {"W": (F, shape[0], kh, kw), "b": (F,)})
        elif init == "auto":
            init = AUTO_INIT.get(activation.name, "xavier")
        return cls(shape[0], F, (kh, kw), given["stride"], given["padding"], activation, init=init,
                   dropout=given["dropout"], input_shape=shape, rng=rng, dtype=dtype)

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value}" for name, value, default in
                        (("stride", self.stride, (1, 1)), ("padding", self.padding, (0, 0))) if value != default)
        dropout = f", dropout={self.dropout}" if self.dropout else ""
        return (f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}{extra}, "
                f"activation={self.activation.name!r}{dropout}, dtype={self.dtype.name})")
