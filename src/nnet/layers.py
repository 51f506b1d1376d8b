"""Layers: the contract every layer keeps, and the fully connected layer of the lessons.

A batch is rows: ``a_prev`` is (n, n_in), one sample per row. A layer of neurons computes

    z = weighted_input(a_prev)      each neuron's weighted input    (n, n_out)
    a = σ(z)                        its activation                  (n, n_out)

and for backpropagation, given the error ``δ = ∂C/∂z`` of its neurons (averaged over the batch
by the cost, so a layer applies only the chain rule), it answers three questions:

    gradient(δ, a_prev)       BP3, BP4: ∂C/∂b and ∂C/∂W, into the layer's ``gradients``
    backpropagate(δ)          the first half of BP2: ∂C/∂a_prev, how the cost moves with each
                              input's activation (for Dense: δ W)
    error(∂C/∂a, z, a)        the second half of BP2: δ = ∂C/∂a ⊙ σ'(z) for this layer's neurons

:meth:`nnet.Network.backprop` puts them together in the lessons' order. That is the whole
contract: the network never asks a layer what kind it is, and a convolutional or pooling layer
is another class answering the same methods.

Dropout is a rate of a hidden layer: while training, each of its activations is zeroed with
probability ``dropout`` and the survivors are scaled by ``1 / (1 - dropout)`` (inverted dropout,
so nothing changes at prediction time). ``error`` passes ∂C/∂a through the same mask.

Arrays a layer keeps between the forward and the backward pass of a training step (dropout's
mask, ...) live in the ``cache`` dict the caller passes in (the training workspace, see
:mod:`nnet.speed`), not in the layer: a layer holds only its parameters and their gradients.
"""

from __future__ import annotations

import numpy as np

from . import activations, checks, initializers


