"""What the neurons respond to, and how far to trust the answers: maps, top digits, calibration.

- :func:`activation_map`: every test digit as a point, placed by its activations in one layer
  (or its pixels), flattened to two dimensions by PCA (NumPy's SVD; t-SNE when scikit-learn is
  installed) and coloured by its class. Layer after layer the classes pull apart: colah's
  "Visualizing Representations". ``separation`` puts a number on it: the share of points lying
  closest to the centre of their own class in the map.
- :func:`top_digits`: the test digits that excite a neuron most: what pixel pattern this neuron
  picks up on, seen from the data side.
- :func:`calibration`: for the test digits, how sure the network was of its answer against how
  often it was right (a well-calibrated network is right 90% of the time when 90% sure), and for
  each "I don't know" threshold how many digits it would still answer and how many of those
  right. Sigmoid outputs are used as they are: they are not probabilities, and the picture shows it.
"""

from __future__ import annotations

import numpy as np

from nnet.data import answers
from nnet.network import EVALUATION_BATCH, Network, layer_name

from .explain import rounded

#: The most digits a map places (PCA), and the most t-SNE places (it is much slower).
MAX_MAP = 5000
MAX_TSNE = 1500
MIN_TSNE = 10
#: The most top digits a request may ask for.
MAX_TOP = 48
#: "I don't know" thresholds the calibration reports.
THRESHOLDS = np.round(np.arange(0.0, 1.0, 0.05), 2)


def methods() -> list[str]:
    """The map methods this installation offers: ``pca``, and ``tsne`` with scikit-learn."""
    try:
        import sklearn.manifold  # noqa: F401
    except ImportError:
        return ["pca"]
    return ["pca", "tsne"]


def activations(network: Network, x: np.ndarray, layer: int) -> np.ndarray:
    """Layer ``layer``'s activations for every row of x (float64, (n, size)); layer -1 is the
    input itself (pixels scaled to 0..1). Computed in slices, so any n fits in memory."""
    n = len(network.layers)
    if not -1 <= layer < n:
        raise IndexError(f"layer {layer} does not exist: this network has layers 0..{n - 1} (and -1, the input)")
    parts = []
    for start in range(0, len(x), EVALUATION_BATCH):
        trace = network.forward(x[start : start + EVALUATION_BATCH], record=True)
        parts.append(np.asarray(trace.activations[layer + 1], dtype=np.float64))
    return np.concatenate(parts)


