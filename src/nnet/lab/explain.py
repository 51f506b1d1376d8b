"""What the lab shows about a network, as JSON-ready dicts: the layers, one forward pass, a
neuron's incoming weights.

Layers are indexed from 0 and named as everywhere in nnet (:func:`nnet.network.layer_name`,
``layers.0.W`` in model files): layer 0 is the first hidden layer (or the output layer of a
network with none), the last one is the output layer. Every response lists them, so a network of
any depth is described the same way.
This module is all the model logic the page needs; the page only draws what it returns.
"""

from __future__ import annotations

import base64
import math

import numpy as np

from nnet.data import answer_scores, answers
from nnet.network import Network, layer_name

#: Decimal places kept for activations and weights sent to the page (its pixels cannot show more).
DECIMALS = 4
#: The range of each activation's output, for the page's brightness scale (None: unbounded).
ACTIVATION_RANGE = {
    "sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, None),
    "leaky_relu": (None, None),
    "identity": (None, None),
}
#: Metadata keys of a model file summarised by ``GET /api/model`` (the rest stays on the server).
SUMMARY_KEYS = ("saved_at", "nnet_version", "scores", "training", "dataset")


class NonFiniteError(ValueError):
    """A forward pass made an infinite or NaN value (weights too large for this input, say):
    nothing the page could draw. The lab answers it with 422."""


def rounded(values: np.ndarray, decimals: int = DECIMALS) -> list[float]:
    """A flat list of floats, rounded for sending (the caller has checked they are finite)."""
    return np.round(np.asarray(values, dtype=np.float64).ravel(), decimals).tolist()


def describe(network: Network, classes: list[str], input_shape: list[int]) -> dict:
    """The network's structure: ``{"input": {...}, "layers": [...], "classes", "task", ...}``;
    a regression network names its outputs in ``targets`` (``classes`` is then empty)."""
    regression = network.task == "regression"
    return {
        "input": {"size": network.n_inputs, "shape": input_shape},
        "layers": [
            {
                "index": layer["index"],
                "name": layer["name"],
                "size": layer["n_out"],
                "inputs": layer["n_in"],
                "activation": layer["activation"],
                "range": ACTIVATION_RANGE.get(layer["activation"], (None, None)),
                "parameters": layer["parameters"],
            }
            for layer in network.describe()["layers"]
        ],
        "classes": [] if regression else classes,
        "task": network.task,
        **({"targets": classes} if regression else {}),
        "cost": network.cost.name,
        "parameters": network.n_parameters,
        "summary": _summary(network.metadata),
    }


def _summary(metadata: dict) -> dict:
    summary = {key: finite(metadata[key]) for key in SUMMARY_KEYS if key in metadata}
    history = metadata.get("history")
    if isinstance(history, dict) and isinstance(history.get("epochs"), list) and history["epochs"]:
        summary["epochs_trained"] = len(history["epochs"])
        summary["last_epoch"] = finite(history["epochs"][-1])
    return summary


def finite(value):
    """JSON data with NaN and infinities (which a model file's JSON may hold) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def forward_pass(network: Network, x: np.ndarray, classes: list[str], values=None) -> dict:
    """One input through the network, every layer's z and a.

    Parameters
    ----------
    x : ndarray of shape (n_inputs,), uint8 pixels or floats in [0, 1] (a table model: its
        inputs after the preprocessing)
    classes : list of str
        The answers' names; a regression network's: its targets'.
    values : callable, optional
        A regression network's outputs (1, k) -> values in the targets' units (a table model's
        ``Preprocessing.values``); default: the outputs as they are.

    Returns
    -------
    dict with ``input`` (n_inputs floats in 0..1), ``layers`` (one entry per Dense layer: index,
    name, size, activation, range, ``z`` and ``a``), ``probabilities`` (sum 1), ``prediction``
    (the answer, by :func:`nnet.data.answers`: the brightest output neuron) and ``label``
    (its class name). A regression network's has ``values`` (one per output, in the targets'
    units) and ``targets`` (their names) instead of the last four.

    Raises
    ------
    NonFiniteError
        A layer's z or a holds an infinity or NaN for this input.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is checked for and reported below
        trace = network.forward(x, record=True)
    count = len(network.layers)
    layers = []
    for index, (layer, z, a) in enumerate(zip(network.layers, trace.zs, trace.activations[1:])):
        layers.append(
            {
                "index": index,
                "name": layer_name(index, count),
                "size": layer.n_out,
                "activation": layer.activation.name,
                "range": ACTIVATION_RANGE.get(layer.activation.name, (None, None)),
                "z": rounded(_checked(z, index, count, "z")),
                "a": rounded(_checked(a, index, count, "a")),
            }
        )
    if network.task == "regression":
        answer = (values or (lambda out: out[0]))(trace.output.astype(np.float64))
        return {"input": rounded(trace.activations[0][0], 3), "layers": layers, "task": "regression",
                "values": finite(np.asarray(answer, dtype=np.float64).ravel().tolist()), "targets": classes}
    output = trace.output[0].astype(np.float64)
    probabilities, how = probabilities_of(output, network.layers[-1].activation.name)
    prediction = int(answers(trace.output)[0])
    return {
        "input": rounded(trace.activations[0][0], 3),
        "layers": layers,
        "probabilities": rounded(probabilities, 6),
        "probabilities_from": how,
        "prediction": prediction,
        "label": classes[prediction] if prediction < len(classes) else str(prediction),
    }