class Layer:
    """What every layer has and does; see the module docstring for the contract.

    Attributes
    ----------
    n_in, n_out : int
        Values per sample coming in and going out.
    input_shape, output_shape : tuple of int
        The same, as the shape of one sample (``(n_in,)`` for a Dense layer).
    activation : Activation
        σ, applied by :meth:`forward`.
    dropout : float
        The rate at which its activations are dropped while training (0: never).
    parameters, gradients : dict of name -> ndarray
        The arrays gradient descent moves (``W``, ``b``) and their gradients ∂C/∂W, ∂C/∂b.
    decayed : tuple of str
        The parameters weight decay applies to (the weights, not the biases).
    """

    kind = ""
    activation: activations.Activation
    dropout = 0.0
    decayed: tuple[str, ...] = ()
    #: The names of its parameters, and the keys of :meth:`describe` that follow from the layer
    #: below (and from the parameters): left out of :meth:`settings`.
    parameter_names: tuple[str, ...] = ()
    derived: tuple[str, ...] = ("input_shape", "output_shape", "n_in", "n_out", "activation", "dropout", "parameters")

    def __init__(self):
        self.parameters: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}

    @property
    def n_in(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.output_shape))

    @property
    def n_parameters(self) -> int:
        return sum(array.size for array in self.parameters.values())

    def weighted_input(self, a_prev: np.ndarray, out: np.ndarray | None = None, cache: dict | None = None) -> np.ndarray:
        """z for the activations ``a_prev`` of the layer below (``cache``: what training keeps for
        the backward pass, such as a convolution's receptive fields)."""
        raise NotImplementedError

    def forward(self, a_prev, z=None, a=None, cache: dict | None = None, rng=None) -> np.ndarray:
        """``a = σ(z)``, ``z = weighted_input(a_prev)``, written into ``z`` and ``a`` if given.

        Without ``cache`` this is prediction: no dropout, and ``a`` may overwrite ``z``. With
        ``cache`` (a dict kept for the backward pass) it is training: ``z`` and ``a`` are both
        kept, and dropout draws its mask from ``rng``. Returns the layer's output, which is ``a``
        (after dropout, when training with a rate).
        """
        z = self.weighted_input(a_prev, out=z, cache=cache)
        a = self.activation.value(z, out=z if a is None else a)
        if cache is None or not self.dropout:
            return a
        return self._drop(a, cache, rng)

    def gradient(self, delta: np.ndarray, a_prev: np.ndarray, cache: dict | None = None) -> None:
        """BP3 and BP4: set ``gradients`` from this layer's δ (n, n_out) and its inputs."""

    def backpropagate(self, delta: np.ndarray, out: np.ndarray | None = None, cache: dict | None = None) -> np.ndarray:
        """∂C/∂a_prev (n, n_in) from this layer's δ (n, n_out)."""
        raise NotImplementedError

    def error(self, grad: np.ndarray, z: np.ndarray, a: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """δ = ∂C/∂z from ``grad`` = ∂C/∂a (overwritten with the result): through dropout's mask
        (when training with a rate), then ⊙ σ'(z)."""
        if self.dropout and cache is not None and "mask" in cache:
            grad *= cache["mask"][: len(grad)]
        return self.activation.backward(z, a, grad, out=grad)

    def _drop(self, a: np.ndarray, cache: dict, rng) -> np.ndarray:
        """Inverted dropout into the cache's arrays: a ⊙ mask, mask ∈ {0, 1 / (1 - rate)}."""
        if rng is None:
            raise ValueError("training with dropout needs rng, a numpy.random.Generator")
        n = len(a)
        if cache.get("capacity", 0) < n or cache["mask"].dtype != a.dtype:
            cache["mask"], cache["dropped"] = np.empty_like(a), np.empty_like(a)
            cache["capacity"] = n
        mask, dropped = cache["mask"][:n], cache["dropped"][:n]
        rng.random(out=mask, dtype=a.dtype)
        # keep where u >= rate, scaled by 1/(1 - rate): (u >= rate) * scale in one ufunc call
        np.greater_equal(mask, self.dropout, out=mask, casting="unsafe")
        mask *= 1.0 / (1.0 - self.dropout)
        return np.multiply(a, mask, out=dropped)

    def describe(self) -> dict:
        """The layer as plain data: what a model file stores and ``nnet info`` and the lab show
        (see :meth:`nnet.Network.describe`, which adds each layer's index and name)."""
        raise NotImplementedError

    def settings(self) -> dict:
        """:meth:`describe` without what follows from the layer below: what builds the layer again
        on any layer below (:meth:`from_description`), as a run's ``layers`` setting lists it,
        e.g. ``{"kind": "conv2d", "out_channels": 20, "kernel_size": [5, 5], ...}``."""
        return {key: value for key, value in self.describe().items() if key not in self.derived}

    @classmethod
    def from_description(cls, entry: dict, input_shape, *, parameters: dict | None = None, init="auto",
                         rng: np.random.Generator | None = None, dtype=np.float32) -> Layer:
        """The layer an entry of a layer list describes (:meth:`settings`, or :meth:`describe`'s
        whole entry: the keys that follow from below are not read here), on inputs of
        ``input_shape``. ``parameters``: its arrays by name (a model file's), each checked
        against the shape the entry gives it before anything is built; else new ones drawn
        from ``rng`` by ``init`` (``auto``: by the activation, :data:`AUTO_INIT`).
        Raises ValueError naming the key, or the parameter, that is wrong."""
        raise NotImplementedError


class Weighted(Layer):
    """A layer of neurons with weights and biases, ``W`` and ``b`` by the lessons' names (views
    into ``parameters``; assigning copies into them), and their gradients ``dW``, ``db``."""

    decayed = ("W",)

    def _neurons(self, n_neurons, fan_in, activation, init, dropout, seed, rng, dtype, shape=None) -> None:
        """Set what every layer of neurons has: σ, the dropout rate, the dtype, and ``n_neurons``
        neurons' initial weights from ``init`` (each with ``fan_in`` inputs; ``W`` of ``shape``)."""
        self.activation = activations.get(activation)
        self.dropout = checks.rate("dropout rate", dropout)
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.dtype = float_dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        W, b = initializers.get(init)(rng, n_neurons, fan_in)
        W = np.asarray(W).reshape(shape or (n_neurons, fan_in))
        self.parameters = {"W": np.ascontiguousarray(W, self.dtype), "b": np.ascontiguousarray(b, self.dtype)}
        self.gradients = {name: np.zeros_like(array) for name, array in self.parameters.items()}

    @property
    def W(self) -> np.ndarray:
        return self.parameters["W"]

    @W.setter
    def W(self, value) -> None:
        _assign(f"{type(self).__name__}.W", self.parameters["W"], value)

    @property
    def b(self) -> np.ndarray:
        return self.parameters["b"]

    @b.setter
    def b(self, value) -> None:
        _assign(f"{type(self).__name__}.b", self.parameters["b"], value)

    @property
    def dW(self) -> np.ndarray:
        return self.gradients["W"]

    @property
    def db(self) -> np.ndarray:
        return self.gradients["b"]


class Dense(Weighted):
    """A fully connected layer: ``a = σ(W a_prev + b)``, for a batch of rows ``z = a_prev Wᵀ + b``.

    Parameters
    ----------
    n_in, n_out : int
        Neurons in the layer below (inputs) and in this layer.
    activation : str or Activation
        σ: ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``identity`` or ``softmax``.
    init : str or callable
        How to draw W and b: ``normal``, ``lecun``, ``xavier`` or ``he``
        (see :mod:`nnet.initializers`).
    dropout : float
        The rate at which its activations are dropped while training (0, the default: never).
    rng : numpy.random.Generator, optional
        Where the initial values come from; ``seed`` makes one when not given.
    dtype : numpy dtype
        float32 (the default) or float64.

    Attributes
    ----------
    W : ndarray of shape (n_out, n_in)
        Row j holds the weights into neuron j (the lessons' ``w_jk``, ``torch.nn.Linear``'s layout).
    b : ndarray of shape (n_out,)
    dW, db : ndarrays like W and b
        ∂C/∂W and ∂C/∂b from the last :meth:`gradient`.

    Examples
    --------
    >>> layer = Dense(784, 30, activation="sigmoid", seed=0)
    >>> layer.forward(np.zeros((5, 784), np.float32)).shape
    (5, 30)
    """

    kind = "dense"
    parameter_names = ("W", "b")
    derived = ("n_in", "parameters")

    def __init__(self, n_in: int, n_out: int, activation="sigmoid", *, init="normal", dropout: float = 0.0,
                 rng: np.random.Generator | None = None, seed: int | None = None, dtype=np.float32):
        super().__init__()
        for name, size in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Dense {name} must be a positive integer; got {size!r}")
        self.input_shape, self.output_shape = (int(n_in),), (int(n_out),)
        self._neurons(n_out, n_in, activation, init, dropout, seed, rng, dtype)

    # -- forward -----------------------------------------------------------------------------
    def weighted_input(self, a_prev, out=None, cache=None):
        """z = a_prev Wᵀ + b, (n, n_out)."""
        z = np.matmul(a_prev, self.parameters["W"].T, out=out)
        z += self.parameters["b"]
        return z

    # -- backward ----------------------------------------------------------------------------
    def gradient(self, delta, a_prev, cache=None):
        """BP3: ∂C/∂b = Σ_rows δ.  BP4: ∂C/∂W = δᵀ a_prev (summed over the batch's rows)."""
        dW, db = self.gradients["W"], self.gradients["b"]
        if len(delta) > 1:
            np.matmul(delta.T, a_prev, out=dW)
        else:  # one sample: an outer product, which BLAS's matrix product does slowly
            np.multiply(delta.T, a_prev, out=dW)
        np.add.reduce(delta, axis=0, out=db)

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev = δ W, (n, n_in): each input's share of the error, by its weights."""
        return np.matmul(delta, self.parameters["W"], out=out)

    def describe(self) -> dict:
        entry = {"kind": self.kind, "n_in": self.n_in, "n_out": self.n_out, "activation": self.activation.name}
        entry.update(self.activation.settings())
        entry["dropout"] = self.dropout
        entry["parameters"] = self.n_parameters
        return entry

    @classmethod
    def from_description(cls, entry, input_shape, *, parameters=None, init="auto", rng=None, dtype=np.float32):
        given = described(cls, entry, required=("n_out",), optional={"activation": "sigmoid", "dropout": 0.0})
        activation = activation_of(entry, given["activation"])
        n_in, n_out = int(np.prod(input_shape)), checks.positive_int("dense n_out", given["n_out"])
        if parameters is not None:
            init = stored(cls, parameters, {"W": (n_out, n_in), "b": (n_out,)})
        elif init == "auto":
            init = AUTO_INIT.get(activation.name, "xavier")
        return cls(n_in, n_out, activation, init=init, dropout=given["dropout"], rng=rng, dtype=dtype)

    def __repr__(self) -> str:
        dropout = f", dropout={self.dropout}" if self.dropout else ""
        return (f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation.name!r}{dropout}, "
                f"dtype={self.dtype.name})")


