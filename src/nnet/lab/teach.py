"""Teaching the network: one example's backpropagation, ten examples' average, one step.

The lessons' learning, as the lab's Teach view shows it:

- the **cost** of one example: how wrong the output is for the digit it should be, and the
  **target** beside the output: what we want against what we got;
- on every neuron, its error ``δ = ∂C/∂z`` (:meth:`nnet.Network.backprop` with ``record=True``)
  and its **desired nudge**, how the cost wants its activation to move. For the output layer
  that is ``y - a``, what we want minus what we got (exactly ``-∂C/∂a`` under the lessons'
  quadratic cost; under cross-entropy it is ``-δ``, the nudge that cost asks of z). For a hidden
  layer it is ``-∂C/∂a = -(δ W)`` of the layer above: the desired nudges of every neuron above
  added up through their weights, layer after layer back through the network, hence
  *back*propagation;
- for a neuron, the gradient of its incoming weights ``∂C/∂w = δ · a_prev``: for the first
  layer, the example's pixels times the neuron's δ, which pixels' weights this example wants
  changed, and which way;
- ten examples: each one's desired change of a neuron's weights, ``-∂C_x/∂w``, side by side,
  and their average. "When we average these desired changes, we get the negative gradient":
  the direction one step of gradient descent takes;
- the **step**, ``w ← w - η ∂C/∂w`` (the library's ``sgd``), taken on a :class:`Sandbox`: a copy
  of the served network that can be stepped, edited weight by weight, undone and reset, and
  never replaces the served model.

Every function returns JSON-ready dicts. Inputs are one sample ``(n_inputs,)`` or a few rows
``(n, n_inputs)``, uint8 pixels or floats in [0, 1], already checked (:mod:`nnet.lab.payloads`).
"""

from __future__ import annotations

import threading

import numpy as np

from nnet import optimizers
from nnet.data import answers
from nnet.network import Network, layer_name

from .explain import ACTIVATION_RANGE, NonFiniteError, rounded

#: Significant digits kept for δ, nudges and gradients (tiny numbers matter here: a δ of 3e-6 is
#: not 0, it is a neuron that barely affects this example's cost).
DIGITS = 5
#: The most changes a sandbox can undo (each keeps a copy of every parameter).
MAX_UNDO = 20
#: The largest |weight| a person may type in.
MAX_EDIT = 100.0