def probabilities_of(output: np.ndarray, activation: str) -> tuple[np.ndarray, str]:
    """Probabilities from the output activations: a softmax output is one already; otherwise
    (sigmoid outputs, as in the lessons' network) the activations are divided by their sum."""
    if activation == "softmax":
        return output, "softmax output"
    if len(output) == 1:  # one sigmoid neuron: P(class 1)
        return answer_scores(output[None, :])[0], "output activation as P(class 1)"
    shifted = output - min(0.0, float(output.min()))
    total = float(shifted.sum())
    if total <= 0:
        return np.full(len(output), 1.0 / len(output)), "uniform (all outputs are 0)"
    return shifted / total, "output activations divided by their sum"


def _checked(values: np.ndarray, index: int, n_layers: int, what: str) -> np.ndarray:
    if not np.isfinite(values).all():
        bad = np.asarray(values[0])[~np.isfinite(values[0])]
        raise NonFiniteError(
            f"layer {index} ({layer_name(index, n_layers)}) computed {what} = {bad[0]} for this input "
            f"({bad.size} of its {values.shape[1]} neurons): expected finite numbers; the network "
            f"overflows on this input (its weights are too large, or not finite)"
        )
    return values[0]


def neuron(network: Network, layer: int, index: int, input_shape: list[int]) -> dict:
    """Neuron ``index`` of Dense layer ``layer``: its incoming weights and bias.

    ``shape`` is the input image's shape for layer 0 (so the weights draw as a picture of the
    pixel pattern the neuron picks up on), else ``[n_in]`` (a strip, one weight per neuron of the
    layer below). Raises IndexError for a layer or neuron that does not exist.
    """
    layers = network.layers
    if not 0 <= layer < len(layers):
        raise IndexError(f"layer {layer} does not exist: this network has layers 0..{len(layers) - 1}")
    target = layers[layer]
    if not 0 <= index < target.n_out:
        raise IndexError(
            f"neuron {index} does not exist: layer {layer} ({layer_name(layer, len(layers))}) has "
            f"neurons 0..{target.n_out - 1}"
        )
    weights = target.W[index]
    first = layer == 0 and int(np.prod(input_shape)) == target.n_in
    return {
        "layer": layer,
        "index": index,
        "name": layer_name(layer, len(layers)),
        "activation": target.activation.name,
        "inputs_from": "input" if layer == 0 else layer_name(layer - 1, len(layers)),
        "shape": list(input_shape) if first else [target.n_in],
        "weights": finite(rounded(weights)),
        "bias": finite(round(float(target.b[index]), DECIMALS)),
        "abs_max": finite(float(np.abs(weights).max())),
    }


#: The most feature maps of one layer sent to the page (the first ones).
MAX_MAPS = 64


def feature_maps(network: Network, x: np.ndarray) -> dict:
    """One input through a convolutional network, the feature maps of every layer whose output
    is maps (convolution, pooling, dropout after them), compact for the page.

    Returns ``{"layers": [...]}``, one entry per such layer: index, name, kind, ``shape`` [C, H, W]
    of its output, ``maps`` (how many are sent: the first MAX_MAPS), ``low`` and ``high`` (each
    map's least and largest activation) and ``data``: base64 of the maps as uint8, each scaled
    from its own low..high to 0..255 (a map of one value is all 0), map after map, row after row.
    A network without feature maps gives an empty list.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        trace = network.forward(x, record=True)
    count, layers = len(network.layers), []
    for index, (layer, a) in enumerate(zip(network.layers, trace.activations[1:])):
        if len(layer.output_shape) != 3:
            continue
        maps = _checked(a.reshape(1, -1), index, count, "a").reshape(layer.output_shape)[:MAX_MAPS].astype(np.float64)
        low, high = maps.min(axis=(1, 2)), maps.max(axis=(1, 2))
        span = np.where(high > low, high - low, 1.0)
        scaled = np.rint((maps - low[:, None, None]) / span[:, None, None] * 255).astype(np.uint8)
        layers.append({"index": index, "name": layer_name(index, count), "kind": layer.kind,
                       "shape": list(layer.output_shape), "maps": len(maps), "low": rounded(low), "high": rounded(high),
                       "data": base64.b64encode(scaled.tobytes()).decode("ascii")})
    return {"layers": layers}