def _assign(name: str, target: np.ndarray, value) -> None:
    """Copy into the existing array: a network keeps every parameter as a view into one flat array."""
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"{name} must have shape {target.shape}; got {value.shape}")
    target[...] = value


# -- a layer from its description (Layer.from_description) ---------------------------------------

#: Keys a layer list's entry may hold besides a layer's own: its place in the network.
PLACE = ("index", "name")


def described(cls, entry, required: tuple[str, ...], optional: dict) -> dict:
    """The settings of ``cls`` that ``entry`` gives: ``required`` keys, ``optional`` ones (their
    defaults filled in), the keys :attr:`Layer.derived` from below and its place (ignored here),
    and an activation's own settings; ValueError for a missing or unknown key."""
    if not isinstance(entry, dict):
        raise ValueError(f"a layer's description is an object such as {{'kind': 'dense', 'n_out': 100}}; got {entry!r}")
    name = entry.get("activation", optional.get("activation"))
    own = list(activations.ACTIVATIONS[name].settings()) if name in activations.ACTIVATIONS else []
    allowed = {"kind", *required, *optional, *cls.derived, *PLACE, *own}
    missing = [key for key in required if key not in entry]
    unknown = sorted(key for key in entry if key not in allowed)
    if missing or unknown:
        wrong = f"lacks {', '.join(missing)}" if missing else f"has unknown keys {', '.join(map(str, unknown))}"
        raise ValueError(f"a {cls.kind} layer's description {wrong}: it takes {', '.join(required)}"
                         f"{' and ' + ', '.join(optional) if optional else ''}")
    return {**optional, **{key: entry[key] for key in (*required, *optional) if key in entry}}