def significant(values, digits: int = DIGITS) -> list[float]:
    """A flat list of floats keeping ``digits`` significant digits of the array's largest |value|
    (so a layer's small deltas survive, in proportion to its largest)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    top = float(np.abs(values).max()) if values.size else 0.0
    if top == 0.0:
        return values.tolist()
    return np.round(values, max(0, digits - 1 - int(np.floor(np.log10(top))))).tolist()


def without_dropout(network: Network) -> Network:
    """A copy of ``network`` with no dropout: its backprop is the plain lessons' one (and the
    same every time), and it has its own gradient buffers (requests may run at once)."""
    copy = network.copy()
    for layer in copy.layers:
        layer.dropout = 0.0
    return copy


def _one(x: np.ndarray) -> np.ndarray:
    return x.reshape(1, -1) if x.ndim == 1 else x


def _check_neuron(network: Network, layer: int, index: int) -> None:
    """IndexError naming what exists when ``layer``/``index`` do not."""
    n = len(network.layers)
    if not 0 <= layer < n:
        raise IndexError(f"layer {layer} does not exist: this network has layers 0..{n - 1}")
    size = network.layers[layer].n_out
    if not 0 <= index < size:
        raise IndexError(f"neuron {index} does not exist: layer {layer} ({layer_name(layer, n)}) has neurons 0..{size - 1}")


def _finite(trace, what: str) -> None:
    arrays = [*trace.zs, *trace.activations[1:], *trace.deltas, np.array(trace.cost)]
    if not all(np.isfinite(array).all() for array in arrays):
        raise NonFiniteError(f"{what} made an infinite or NaN value: the weights are too large for this input "
                             f"(undo the last step, or reset the sandbox)")


def incoming_gradient(network: Network, gradients, layer: int, index: int, input_shape) -> dict:
    """∂C/∂w of neuron ``index`` of ``layer``'s incoming weights and ∂C/∂b of its bias.

    ``shape`` is the input image's for layer 0 (the gradient draws as a picture over the pixels),
    else ``[n_in]``. ``gradients`` is what ``network.backprop`` returned, one (dW, db) per layer.
    """
    _check_neuron(network, layer, index)
    dW, db = gradients[layer]
    first = layer == 0 and int(np.prod(input_shape)) == network.layers[0].n_in
    return {
        "layer": layer,
        "index": index,
        "shape": list(input_shape) if first else [network.layers[layer].n_in],
        "weights": significant(dW[index]),
        "bias": significant(db[index : index + 1])[0],
        "abs_max": float(np.abs(dW[index]).max()),
    }


def backprop_one(network: Network, x: np.ndarray, label: int, *, neurons=(), input_shape=(28, 28),
                 classes=None) -> dict:
    """One example through the network and back: ``POST /api/backprop``.

    Parameters
    ----------
    x : ndarray of shape (n_inputs,), uint8 pixels or floats in [0, 1]
    label : int
        The answer it should give (0 .. k-1).
    neurons : iterable of (layer, index)
        The neurons whose incoming weights' gradient to return.

    Returns
    -------
    dict with ``cost`` (C of this example), ``cost_name``, ``target`` and ``output`` (k values
    each), ``answer`` (the brightest output neuron) and ``label``, ``input``, ``layers`` (per
    layer: index, name, size, activation, range, ``z``, ``a``, ``delta`` = ∂C/∂z, ``nudge``, see
    the module docstring) and ``gradients`` (one :func:`incoming_gradient` per requested neuron).

    Raises
    ------
    IndexError
        A requested neuron does not exist.
    NonFiniteError
        The network overflows on this input.
    """
    neurons = [(int(layer), int(index)) for layer, index in neurons]
    for layer, index in neurons:
        _check_neuron(network, layer, index)
    with np.errstate(over="ignore", invalid="ignore"):
        trace = network.backprop(_one(x), np.array([label]), record=True)
    _finite(trace, "this example")
    target = network.examples(_one(x), np.array([label])).targets[0]
    n = len(network.layers)
    layers = []
    for index, layer in enumerate(network.layers):
        if index == n - 1:
            nudge = target - trace.activations[-1][0]  # what we want minus what we got
        else:  # -∂C/∂a: the desired nudges of the layer above, added up through its weights
            nudge = -network.layers[index + 1].backpropagate(trace.deltas[index + 1])[0]
        layers.append({
            "index": index,
            "name": layer_name(index, n),
            "size": layer.n_out,
            "activation": layer.activation.name,
            "range": ACTIVATION_RANGE.get(layer.activation.name, (None, None)),
            "z": rounded(trace.zs[index][0]),
            "a": rounded(trace.activations[index + 1][0]),
            "delta": significant(trace.deltas[index][0]),
            "nudge": significant(nudge),
        })
    answer = int(answers(trace.output)[0])
    classes = list(classes) if classes is not None else network.class_names
    return {
        "label": int(label),
        "label_name": classes[label] if label < len(classes) else str(label),
        "cost": float(trace.cost),
        "cost_name": network.cost.name,
        "target": rounded(target),
        "output": rounded(trace.output[0], 6),
        "answer": answer,
        "answer_name": classes[answer] if answer < len(classes) else str(answer),
        "input": rounded(trace.activations[0][0], 3),
        "layers": layers,
        "gradients": [incoming_gradient(network, trace.gradients, layer, index, input_shape)
                      for layer, index in neurons],
    }


def desired_changes(network: Network, x: np.ndarray, labels: np.ndarray, layer: int, index: int | None,
                    input_shape=(28, 28)) -> dict:
    """Each example's desired change of one neuron's incoming weights, and their average.

    Every example is backpropagated on its own (its own cost C_x); its desired change is
    ``-∂C_x/∂w`` (and ``-∂C_x/∂b``). The average of those is the negative gradient of the mean
    cost ``C = (1/n) Σ_x C_x``: exactly what ``network.backprop(x, labels)`` gives for the
    batch, and the direction of one step of gradient descent on these examples.

    Parameters
    ----------
    x : ndarray of shape (n, n_inputs)
    labels : int ndarray of shape (n,)
    layer, index : the neuron; ``index`` None: the neuron of ``layer`` these examples most want
        changed (the largest summed |∂C_x/∂w|: a neuron that is off for all of them wants nothing)

    Returns
    -------
    dict with ``examples`` (per example: ``label``, ``answer``, ``cost``, ``weights`` and ``bias``
    = its desired change, ``outputs`` = its desired nudges of the output layer, y - a) and
    ``average`` (``weights``, ``bias``, ``cost``: the mean of the examples'), ``shape`` and
    ``abs_max`` (the largest |value| among them all, for one colour scale).
    """
    _check_neuron(network, layer, 0 if index is None else index)
    x = _one(x)
    labels = np.asarray(labels, dtype=np.int64)
    weights, biases, each = [], [], []
    for row in range(len(x)):
        with np.errstate(over="ignore", invalid="ignore"):
            trace = network.backprop(x[row : row + 1], labels[row : row + 1], record=True)
        _finite(trace, f"example {row}")
        dW, db = trace.gradients[layer]
        target = network.examples(x[row : row + 1], labels[row : row + 1]).targets[0]
        weights.append(-dW.astype(np.float64))
        biases.append(-db.astype(np.float64))
        each.append({"label": int(labels[row]), "answer": int(answers(trace.output)[0]), "cost": float(trace.cost),
                     "outputs": significant(target - trace.output[0])})
    if index is None:
        index = int(np.abs(np.array(weights)).sum(axis=(0, 2)).argmax())
    changes = np.array([change[index] for change in weights])
    biases = [float(bias[index]) for bias in biases]
    average = changes.mean(axis=0)
    first = layer == 0 and int(np.prod(input_shape)) == network.layers[0].n_in
    for entry, change, bias in zip(each, changes, biases):
        entry["weights"] = significant(change)
        entry["bias"] = bias
    return {
        "layer": layer,
        "index": index,
        "shape": list(input_shape) if first else [network.layers[layer].n_in],
        "examples": each,
        "average": {"weights": significant(average), "bias": float(np.mean(biases)),
                    "cost": float(np.mean([entry["cost"] for entry in each]))},
        "abs_max": float(np.abs(changes).max()),
    }


class Sandbox:
    """A copy of the served network for the Teach view: step, edit a weight, undo, reset.

    The copy has no dropout (its steps are the plain lessons' steps). Changes never touch the
    served network. Thread-safe: each method holds the sandbox's lock.

    Attributes
    ----------
    network : Network
        The copy (read it under :attr:`lock`, or through the methods).
    based_on : int
        The served model's version it was copied from.
    version : int
        Counts every change (steps, edits, undos, resets), so a page can tell what it shows.
    """

    def __init__(self, network: Network, based_on: int):
        self.lock = threading.RLock()
        self.version = 0
        self.reset(network, based_on)

    def reset(self, network: Network, based_on: int) -> dict:
        """Start again from a fresh copy of ``network`` (the served model, version ``based_on``)."""
        with self.lock:
            self.network, self.based_on = without_dropout(network), based_on
            self.steps = self.edits = 0
            self._undo: list[tuple[str, str, np.ndarray]] = []  # (kind, what, the parameters before)
            self.version += 1
            return self.status()

    def status(self) -> dict:
        with self.lock:
            return {"version": self.version, "based_on": self.based_on, "steps": self.steps, "edits": self.edits,
                    "undo": [what for _, what, _ in reversed(self._undo)]}

    def _remember(self, kind: str, what: str) -> None:
        self._undo.append((kind, what, self.network.parameters.copy()))
        del self._undo[:-MAX_UNDO]
        if kind == "step":
            self.steps += 1
        else:
            self.edits += 1
        self.version += 1

    def step(self, x: np.ndarray, labels, learning_rate: float, what: str = "a step") -> dict:
        """One step of gradient descent on these examples: ``w ← w - η ∂C/∂w`` for every weight
        and bias, C their mean cost. Returns the output and cost of each example before and after.

        Raises NonFiniteError (and undoes the step) if it made a weight infinite or NaN.
        """
        x, labels = _one(x), np.asarray(labels, dtype=np.int64).reshape(-1)
        optimizer = optimizers.get("sgd", learning_rate=learning_rate)
        with self.lock, np.errstate(over="ignore", invalid="ignore"):
            network = self.network
            before, cost_before = network.forward(x).copy(), network.evaluate(x, labels).cost
            network.backprop(x, labels)  # fills network.gradients, the flat ∂C/∂w of every parameter
            self._remember("step", what)
            optimizer.bind(network.parameters, network.gradients, network.n_decayed)
            optimizer.step()
            after = network.forward(x)
            if not (np.isfinite(network.parameters).all() and np.isfinite(after).all()):
                self._pop()
                raise NonFiniteError(f"a step with learning rate {learning_rate:g} made the network overflow "
                                     f"(infinite or NaN values); it was undone: try a smaller learning rate")
            cost_after = network.evaluate(x, labels).cost
            return {**self.status(), "learning_rate": float(learning_rate), "labels": labels.tolist(),
                    "before": [rounded(row, 6) for row in before], "after": [rounded(row, 6) for row in after],
                    "cost_before": float(cost_before), "cost_after": float(cost_after)}

    def edit(self, layer: int, index: int, source: int | None, value: float) -> dict:
        """Set one weight (into neuron ``index`` of ``layer`` from neuron ``source`` of the layer
        below) or, with ``source=None``, the neuron's bias, to ``value``. Returns the old value."""
        value = float(value)
        if not np.isfinite(value) or abs(value) > MAX_EDIT:
            raise ValueError(f"a weight must be a number in [-{MAX_EDIT:g}, {MAX_EDIT:g}]; got {value!r}")
        with self.lock:
            _check_neuron(self.network, layer, index)
            target = self.network.layers[layer]
            if source is not None and not 0 <= source < target.n_in:
                raise IndexError(f"input {source} does not exist: layer {layer} has inputs 0..{target.n_in - 1}")
            where = f"bias of {layer_name(layer, len(self.network.layers))} neuron {index}" if source is None else \
                f"weight {source} → {index} of {layer_name(layer, len(self.network.layers))}"
            self._remember("edit", f"set the {where}")
            array, position = (target.b, index) if source is None else (target.W, (index, source))
            old = float(array[position])
            array[position] = value
            return {**self.status(), "old": old, "new": float(array[position])}

    def undo(self) -> dict:
        """Take back the last step or edit; ValueError if there is none."""
        with self.lock:
            if not self._undo:
                raise ValueError("nothing to undo: the sandbox is as it was reset")
            what = self._pop()
            return {**self.status(), "undone": what}

    def _pop(self) -> str:
        kind, what, parameters = self._undo.pop()
        np.copyto(self.network.parameters, parameters)
        if kind == "step":
            self.steps -= 1
        else:
            self.edits -= 1
        self.version += 1
        return what
