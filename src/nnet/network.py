"""The network: a stack of layers, the forward pass, and backpropagation.

    a⁽⁰⁾ = x
    a⁽ˡ⁾ = σ(W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)        for l = 1 ... L, each a Dense layer
    output = a⁽ᴸ⁾                       the brightest output neuron is the answer

Backpropagation, the four equations of the lessons, for a batch of rows:

    δᴸ = ∂C/∂zᴸ                         from the cost (:mod:`nnet.losses`), with the 1/n
    δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ σ'(zˡ)           the error moves back one layer
    ∂C/∂Wˡ = δˡᵀ a⁽ˡ⁻¹⁾,  ∂C/∂bˡ = Σ_rows δˡ

Every parameter of the network lives in one flat array, ``network.parameters``: all the
weights first, then all the biases, with each layer's ``W`` and ``b`` a view into it (and the
gradients likewise in ``network.gradients``). An optimizer then updates the whole network with
a handful of array operations, however many layers it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations, initializers, inputs, losses
from .layers import Dense, Dropout, Layer

#: Inputs and outputs are processed in slices of this many rows by predict and evaluate,
#: which bounds their memory whatever the size of x.
EVALUATION_BATCH = 4096

#: The default initializer for each hidden activation when ``init="auto"``.
AUTO_INIT = {
    "sigmoid": "normal",  # the lessons' network
    "tanh": "xavier",
    "identity": "xavier",
    "softmax": "xavier",
    "relu": "he",
    "leaky_relu": "he",
}


@dataclass
class Trace:
    """Everything a forward pass computed, for looking inside.

    Attributes
    ----------
    activations : list of ndarray
        ``[a⁽⁰⁾ = x, a⁽¹⁾, ..., a⁽ᴸ⁾]``: the input and each Dense layer's activations, (n, size).
    zs : list of ndarray
        ``[z⁽¹⁾, ..., z⁽ᴸ⁾]``: each Dense layer's weighted input, (n, size).
    """

    activations: list[np.ndarray]
    zs: list[np.ndarray]

    @property
    def output(self) -> np.ndarray:
        """a⁽ᴸ⁾, the output layer's activations, (n, n_outputs)."""
        return self.activations[-1]


@dataclass(frozen=True)
class Scores:
    """The cost and accuracy of a network on a dataset."""

    cost: float
    accuracy: float


