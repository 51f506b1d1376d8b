"""Layers: a fully connected layer of neurons, and dropout.

A batch is rows: x is (n, n_in), one sample per row. A :class:`Dense` layer computes

    z = x Wᵀ + b        the weighted input, (n, n_out)
    a = σ(z)            the activation, (n, n_out)

with ``W`` of shape (n_out, n_in), row j holding the weights into neuron j (the lessons' ``w_jk``
and ``torch.nn.Linear``'s layout), and ``b`` of shape (n_out,).

Backpropagation through it, given the error ``δ = ∂C/∂z`` of its neurons (averaged over the
batch by the cost, so the layer applies only the chain rule)::

    ∂C/∂W = δᵀ x        (n_out, n_in)
    ∂C/∂b = Σ_rows δ    (n_out,)
    ∂C/∂x = δ W         (n, n_in): sent back to the layer below, which multiplies by its σ'(z)

Two paths through each layer. ``forward(x)`` is the plain one: it allocates and returns fresh
arrays, so what it returns is the caller's to keep. ``forward(x, training=True)`` is the
training path: it writes into buffers the layer keeps (reallocated only when a batch is larger
than any before), remembers its input, z and a for ``backward``, and returns a view that the
next training call overwrites.
"""

from __future__ import annotations

import numpy as np

from . import activations, initializers


