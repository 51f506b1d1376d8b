"""The network: a stack of layers, the forward pass, and backpropagation.

    a⁽⁰⁾ = x
    a⁽ˡ⁾ = σ(W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)        for l = 1 ... L
    output = a⁽ᴸ⁾                       the brightest output neuron is the answer

:meth:`Network.backprop_batch` is backpropagation, the lessons' four equations in their order,
for a batch of rows (C is the batch's mean cost, so every gradient is a mean over its rows):

    BP1  δᴸ = ∇ₐC ⊙ σ'(zᴸ)                   the output layer's error, from the cost
    BP2  δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)          the error moves back one layer
    BP3  ∂C/∂bˡ = δˡ
    BP4  ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ

Every parameter of the network lives in one flat array, ``network.parameters``: all the
weights first, then all the biases, each layer's ``W`` and ``b`` a view into it (and the
gradients likewise in ``network.gradients``). An optimizer then updates the whole network with
a handful of array operations, however many layers it has.

Layers are numbered from 0, the first hidden layer, to L - 1, the output layer, everywhere: in
model files (``layers.0.W``), errors, ``nnet info``, the pictures and the lab. Their names come
from :func:`layer_name`: "hidden 1", "hidden 2", ..., "output".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from . import data, losses, metrics, training
from .layers import Layer, checked_sizes, dense_layers
from .distributed import TALLY
from .speed import Workspace

#: Inputs are fed forward by predict and evaluate in slices of at most EVALUATION_BATCH rows, and
#: of at most EVALUATION_NUMBERS numbers in the widest layer's output (a conv layer's maps are wide):
EVALUATION_BATCH, EVALUATION_NUMBERS = 4096, 1 << 22  # their memory is bounded whatever the size of x
SPARE_GRADIENTS = len(TALLY)  #: free entries after the gradients (``gradient_buffer``), for nnet.distributed's tally


def layer_name(index: int, n_layers: int) -> str:
    """The name of layer ``index`` (from 0) of ``n_layers``: "hidden 1", "hidden 2", ..., "output"."""
    return "output" if index == n_layers - 1 else f"hidden {index + 1}"


@dataclass
class Trace:
    """Everything a forward pass (and a backward pass) computed, for looking inside.

    Attributes
    ----------
    activations : list of ndarray
        ``[a⁽⁰⁾ = x, a⁽¹⁾, ..., a⁽ᴸ⁾]``: the input (scaled to floats) and each layer's
        activations, (n, size).
    zs : list of ndarray
        ``[z⁽¹⁾, ..., z⁽ᴸ⁾]``: each layer's weighted input, (n, size).
    deltas : list of ndarray, or None
        From :meth:`Network.backprop` with ``record=True``: ``[δ⁽¹⁾, ..., δ⁽ᴸ⁾]``, each layer's
        error ∂C/∂z, (n, size), where C is the batch's mean cost.
    gradients : list of tuple, or None
        With ``deltas``: each layer's (∂C/∂W, ∂C/∂b).
    cost : float or None
        With ``deltas``: the batch's mean cost C.
    masks : list of (ndarray or None), or None
        With ``deltas``: each layer's dropout mask (0 where a neuron was dropped, 1 / (1 - rate)
        where it was kept), or None for a layer without dropout.
    """

    activations: list[np.ndarray]
    zs: list[np.ndarray]
    deltas: list[np.ndarray] | None = None
    gradients: list[tuple[np.ndarray, ...]] | None = None
    cost: float | None = None
    masks: list[np.ndarray | None] | None = None

    @property
    def output(self) -> np.ndarray:
        """a⁽ᴸ⁾, the output layer's activations, (n, n_outputs)."""
        return self.activations[-1]


@dataclass(frozen=True)
class Scores:
    """The cost and accuracy of a network on a dataset (R² instead for regression)."""

    cost: float
    accuracy: float | None  # None for a regression network
    r2: float | None = None  # None for a classifier