def pca(values: np.ndarray, components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(points (n, components), explained)``: values centred and projected on their first
    principal components (the SVD's right singular vectors); ``explained`` is each component's
    share of the variance. Missing components (a layer of one neuron) are zeros."""
    centred = values - values.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    points = np.zeros((len(values), components))
    kept = min(components, vt.shape[0])
    points[:, :kept] = centred @ vt[:kept].T
    variance = singular**2
    total = float(variance.sum())
    explained = np.zeros(components)
    if total > 0:
        explained[:kept] = variance[:kept] / total
    return points, explained


def separation(points: np.ndarray, labels: np.ndarray) -> float:
    """The share of points closer to their own class's centre (in the map) than to any other's."""
    classes = np.unique(labels)
    centres = np.array([points[labels == k].mean(axis=0) for k in classes])
    distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(classes[distances.argmin(axis=1)] == labels))


def activation_map(network: Network, x: np.ndarray, y: np.ndarray, layer: int, count: int = 2000,
                   method: str = "pca") -> dict:
    """The first ``count`` digits of (x, y) placed in 2-D by layer ``layer``'s activations.

    Returns ``{"layer", "name", "method", "count", "points" ([x, y] each, scaled into -1..1),
    "labels", "indices", "explained" (PCA: each axis's share of the variance), "separation"}``.
    Raises ValueError for an unknown method (or tsne without scikit-learn), IndexError for a
    layer that does not exist.
    """
    if method not in methods():
        raise ValueError(f"method must be one of {', '.join(methods())}; got {method!r}")
    limit = MAX_TSNE if method == "tsne" else MAX_MAP
    count = max(2, min(int(count), limit, len(x)))
    if method == "tsne" and count < MIN_TSNE:
        raise ValueError(f"t-SNE needs at least {MIN_TSNE} digits to place; there are {count}")
    values = activations(network, x[:count], layer)
    labels = np.asarray(y[:count], dtype=np.int64)
    if not np.isfinite(values).all():
        raise ValueError(f"layer {layer}'s activations are not finite: the network has diverged")
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, init="pca", random_state=0, perplexity=min(30.0, count / 4)).fit_transform(values)
        explained = None
    else:
        points, explained = pca(values)
    top = float(np.abs(points).max()) or 1.0
    n = len(network.layers)
    return {
        "layer": layer,
        "name": "input" if layer == -1 else layer_name(layer, n),
        "method": method,
        "count": count,
        "points": np.round(points / top, 4).tolist(),
        "labels": labels.tolist(),
        "indices": list(range(count)),
        "explained": None if explained is None else rounded(explained),
        "separation": separation(points, labels),
        "methods": methods(),
    }


def top_digits(network: Network, x: np.ndarray, y: np.ndarray, layer: int, neuron: int, count: int = 12) -> dict:
    """The ``count`` digits of x on which neuron ``neuron`` of ``layer`` is most active.

    Returns ``{"layer", "index", "indices", "activations", "labels", "pixels" (each digit's
    values as uint8 ints, 0..255)}``, the most exciting first.
    """
    if not 0 <= layer < len(network.layers):
        raise IndexError(f"layer {layer} does not exist: this network has layers 0..{len(network.layers) - 1}")
    size = network.layers[layer].n_out
    if not 0 <= neuron < size:
        raise IndexError(f"neuron {neuron} does not exist: layer {layer} has neurons 0..{size - 1}")
    count = max(1, min(int(count), MAX_TOP, len(x)))
    values = activations(network, x, layer)[:, neuron]
    values = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-values, kind="stable")[:count]
    pixels = x[order] if x.dtype == np.uint8 else np.rint(np.clip(x[order], 0, 1) * 255)
    return {
        "layer": layer,
        "index": neuron,
        "indices": order.tolist(),
        "activations": rounded(values[order]),
        "labels": np.asarray(y)[order].astype(int).tolist(),
        "pixels": [row.astype(int).tolist() for row in pixels.reshape(count, -1)],
    }


def confidence(output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(answers, how sure)`` for output rows (n, k): the brightest neuron and its activation as
    it is (softmax: a probability; sigmoid: not one). One output neuron: a, or 1 - a for 0."""
    chosen = answers(output)
    if output.shape[1] == 1:
        return chosen, np.where(chosen == 1, output[:, 0], 1.0 - output[:, 0])
    return chosen, output[np.arange(len(output)), chosen]


def calibration(network: Network, x: np.ndarray, y: np.ndarray, bins: int = 10) -> dict:
    """How sure against how right, over (x, y).

    Returns ``{"count", "accuracy", "confidence_from", "bins": [{"low", "high", "count",
    "confidence" (mean), "accuracy"}], "expected_error" (the mean |accuracy - confidence| over
    the digits, by bin), "thresholds": [{"threshold", "answered" (share), "accuracy" (of those
    answered)}]}``.
    """
    with np.errstate(all="ignore"):
        output = network.forward(x).astype(np.float64)
    chosen, sure = confidence(output)
    right = chosen == np.asarray(y)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, sure, side="right") - 1, 0, bins - 1)
    table, expected_error = [], 0.0
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        entry = {"low": float(edges[b]), "high": float(edges[b + 1]), "count": count, "confidence": None, "accuracy": None}
        if count:
            entry["confidence"] = float(sure[inside].mean())
            entry["accuracy"] = float(right[inside].mean())
            expected_error += count / len(x) * abs(entry["accuracy"] - entry["confidence"])
        table.append(entry)
    thresholds = []
    for threshold in THRESHOLDS:
        answered = sure >= threshold
        thresholds.append({"threshold": float(threshold), "answered": float(answered.mean()),
                           "accuracy": float(right[answered].mean()) if answered.any() else None})
    softmax = network.layers[-1].activation.name == "softmax"
    return {
        "count": len(x),
        "accuracy": float(right.mean()),
        "confidence_from": "softmax probability" if softmax else f"the answer's {network.layers[-1].activation.name} activation, as it is",
        "bins": table,
        "expected_error": float(expected_error),
        "thresholds": thresholds,
    }