class Layer:
    """Base class: a layer maps (n, n_in) to (n, n_out) and sends gradients back."""

    n_in: int
    n_out: int

    def forward(self, x: np.ndarray, *, training: bool = False, rng=None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray, *, input_gradient: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:
        return 0


class Dense(Layer):
    """A fully connected layer: ``a = σ(x Wᵀ + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Neurons in the layer below (inputs) and in this layer.
    activation : str or Activation
        σ: ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``identity`` or ``softmax``.
    init : str or callable
        How to draw W and b: ``normal``, ``lecun``, ``xavier`` or ``he``
        (see :mod:`nnet.initializers`).
    rng : numpy.random.Generator, optional
        Where the initial values come from; ``seed`` makes one when not given.
    dtype : numpy dtype
        float32 (the default) or float64.

    Attributes
    ----------
    W : ndarray of shape (n_out, n_in)
        Row j holds the weights into neuron j.
    b : ndarray of shape (n_out,)
    dW, db : ndarrays like W and b
        ∂C/∂W and ∂C/∂b from the last ``backward``.
    input, z, a : ndarrays
        From the last training-mode ``forward``.

    Examples
    --------
    >>> layer = Dense(784, 30, activation="sigmoid", seed=0)
    >>> layer.forward(np.zeros((5, 784), np.float32)).shape
    (5, 30)
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation="sigmoid",
        *,
        init="normal",
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        dtype=np.float32,
    ):
        for name, size in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Dense {name} must be a positive integer; got {size!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation = activations.get(activation)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        rng = rng if rng is not None else np.random.default_rng(seed)
        W, b = initializers.get(init)(rng, self.n_out, self.n_in)
        self._W = np.ascontiguousarray(W, dtype=self.dtype)
        self._b = np.ascontiguousarray(b, dtype=self.dtype)
        self.dW = np.zeros_like(self._W)
        self.db = np.zeros_like(self._b)
        self.input = self.z = self.a = None
        self._capacity = 0

    # -- parameters -------------------------------------------------------------------------
    @property
    def W(self) -> np.ndarray:
        return self._W

    @W.setter
    def W(self, value) -> None:
        self._assign("W", self._W, value)

    @property
    def b(self) -> np.ndarray:
        return self._b

    @b.setter
    def b(self, value) -> None:
        self._assign("b", self._b, value)

    def _assign(self, name, target, value):
        # Copy into the existing array: a network keeps W and b as views into one flat array.
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"Dense.{name} must have shape {target.shape}; got {value.shape}")
        target[...] = value

    def bind(self, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray) -> None:
        """Move the parameters into the given arrays (views into a network's flat storage)."""
        W[...] = self._W
        b[...] = self._b
        self._W, self._b, self.dW, self.db = W, b, dW, db

    @property
    def n_parameters(self) -> int:
        return self._W.size + self._b.size

    # -- forward ----------------------------------------------------------------------------
    def weighted_input(self, x: np.ndarray) -> np.ndarray:
        """z = x Wᵀ + b, (n, n_out), freshly allocated."""
        z = x @ self._W.T
        z += self._b
        return z

    def forward(self, x: np.ndarray, *, training: bool = False, rng=None) -> np.ndarray:
        """a = σ(x Wᵀ + b) for x of shape (n, n_in); returns (n, n_out).

        With ``training=True`` the result is a view into the layer's buffers (overwritten by the
        next training call) and input, z and a are kept for :meth:`backward`.
        """
        if not training:
            z = self.weighted_input(x)
            return self.activation.value(z, out=z)
        z, a = self._buffers(len(x))
        np.matmul(x, self._W.T, out=z)
        z += self._b
        self.activation.value(z, out=a)
        self.input, self.z, self.a = x, z, a
        return a

    def _buffers(self, n: int):
        if n > self._capacity:
            shape = (n, self.n_out)
            self._z = np.empty(shape, self.dtype)
            self._a = np.empty(shape, self.dtype)
            self._grad_input = np.empty((n, self.n_in), self.dtype)
            self._capacity = n
        return self._z[:n], self._a[:n]

    # -- backward ---------------------------------------------------------------------------
    def backward(
        self, grad: np.ndarray, *, input_gradient: bool = True, is_delta: bool = False
    ) -> np.ndarray | None:
        """Backpropagate through the layer after a training-mode ``forward``.

        Parameters
        ----------
        grad : ndarray of shape (n, n_out)
            ∂C/∂a, the gradient with respect to this layer's output; or, with ``is_delta=True``,
            already δ = ∂C/∂z (the output layer, whose δ the cost computes directly). The array
            may be overwritten.
        input_gradient : bool
            Whether to compute ∂C/∂x (not needed for the first layer while training).

        Returns
        -------
        ndarray of shape (n, n_in), or None
            ∂C/∂x = δ W, a view into the layer's buffer. Sets ``dW`` and ``db``.
        """
        if self.z is None:
            raise RuntimeError("Dense.backward() needs a forward(x, training=True) first")
        delta = grad if is_delta else self.activation.backward(self.z, self.a, grad, out=grad)
        if len(delta) > 1:
            np.matmul(delta.T, self.input, out=self.dW)  # ∂C/∂W = δᵀ x
        else:  # one sample: an outer product, which BLAS's matrix product does slowly
            np.multiply(delta.T, self.input, out=self.dW)
        np.add.reduce(delta, axis=0, out=self.db)  # ∂C/∂b = Σ δ
        if not input_gradient:
            return None
        return np.matmul(delta, self._W, out=self._grad_input[: len(delta)])  # ∂C/∂x = δ W

    def __repr__(self) -> str:
        return (
            f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation.name!r}, "
            f"dtype={self.dtype.name})"
        )


class Dropout(Layer):
    """Inverted dropout: while training, each input is zeroed with probability ``rate`` and the
    survivors are scaled by ``1 / (1 - rate)``, so nothing changes at prediction time, when the
    layer passes its input through untouched.

    The mask of the last training pass is kept as ``mask`` (zeros and ``1 / (1 - rate)``);
    ``backward`` multiplies the gradient by it.
    """

    def __init__(self, rate: float, size: int | None = None):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be a number in [0, 1); got {rate!r}")
        self.rate = float(rate)
        self.n_in = self.n_out = size
        self.mask = None
        self._capacity = 0

    def forward(self, x, *, training=False, rng=None):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        if rng is None:
            raise ValueError("Dropout.forward(training=True) needs rng, a numpy.random.Generator")
        n = len(x)
        if n > self._capacity or self._buffer_dtype != x.dtype or self._out.shape[1:] != x.shape[1:]:
            self._mask = np.empty(x.shape, x.dtype)
            self._out = np.empty(x.shape, x.dtype)
            self._buffer_dtype, self._capacity = x.dtype, n
        mask, out = self._mask[:n], self._out[:n]
        rng.random(out=mask, dtype=x.dtype)
        # keep where u >= rate, scale by 1/(1 - rate): (u >= rate) * scale in one ufunc call
        np.greater_equal(mask, self.rate, out=mask, casting="unsafe")
        mask *= 1.0 / (1.0 - self.rate)
        self.mask = mask
        return np.multiply(x, mask, out=out)

    _buffer_dtype = None

    def backward(self, grad, *, input_gradient=True):
        if self.mask is None:
            return grad
        return np.multiply(grad, self.mask, out=grad)

    def __repr__(self) -> str:
        return f"Dropout(rate={self.rate})"