def activation_of(entry: dict, name) -> activations.Activation:
    """The activation ``name`` with its own settings from ``entry`` (leaky_relu's alpha)."""
    if not isinstance(name, str) or name not in activations.ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(activations.ACTIVATIONS)}")
    own = {key: entry[key] for key in activations.ACTIVATIONS[name].settings() if key in entry}
    for key, value in own.items():
        checks.number(f"{name} {key}", value)
    return type(activations.ACTIVATIONS[name])(**own)


def stored(cls, parameters: dict, shapes: dict):
    """An init that gives back the stored ``parameters`` (a model file's), once each is known to
    have the shape the description gives it (``shapes``): nothing is built from a claim."""
    for name, shape in shapes.items():
        array = parameters.get(name)
        if array is None:
            raise ValueError(f"its parameter {name} is missing")
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"its {name} has shape {tuple(array.shape)}, but a {cls.kind} layer of this description "
                             f"has {name} of shape {tuple(shape)}")
    return lambda rng, n_out, n_in: tuple(parameters[name] for name in shapes)


# -- the lessons' network, from its sizes ---------------------------------------------------------

#: The initializer for each activation when ``init="auto"``.
AUTO_INIT = {
    "sigmoid": "normal",  # the lessons' network
    "tanh": "xavier",
    "identity": "xavier",
    "softmax": "xavier",
    "relu": "he",
    "leaky_relu": "he",
}


def checked_sizes(sizes) -> list[int]:
    """The layer sizes, input first, as a list of positive ints (at least two of them)."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a list of layer sizes such as [784, 30, 10]; got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"a network needs at least two sizes (inputs and outputs), such as [784, 30, 10]; got {sizes}")
    for index, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"layer sizes must be positive integers; got {size!r} at position {index} of {sizes}")
    return [int(size) for size in sizes]


def dense_layers(sizes, activation, output: str, init, dropout, seed, dtype) -> list[Dense]:
    """The Dense layers of ``Network(sizes, ...)``: ``sizes`` input first, ``activation`` one
    name (or one per hidden layer), ``output`` the output layer's, their weights drawn in order
    from one seed (``init="auto"``: :data:`AUTO_INIT`)."""
    n_hidden = len(sizes) - 2
    one = isinstance(activation, (str, activations.Activation))
    hidden = [activation] * n_hidden if one else list(activation)
    if len(hidden) != n_hidden:
        raise ValueError(f"activation lists one name per hidden layer: {n_hidden} for sizes {sizes}; got {len(hidden)}")
    for name in hidden:
        activations.get(name)
    if init != "auto" and not callable(init):
        checks.choice("init", init, ["auto", *initializers.INITIALIZERS])
    dropout = checks.rate("dropout rate", dropout)
    if dropout and not n_hidden:
        raise ValueError(f"dropout acts after hidden layers, and sizes {sizes} have none; give dropout=0 or add a hidden layer")
    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_in, n_out, name) in enumerate(zip(sizes[:-1], sizes[1:], [*hidden, output])):
        act = activations.get(name)
        layers.append(Dense(n_in, n_out, act, init=AUTO_INIT.get(act.name, "xavier") if init == "auto" else init,
                            dropout=dropout if index < n_hidden else 0.0, rng=rng, dtype=dtype))
    return layers


def float_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is float32 or float64 (what every layer computes in), else
    ValueError."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}")
    return dtype
