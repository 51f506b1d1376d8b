"""Layer health: dead and saturated neurons, the spread of weights, activations and gradients,
and the verdict on a whole network (diverged, mostly dead, guessing).

A neuron learns through σ'(z): backpropagation multiplies its error by it (BP2). Where σ'(z) is
0 or nearly so for almost every input, the neuron has stopped learning:

- a ReLU neuron whose z ≤ 0 for every input is **dead**: it outputs 0, passes no error back, and
  no step of gradient descent can bring it back (a learning rate too large kills them in bulk);
- a sigmoid or tanh neuron pushed far out on its flat tails is **saturated**: it learns, but
  slowly (σ' is under 1% of its peak).

:func:`layer_health` measures that on a probe set (the first ``PROBE`` test digits), with
histograms of each layer's weights, activations and gradients and the size of its gradient
(the root mean square of ∂C/∂W: vanishing gradients show as sizes falling layer by layer
towards the input). :func:`verdict` turns it into flags, each with the reason in words, which
the lab shows beside a training run before the user chooses to use its network.
"""

from __future__ import annotations

import numpy as np

from nnet.data import answers, n_answers
from nnet.network import Network, layer_name

from .explain import rounded
from .teach import without_dropout

#: How many inputs the health checks look at.
PROBE = 1000
#: σ'(z) below this fraction of its peak counts as "not learning" for that input.
FLAT = 0.01
#: A neuron flat on at least this share of the inputs is saturated (dead: on all of them).
SATURATED_SHARE = 0.95
#: A hidden layer with at least this share of dead or saturated neurons is flagged.
MOSTLY = 0.5
#: Accuracy within this much of 1/k (a guess) is flagged as guessing.
GUESS_MARGIN = 0.05
BINS = 30


def _histogram(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if not values.size:
        return {"edges": [], "counts": []}
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=BINS, range=(low, high))
    return {"edges": rounded(edges, 6), "counts": counts.tolist()}


def _flat_share(layer, z: np.ndarray, a: np.ndarray) -> np.ndarray | None:
    """Per neuron, the share of inputs where σ'(z) < FLAT of its peak; None for softmax (which
    has no elementwise derivative)."""
    activation = layer.activation
    try:
        probe = np.linspace(-4.0, 4.0, 81, dtype=z.dtype).reshape(1, -1)  # where σ' peaks (0, or z > 0)
        peak = float(activation.derivative(probe, activation.value(probe.copy())).max())
        derivative = activation.derivative(z, a)
    except TypeError:
        return None
    if peak <= 0:
        return None
    return (derivative < FLAT * peak).mean(axis=0)


def layer_health(network: Network, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """Per layer: ``dead`` and ``saturated`` neuron indices, ``gradient_size`` (RMS of ∂C/∂W on
    the probe inputs with their labels), and histograms of ``weights``, ``activations`` and
    ``gradients``.

    Parameters
    ----------
    x : ndarray of shape (n, n_inputs), the probe inputs (the first PROBE are used)
    y : int ndarray of shape (n,), their labels
    """
    x, y = x[:PROBE], np.asarray(y)[:PROBE]
    with np.errstate(all="ignore"):
        trace = network.forward(x, record=True)
        gradients = without_dropout(network).backprop(x, y) if np.isfinite(network.parameters).all() else None
    n = len(network.layers)
    result = []
    for index, layer in enumerate(network.layers):
        z, a = trace.zs[index], trace.activations[index + 1]
        with np.errstate(all="ignore"):
            flat = _flat_share(layer, z, a)
        relu_like = layer.activation.name == "relu"
        dead = np.flatnonzero(flat >= 1.0) if flat is not None and relu_like else np.array([], int)
        saturated = np.flatnonzero(flat >= SATURATED_SHARE) if flat is not None and not relu_like else np.array([], int)
        dW = None if gradients is None else gradients[index][0]
        result.append({
            "index": index,
            "name": layer_name(index, n),
            "activation": layer.activation.name,
            "size": layer.n_out,
            "dead": dead.tolist(),
            "saturated": saturated.tolist(),
            "gradient_size": None if dW is None or not np.isfinite(dW).all() else float(np.sqrt(np.mean(dW.astype(np.float64) ** 2))),
            "weights": _histogram(layer.W),
            "activations": _histogram(a),
            "gradients": _histogram(dW) if dW is not None else {"edges": [], "counts": []},
        })
    return result


def verdict(network: Network, x: np.ndarray, y: np.ndarray) -> dict:
    """Is this network fit to use? ``{"healthy", "flags": [{"kind", "layer", "why"}], "accuracy",
    "probe", "layers": layer_health(...)}``. Kinds: ``diverged`` (weights or outputs not finite),
    ``dead`` / ``saturated`` (a hidden layer mostly so), ``guessing`` (accuracy near 1/k)."""
    x, y = x[:PROBE], np.asarray(y)[:PROBE]
    flags = []
    if not np.isfinite(network.parameters).all():
        bad = int(np.count_nonzero(~np.isfinite(network.parameters)))
        flags.append({"kind": "diverged", "layer": None,
                      "why": f"it diverged: {bad:,} of its {network.n_parameters:,} weights and biases are NaN or "
                             f"infinite, so every answer is meaningless (the learning rate was too large)"})
        return {"healthy": False, "flags": flags, "accuracy": None, "probe": len(x), "layers": []}
    with np.errstate(all="ignore"):
        output = network.forward(x)
    if not np.isfinite(output).all():
        flags.append({"kind": "diverged", "layer": None,
                      "why": "it diverged: its outputs overflow (infinite or NaN) on some test digits; its weights "
                             "are too large (the learning rate was too large)"})
        return {"healthy": False, "flags": flags, "accuracy": None, "probe": len(x), "layers": []}
    layers = layer_health(network, x, y)
    for layer in layers[:-1]:
        for kind, how in (("dead", "z ≤ 0 for every one of the test digits, so they output 0 and can never learn "
                                   "again (a learning rate too large kills ReLU neurons)"),
                          ("saturated", f"σ'(z) is under {FLAT:.0%} of its peak on {SATURATED_SHARE:.0%} of the test "
                                        f"digits, so they barely learn (weights too large push σ onto its flat tails)")):
            count = len(layer[kind])
            if count >= MOSTLY * layer["size"]:
                flags.append({"kind": kind, "layer": layer["index"],
                              "why": f"{layer['name']}: {count} of its {layer['size']} neurons ({count / layer['size']:.0%}) "
                                     f"are {kind}: {how}"})
    accuracy = float(np.mean(answers(output) == y))
    k = n_answers(network.n_outputs)
    if accuracy <= 1.0 / k + GUESS_MARGIN:
        flags.append({"kind": "guessing", "layer": None,
                      "why": f"it answers {accuracy:.0%} of {len(x):,} test digits right: no better than guessing "
                             f"one of {k} ({1 / k:.0%})"})
    return {"healthy": not flags, "flags": flags, "accuracy": accuracy, "probe": len(x), "layers": layers}