class Network:
    """A feed-forward network of Dense layers.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first: ``[784, 30, 10]`` is 784 inputs, 30 hidden neurons and
        10 outputs.
    activation : str, Activation, or a list of them
        σ of the hidden layers (one, or one per hidden layer): ``sigmoid``, ``tanh``, ``relu``,
        ``leaky_relu``, ``identity`` (or ``softmax``), or an Activation such as ``LeakyReLU(0.2)``.
    output : str, optional
        σ of the output layer. Default: ``softmax`` with the cross-entropy cost, else ``sigmoid``.
    cost : str
        ``quadratic`` (the lessons') or ``cross_entropy``.
    init : str
        ``normal``, ``lecun``, ``xavier``, ``he``, or ``auto`` (the default): ``normal`` for
        sigmoid layers as in the lessons, ``he`` for ReLU, ``xavier`` otherwise.
    dropout : float
        Dropout rate after each hidden layer while training (0 for none).
    seed : int, optional
        Seeds the initial weights; the same seed gives the same network.
    dtype : str or dtype
        ``float32`` (the default, fast) or ``float64`` (for gradient checks).

    Examples
    --------
    >>> net = Network([784, 30, 10], seed=0)                 # the lessons' network
    >>> net = Network([784, 128, 10], activation="relu", output="softmax",
    ...               cost="cross_entropy", init="he", seed=0)
    >>> net.layers[0].W.shape, net.layers[0].b.shape
    ((128, 784), (128,))
    """

    def __init__(
        self,
        sizes,
        activation="sigmoid",
        output: str | None = None,
        cost: str = "quadratic",
        init: str = "auto",
        dropout: float = 0.0,
        seed: int | None = None,
        dtype="float32",
    ):
        sizes = inputs.checked_sizes(sizes)
        n_hidden = len(sizes) - 2
        one = isinstance(activation, (str, activations.Activation))
        hidden = [activation] * n_hidden if one else list(activation)
        if len(hidden) != n_hidden:
            raise ValueError(
                f"activation lists one name per hidden layer: {n_hidden} for sizes {sizes}; "
                f"got {len(hidden)}"
            )
        for name in hidden:
            activations.get(name)
        if init != "auto" and not callable(init) and init not in initializers.INITIALIZERS:
            raise ValueError(
                f"unknown init {init!r}; choose one of: auto, {', '.join(initializers.INITIALIZERS)}"
            )
        if dropout and not n_hidden:
            raise ValueError(
                f"dropout acts after hidden layers, and sizes {sizes} have none; give dropout=0 "
                f"or add a hidden layer"
            )
        cost_object = losses.get(cost)
        if output is None:
            output = "softmax" if cost_object.name == "cross_entropy" else "sigmoid"
        layer_activations = hidden + [output]
        rng = np.random.default_rng(seed)
        layers: list[Layer] = []
        for index, (n_in, n_out, name) in enumerate(zip(sizes[:-1], sizes[1:], layer_activations)):
            act = activations.get(name)
            layer_init = AUTO_INIT.get(act.name, "xavier") if init == "auto" else init
            layers.append(Dense(n_in, n_out, act, init=layer_init, rng=rng, dtype=dtype))
            if dropout and index < n_hidden:
                layers.append(Dropout(dropout, size=n_out))
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.dropout = float(dropout)
        self.seed = None if seed is None else int(seed)
        self._setup(layers, cost_object)

    @classmethod
    def from_layers(cls, layers: list[Layer], cost: str = "quadratic") -> "Network":
        """Build a network from a list of layers (Dense, Dropout) of matching sizes."""
        network = cls.__new__(cls)
        network.init = "custom"
        rates = [layer.rate for layer in layers if isinstance(layer, Dropout)]
        network.dropout = rates[0] if rates else 0.0
        network.seed = None
        network._setup(list(layers), losses.get(cost))
        return network

    def _setup(self, layers: list[Layer], cost: losses.Cost) -> None:
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        if not dense or not isinstance(layers[0], Dense) or not isinstance(layers[-1], Dense):
            raise ValueError("a network starts and ends with a Dense layer")
        for index, (below, above) in enumerate(zip(dense[:-1], dense[1:])):
            if below.n_out != above.n_in:
                raise ValueError(
                    f"layer {index + 1} takes {above.n_in} inputs but layer {index} has "
                    f"{below.n_out} neurons"
                )
        dtypes = {layer.dtype for layer in dense}
        if len(dtypes) != 1:
            raise ValueError(f"all layers must share one dtype; got {sorted(map(str, dtypes))}")
        cost.check_output(dense[-1].activation)
        self.layers = layers
        self.dense_layers = dense
        self.cost = cost
        self.dtype = dense[0].dtype
        self.sizes = [dense[0].n_in] + [layer.n_out for layer in dense]
        #: What a model file says about the network (classes, history, scores ...); see nnet.save.
        self.metadata: dict = {}
        self._bind_parameters()
        self._delta_capacity = 0

    def _bind_parameters(self) -> None:
        """Move every W and b into one flat array (weights first, then biases)."""
        dense = self.dense_layers
        n_weights = sum(layer.W.size for layer in dense)
        total = n_weights + sum(layer.b.size for layer in dense)
        self.parameters = np.empty(total, self.dtype)
        self.gradients = np.zeros(total, self.dtype)
        self.n_weights = n_weights
        weight_at, bias_at = 0, n_weights
        for layer in dense:
            w_end, b_end = weight_at + layer.W.size, bias_at + layer.b.size
            layer.bind(
                self.parameters[weight_at:w_end].reshape(layer.W.shape),
                self.parameters[bias_at:b_end],
                self.gradients[weight_at:w_end].reshape(layer.W.shape),
                self.gradients[bias_at:b_end],
            )
            weight_at, bias_at = w_end, b_end

    # -- what the network is ----------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def output_activation(self) -> activations.Activation:
        return self.dense_layers[-1].activation

    @property
    def hidden_activations(self) -> list[str]:
        return [layer.activation.name for layer in self.dense_layers[:-1]]

    @property
    def n_parameters(self) -> int:
        return self.parameters.size

    @property
    def class_names(self) -> list[str]:
        """The name of each answer: ``metadata["classes"]`` when it names them all, else "0",
        "1", ... (two answers, 0 and 1, for a network with a single output neuron)."""
        k = max(self.n_outputs, 2)
        classes = self.metadata.get("classes")
        if isinstance(classes, (list, tuple)) and len(classes) == k:
            return [str(name) for name in classes]
        return [str(index) for index in range(k)]

    def config(self) -> dict:
        """The constructor's arguments as a plain dict. For a network built from sizes with
        activations given by name, ``Network(**net.config())`` builds it again (the same
        parameters, given the same seed); one built ``from_layers`` is described, not rebuilt."""
        hidden = self.hidden_activations
        return {
            "sizes": list(self.sizes),
            "activation": hidden[0] if len(set(hidden)) == 1 else (hidden or "sigmoid"),
            "output": self.output_activation.name,
            "cost": self.cost.name,
            "init": self.init,
            "dropout": self.dropout,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }

    def get_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of every Dense layer's (W, b)."""
        return [(layer.W.copy(), layer.b.copy()) for layer in self.dense_layers]

    def set_weights(self, weights) -> None:
        """Set every Dense layer's (W, b) from a list like :meth:`get_weights` returns."""
        weights = list(weights)
        if len(weights) != len(self.dense_layers):
            raise ValueError(
                f"expected {len(self.dense_layers)} (W, b) pairs, one per Dense layer; got {len(weights)}"
            )
        pairs = [(np.asarray(W), np.asarray(b)) for W, b in weights]
        for index, (layer, (W, b)) in enumerate(zip(self.dense_layers, pairs)):
            if W.shape != layer.W.shape or b.shape != layer.b.shape:
                raise ValueError(
                    f"layer {index} needs W of shape {layer.W.shape} and b of shape "
                    f"{layer.b.shape}; got {W.shape} and {b.shape}"
                )
        for layer, (W, b) in zip(self.dense_layers, pairs):  # all checked: now assign
            layer.W, layer.b = W, b

    def copy(self) -> "Network":
        """An independent network with the same layers and parameters."""
        import copy

        twin = copy.deepcopy(self)
        twin._bind_parameters()  # deepcopy copies each view apart from its flat array: rejoin them
        return twin

    def summary(self) -> str:
        """A table of the layers, their shapes and parameter counts."""
        lines = [f"{'layer':<8}{'kind':<10}{'shape':<16}{'activation':<12}{'parameters':>12}"]
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                shape = f"{layer.n_in} -> {layer.n_out}"
                lines.append(
                    f"{index:<8}{'Dense':<10}{shape:<16}{layer.activation.name:<12}{layer.n_parameters:>12,}"
                )
            else:
                lines.append(f"{index:<8}{'Dropout':<10}{f'rate {layer.rate}':<16}{'':<12}{0:>12}")
        lines.append(f"cost: {self.cost.name}; {self.n_parameters:,} parameters; {self.dtype.name}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        hidden = ", ".join(dict.fromkeys(self.hidden_activations)) or "none"
        return (
            f"Network(sizes={self.sizes}, activation={hidden!r}, "
            f"output={self.output_activation.name!r}, cost={self.cost.name!r}, dtype={self.dtype.name})"
        )

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x, *, record: bool = False):
        """Feed x forward through every layer (in prediction mode: no dropout).

        Parameters
        ----------
        x : array of shape (n, n_inputs), or (n_inputs,) for one sample, or (n, 28, 28)
            Floats, or uint8 pixels (scaled to [0, 1]).
        record : bool
            Return a :class:`Trace` with every layer's z and a instead of only the output.

        Returns
        -------
        ndarray of shape (n, n_outputs), or a Trace
        """
        x = self.as_inputs(x)
        if record:
            trace = Trace(activations=[x], zs=[])
            a = x
            for layer in self.dense_layers:
                z = layer.weighted_input(a)
                a = layer.activation.value(z)
                trace.zs.append(z)
                trace.activations.append(a)
            return trace
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """The output for inputs checked by ``_checked_inputs``, in slices of EVALUATION_BATCH
        rows (uint8 pixels are scaled slice by slice, so the whole x is never copied)."""
        if len(x) > EVALUATION_BATCH:
            return np.concatenate([self._forward(part) for part in _slices(x)])
        a = self._scaled(x)
        for layer in self.dense_layers:
            z = np.matmul(a, layer.W.T)
            z += layer.b
            a = layer.activation.value(z, out=z)
        return a

    def predict_proba(self, x) -> np.ndarray:
        """The output layer's activations, (n, n_outputs): probabilities for a softmax output."""
        return self._forward(self._checked_inputs(x))

    def predict(self, x) -> np.ndarray:
        """The answer for each sample: the index of the brightest output neuron, int64 (n,).

        A network with one output neuron answers 1 where it exceeds 0.5, else 0.
        """
        return answers(self._forward(self._checked_inputs(x)))

    def evaluate(self, x, y) -> Scores:
        """The cost (prediction mode) and the fraction of samples predicted right."""
        x = self._checked_inputs(x)
        targets, labels = self.as_targets(y, len(x))
        cost_sum, correct = 0.0, 0
        output_layer = self.dense_layers[-1]
        for part, t, right in zip(_slices(x), _slices(targets), _slices(labels)):
            a = self._scaled(part)
            for layer in self.dense_layers[:-1]:
                a = layer.forward(a)
            z = output_layer.weighted_input(a)
            a = output_layer.activation.value(z)
            cost_sum += self.cost.total(z, a, t, output_layer.activation)
            correct += count_correct(a, right)
        return Scores(cost=float(cost_sum) / len(x), accuracy=correct / len(x))

    # -- backward ---------------------------------------------------------------------------
    def backprop(self, x, y, *, input_gradient: bool = False, rng: np.random.Generator | None = None):
        """The gradient of the batch-mean cost with respect to every parameter.

        Runs a training-mode forward pass (dropout on, drawing its masks from ``rng``) and
        backpropagates.

        Parameters
        ----------
        x : array of shape (n, n_inputs)
        y : int labels (n,) or targets (n, n_outputs)
        input_gradient : bool
            Also return ∂C/∂x, (n, n_inputs).

        Returns
        -------
        list of (dW, db)
            One pair per Dense layer, copies, shaped like (W, b). With ``input_gradient``, the
            tuple ``(grads, dx)``.
        """
        x = self.as_inputs(x)
        targets, _ = self.as_targets(y, len(x))
        if rng is None and self.dropout:
            rng = np.random.default_rng()
        _, dx = self._backprop(x, targets, rng, input_gradient=input_gradient)
        grads = [(layer.dW.copy(), layer.db.copy()) for layer in self.dense_layers]
        return (grads, dx.copy()) if input_gradient else grads

    def cost_value(self, x, y, *, training: bool = False, rng: np.random.Generator | None = None) -> float:
        """The batch-mean cost C on (x, y); with ``training=True``, with dropout masks from rng."""
        x = self.as_inputs(x)
        targets, _ = self.as_targets(y, len(x))
        if not training:
            return self.evaluate(x, targets).cost
        if rng is None and self.dropout:
            rng = np.random.default_rng()
        a = x
        for layer in self.layers:
            a = layer.forward(a, training=True, rng=rng)
        output = self.dense_layers[-1]
        return self.cost.value(output.z, a, targets, output.activation)

    def _backprop(self, x, targets, rng, *, input_gradient=False):
        """Forward (training mode) and backward on checked arrays; fills ``self.gradients``.

        Returns (cost, ∂C/∂x or None). The hot path of training: no checks, no copies.
        """
        a = x
        for layer in self.layers:
            a = layer.forward(a, training=True, rng=rng)
        output = self.dense_layers[-1]
        cost = self.cost.value(output.z, a, targets, output.activation)
        grad = self.cost.delta(output.z, a, targets, output.activation, out=self._delta_buffer(len(x)))
        last = len(self.layers) - 1
        for index in range(last, -1, -1):
            layer = self.layers[index]
            need_input = index > 0 or input_gradient
            if isinstance(layer, Dense):
                grad = layer.backward(grad, input_gradient=need_input, is_delta=index == last)
            else:
                grad = layer.backward(grad)
        return cost, grad

    def _delta_buffer(self, n: int) -> np.ndarray:
        if n > self._delta_capacity:
            self._delta = np.empty((n, self.n_outputs), self.dtype)
            self._delta_capacity = n
        return self._delta[:n]

    # -- training ---------------------------------------------------------------------------
    def fit(self, x, y, **settings):
        """Train by minibatch gradient descent; see :func:`nnet.training.fit` for the settings.

        Returns the :class:`~nnet.training.History`.
        """
        from .training import fit  # the training loop sits above the network

        return fit(self, x, y, **settings)

    # -- input checks -----------------------------------------------------------------------
    def as_inputs(self, x) -> np.ndarray:
        """Check x and return it as a C-contiguous (n, n_inputs) array of the network's dtype.

        uint8 pixels are scaled to [0, 1]; (n_inputs,) is one sample; (n, 28, 28) is flattened.
        Raises ValueError naming the problem: wrong width (with the first layer's size),
        NaN or infinity (with the row), a dtype that is not numeric.
        """
        return self._scaled(self._checked_inputs(x))

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        """Checked inputs as floats: uint8 pixels divided by 255, floats as they are."""
        if x.dtype == np.uint8:
            return np.multiply(x, self.dtype.type(1.0 / 255.0), dtype=self.dtype)
        return x

    def _checked_inputs(self, x) -> np.ndarray:
        """x as a C-contiguous 2-D array of uint8 pixels (kept as they are) or of the network's
        float dtype, checked as :meth:`as_inputs` describes."""
        if (  # the common case, checked in as few steps as possible: a float batch ready to use
            type(x) is np.ndarray
            and x.dtype == self.dtype
            and x.ndim == 2
            and x.shape[1] == self.n_inputs
            and len(x)
            and x.flags.c_contiguous
            and np.isfinite(x).all()
        ):
            return x
        first = self.dense_layers[0]
        return inputs.checked_inputs(x, self.dtype, f"layer 0 (Dense {first.n_in} -> {first.n_out})", self.n_inputs)

    def as_targets(self, y, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Check y and return ``(targets, labels)``.

        ``targets`` is (n, n_outputs) in the network's dtype (one-hot rows for int labels);
        ``labels`` is int64 (n,), the index each sample should light up (argmax of the targets).
        A network with one output takes labels 0 or 1; cross-entropy targets must be
        probabilities (rows summing to 1 for a softmax output).
        """
        probabilities = None
        if self.cost.name == "cross_entropy":
            probabilities = "rows" if self.output_activation.name == "softmax" else "values"
        return inputs.checked_targets(y, n, self.n_outputs, self.dtype, probabilities)


def _slices(array: np.ndarray):
    """array in consecutive slices of EVALUATION_BATCH rows."""
    return (array[start : start + EVALUATION_BATCH] for start in range(0, len(array), EVALUATION_BATCH))


def answers(output: np.ndarray) -> np.ndarray:
    """The answer in each row of an output layer's activations (n, k), int64 (n,): the index of
    the brightest neuron, or, for a single output neuron, 1 where it exceeds 0.5, else 0."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0.5).astype(np.int64)
    return output.argmax(axis=1)


def count_correct(output: np.ndarray, labels: np.ndarray) -> int:
    """How many rows of ``output`` (n, k) answer their label (n,)."""
    return int(np.count_nonzero(answers(output) == labels))