class Network:
    """A feed-forward network.

    Parameters
    ----------
    layers : sequence of int, or of Layer
        Neurons per layer, input first: ``[784, 30, 10]`` is 784 inputs, 30 hidden neurons and
        10 outputs. Or the layers themselves (``[Dense(784, 30), Dense(30, 10)]``), each built
        with its own activation, initial weights and dropout; then only ``cost`` applies.
    activation : str, Activation, or a list of them
        σ of the hidden layers (one, or one per hidden layer): ``sigmoid``, ``tanh``, ``relu``,
        ``leaky_relu``, ``identity`` (or ``softmax``), or an Activation such as ``LeakyReLU(0.2)``.
    output : str, optional
        σ of the output layer. Default: ``softmax`` with the cross-entropy cost, else ``sigmoid``.
    cost : str or Cost
        ``quadratic`` (the lessons'), ``cross_entropy``, or for regression ``mae``, ``huber``.
    init : str
        ``normal``, ``lecun``, ``xavier``, ``he``, or ``auto`` (the default): ``normal`` for
        sigmoid layers as in the lessons, ``he`` for ReLU, ``xavier`` otherwise.
    dropout : float
        The dropout rate of every hidden layer while training (0 for none).
    seed : int, optional
        Seeds the initial weights; the same seed gives the same network.
    dtype : str or dtype
        ``float32`` (the default, fast) or ``float64`` (for gradient checks).
    task : str, optional
        ``classification`` or ``regression`` (``predict`` gives values); by default regression
        for an ``identity`` output, else classification (:func:`nnet.data.task_for`).

    The defaults are the lessons'. For a table of your own, ``nnet.sklearn``'s NNetClassifier
    and NNetRegressor choose settings made for tables (ReLU, Adam, standardised inputs).

    Attributes
    ----------
    layers : list of Layer
    cost : Cost
    sizes : list of int
        Values per sample into the first layer, then out of each layer.
    parameters, gradients : ndarray
        Every parameter, and its gradient, in one flat array (each layer's arrays are views).
    metadata : dict
        What a model file says about the network (classes, history, scores ...); see nnet.save.

    Examples
    --------
    >>> net = Network([784, 30, 10], seed=0)                 # the lessons' network
    >>> net = Network([784, 128, 10], activation="relu", output="softmax",
    ...               cost="cross_entropy", init="he", seed=0)
    >>> net.layers[0].W.shape, net.layers[0].b.shape
    ((128, 784), (128,))
    """

    def __init__(self, layers, activation="sigmoid", output: str | None = None, cost: str = "quadratic",
                 init: str = "auto", dropout: float = 0.0, seed: int | None = None, dtype="float32",
                 task: str | None = None):
        cost = losses.get(cost)
        given = list(layers) if isinstance(layers, (list, tuple)) else layers
        if isinstance(given, list) and given and all(isinstance(layer, Layer) for layer in given):
            built = (activation, output, init, dropout, seed, dtype) != ("sigmoid", None, "auto", 0.0, None, "float32")
            if built:
                raise ValueError("with layers given as Layer objects, set activation, init, dropout, seed and "
                                 "dtype on the layers; Network takes only cost and task")
            self.init, self.seed = "custom", None
        else:
            if output is None:
                output = "softmax" if cost.name == "cross_entropy" else "sigmoid"
            given = dense_layers(checked_sizes(layers), activation, output, init, dropout, seed, dtype)
            self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
            self.seed = None if seed is None else int(seed)
        self._set_layers(given, cost, task)

    def _set_layers(self, layers: list[Layer], cost: losses.Cost, task: str | None = None) -> None:
        if getattr(layers[0], "input_shape", None) is None:
            raise ValueError(f"layer 0 ({type(layers[0]).__name__}) needs the shape of one input sample: give it "
                             f"input_shape, such as input_shape=(1, 28, 28)")
        for index, (below, above) in enumerate(zip(layers[:-1], layers[1:])):
            if getattr(above, "input_shape", None) is None:  # a layer that takes its shape from below
                above.build(below.output_shape, below.dtype)
            if below.output_shape != above.input_shape:
                if len(below.output_shape) == len(above.input_shape) == 1:
                    raise ValueError(f"layer {index + 1} takes {above.n_in} inputs but layer {index} has {below.n_out} neurons")
                raise ValueError(f"layer {index + 1} takes inputs of shape {above.input_shape} but layer {index} "
                                 f"gives {below.output_shape}")
        if layers[-1].dropout:
            raise ValueError("the output layer cannot have dropout: it is what the cost compares with the targets")
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) != 1:
            raise ValueError(f"all layers must share one dtype; got {sorted(map(str, dtypes))}")
        cost.check_output(layers[-1].activation)
        self.layers = layers
        self.cost = cost
        self.dtype = layers[0].dtype
        self.input_shape = layers[0].input_shape
        self.sizes = [layers[0].n_in] + [layer.n_out for layer in layers]
        self._slice_rows = max(1, min(EVALUATION_BATCH, EVALUATION_NUMBERS // max(self.sizes)))  # predict's, evaluate's
        self.task = data.task_for(task, layers[-1].activation.name)
        self.metadata: dict = {}
        self._targets = data.target_rule(cost.name, layers[-1].activation.name)
        self._bind_parameters()

    def _bind_parameters(self) -> None:
        """Move every parameter into one flat array: the decayed ones (weights) first."""
        arrays = [(layer, name) for layer in self.layers for name in layer.parameters]
        arrays.sort(key=lambda pair: pair[1] not in pair[0].decayed)  # stable: layer order kept
        total = sum(layer.parameters[name].size for layer, name in arrays)
        self.parameters = np.empty(total, self.dtype)
        self.gradient_buffer = np.zeros(total + SPARE_GRADIENTS, self.dtype)  # one message in nnet.distributed
        self.gradients = self.gradient_buffer[:total]
        self.n_decayed = sum(layer.parameters[name].size for layer, name in arrays if name in layer.decayed)
        at = 0
        for layer, name in arrays:
            shape = layer.parameters[name].shape
            end = at + layer.parameters[name].size
            self.parameters[at:end] = layer.parameters[name].ravel()
            layer.parameters[name] = self.parameters[at:end].reshape(shape)
            layer.gradients[name] = self.gradients[at:end].reshape(shape)
            at = end

    # -- what the network is ----------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def n_parameters(self) -> int:
        return self.parameters.size

    @property
    def class_names(self) -> list[str]:
        """The name of each answer: ``metadata["classes"]`` when it names them all, else "0",
        "1", ... (two answers, 0 and 1, for a network with a single output neuron)."""
        k = data.n_answers(self.n_outputs)
        classes = self.metadata.get("classes")
        if isinstance(classes, (list, tuple)) and len(classes) == k:
            return [str(name) for name in classes]
        return [str(index) for index in range(k)]

    def describe(self) -> dict:
        """The network as plain data: the description a model file keeps and ``nnet info``, the
        pictures and the lab show. ``layers`` holds each layer's index, name and
        :meth:`Layer.describe`."""
        n = len(self.layers)
        return {
            "sizes": list(self.sizes),
            "input_shape": list(self.input_shape),
            "layers": [{"index": i, "name": layer_name(i, n), **layer.describe()} for i, layer in enumerate(self.layers)],
            "cost": self.cost.name,
            "task": self.task,
            "dtype": self.dtype.name,
            "parameters": int(self.n_parameters),
            **({"cost_settings": self.cost.settings()} if self.cost.settings() else {}),
        }

    def copy(self) -> Network:
        """An independent network with the same layers and parameters."""
        twin = copy.deepcopy(self)
        twin._bind_parameters()  # deepcopy copies each view apart from its flat array: rejoin them
        return twin

    def __repr__(self) -> str:
        hidden = ", ".join(dict.fromkeys(layer.activation.name for layer in self.layers[:-1])) or "none"
        return (f"Network(sizes={self.sizes}, activation={hidden!r}, output={self.layers[-1].activation.name!r}, "
                f"cost={self.cost.name!r}, task={self.task!r}, dtype={self.dtype.name})")

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x, *, record: bool = False):
        """Feed x forward through every layer (in prediction mode: no dropout): the output layer's
        activations, (n, n_outputs) (for a softmax output, a probability per class); with
        ``record``, a :class:`Trace` of every layer's z and a instead.

        x : (n, n_inputs), or (n_inputs,) for one sample, or (n, 28, 28): floats, or uint8 pixels
        (scaled to [0, 1]).
        """
        x = data.as_inputs(x, self.input_shape, self.dtype, self._reader)
        if record:
            return self._trace(data.scaled(x, self.dtype))
        if len(x) > self._slice_rows:
            return np.concatenate([self.forward(part) for part in _slices(x, self._slice_rows)])
        a = data.scaled(x, self.dtype)
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def _trace(self, x: np.ndarray) -> Trace:
        """Feed scaled inputs forward keeping every layer's z and a."""
        zs, activations = [], [x]
        for layer in self.layers:
            z = np.empty((len(x), *layer.output_shape), self.dtype)
            activations.append(layer.forward(activations[-1], z, np.empty_like(z)))
            zs.append(z)
        return Trace(activations=activations, zs=zs)

    def predict(self, x) -> np.ndarray:
        """The answer for each sample. A classifier's: int64 (n,), the index of the brightest
        output neuron (for a single output neuron: 1 where it exceeds 0.5, else 0). A regression
        network's: its output values, (n,) for one output, else (n, n_outputs). See
        :func:`nnet.data.predictions`."""
        return data.predictions(self.forward(x), self.task)

    def evaluate(self, x, y) -> Scores:
        """The cost (prediction mode) and the fraction answered right, or for regression R²."""
        examples = self.examples(x, y)
        cost_sum, correct, r2 = 0.0, 0, None if examples.classifies else metrics.RunningR2()
        labels = examples.labels if examples.classifies else examples.targets
        for part, targets, truth in zip(*(_slices(array, self._slice_rows) for array in (examples.x, examples.targets, labels))):
            trace = self._trace(data.scaled(part, self.dtype))
            cost_sum += self.cost.total(trace.zs[-1], trace.output, targets, self.layers[-1].activation)
            correct += examples.count_correct(trace.output, truth)
            if r2 is not None:
                r2.add(targets, trace.output)
            trace = None  # before the next slice is scaled: one slice's arrays at a time
        accuracy = correct / len(examples) if examples.classifies else None
        return Scores(cost=float(cost_sum) / len(examples), accuracy=accuracy, r2=None if r2 is None else r2.value())

    # -- backward ---------------------------------------------------------------------------
    def backprop(self, x, y, *, record: bool = False, input_gradient: bool = False, rng: np.random.Generator | None = None,
                 sample_weight=None):
        """The gradient of the batch's mean cost with respect to every parameter.

        Runs a training-mode forward pass (dropout on, drawing its masks from ``rng``) and
        backpropagates (:meth:`backprop_batch`).

        Parameters
        ----------
        x : array of shape (n, n_inputs)
        y : int labels (n,) or targets (n, n_outputs)
        record : bool
            Return a :class:`Trace` with every layer's z, a and δ, the gradients and the cost.
        input_gradient : bool
            Also return ∂C/∂x, (n, n_inputs).
        sample_weight : array of shape (n,), optional
            Row weights: C is then the weighted mean cost.

        Returns
        -------
        list of tuple
            One ``(∂C/∂W, ∂C/∂b)`` per layer, copies, shaped like (W, b). With ``record``, a
            Trace instead; with ``input_gradient``, the pair ``(that, ∂C/∂x)``.
        """
        examples = self.examples(x, y, sample_weight)
        if rng is None and any(layer.dropout for layer in self.layers):
            rng = np.random.default_rng()
        space = Workspace(self.layers, len(examples), self.n_outputs, self.dtype, weighted=examples.weights is not None)
        examples.gather(np.arange(len(examples)), space.x, space.targets, space.labels, space.weights)
        cost = self.backprop_batch(space, rng)
        gradients = [tuple(gradient.copy() for gradient in layer.gradients.values()) for layer in self.layers]
        result = gradients
        if record:
            masks = [cache["mask"][: len(examples)] if layer.dropout else None
                     for layer, cache in zip(self.layers, space.caches)]
            result = Trace(activations=[space.x, *space.activations], zs=space.zs, deltas=space.deltas,
                           gradients=gradients, cost=cost, masks=masks)
        if input_gradient:
            return result, self.layers[0].backpropagate(space.deltas[0], cache=space.caches[0])
        return result

    def backprop_batch(self, space: Workspace, rng: np.random.Generator | None = None, mean_over=None) -> float:
        """Backpropagation on the minibatch in ``space`` (:class:`nnet.speed.Workspace`: x and
        targets filled in by the data path): fills ``self.gradients`` and returns the batch's
        mean cost C (weighted by ``space.weights`` if any; over ``mean_over`` rows for a shard of a
        larger batch, see :mod:`nnet.distributed`). The hot path: no checks, copies or allocation."""
        layers, zs, activations, deltas, caches = self.layers, space.zs, space.activations, space.deltas, space.caches
        # Feedforward, keeping each layer's zˡ = Wˡ aˡ⁻¹ + bˡ and aˡ = σ(zˡ) for the way back.
        inputs = [space.x]  # what each layer reads: x, then the output of the layer below
        for layer, z, a, cache in zip(layers, zs, activations, caches):
            inputs.append(layer.forward(inputs[-1], z, a, cache, rng))
        output, targets, weights = layers[-1].activation, space.targets, space.weights
        cost = self.cost.value(zs[-1], activations[-1], targets, output, weights, mean_over)

        # BP1  δᴸ = ∇ₐC ⊙ σ'(zᴸ)        the output error, from the cost (which holds the 1/n)
        delta = self.cost.delta(zs[-1], activations[-1], targets, output, deltas[-1], weights, mean_over)
        for l in range(len(layers) - 1, -1, -1):
            layer = layers[l]
            # BP3  ∂C/∂bˡ = δˡ   and   BP4  ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ,   summed over the batch's rows
            layer.gradient(delta, inputs[l], caches[l])
            if l:
                # BP2  δˡ⁻¹ = ((Wˡ)ᵀ δˡ) ⊙ σ'(zˡ⁻¹)      the error moves back one layer
                below = layers[l - 1]
                delta = below.error(layer.backpropagate(delta, deltas[l - 1], caches[l]),
                                    zs[l - 1], activations[l - 1], caches[l - 1])
        return cost

    # -- learning ---------------------------------------------------------------------------
    fit = training.fit  # net.fit(x, y, ...) is nnet.training.fit(net, x, y, ...)

    def examples(self, x, y, sample_weight=None) -> data.Examples:
        """(x, y) checked once, for training: uint8 pixels kept as they are, targets one-hot
        for a classifier's labels, and the rows' weights if given (see :mod:`nnet.data`).
        Raises ValueError naming what is wrong and where."""
        x = data.as_inputs(x, self.input_shape, self.dtype, self._reader)
        targets, labels = data.as_targets(y, len(x), self.n_outputs, self.dtype, self._targets, self.task)
        return data.Examples(x, targets, labels, self.dtype, data.as_weights(sample_weight, len(x), self.dtype))

    def _reader(self) -> str:
        first = self.layers[0]
        return f"layer 0 ({type(first).__name__} {first.n_in} -> {first.n_out})"


def _slices(array: np.ndarray, rows: int):
    """array in consecutive slices of ``rows`` rows."""
    return (array[start : start + rows] for start in range(0, len(array), rows))
