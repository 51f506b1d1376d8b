"""The weights as the page draws them: a small layer's connections, and weight tiles.

**Connections.** Between two small layers (at most ``MAX_LINKED`` neurons each: the lessons'
16, 16 and 10, or 30 and 10) the page draws every connection as a line, colour = the weight's
sign, thickness = its size. :func:`links` sends one layer's whole ``W`` for that.

**Weight tiles.** While a network trains, the page shows the incoming weights of the first
hidden neurons as 28x28 tiles (what pixel pattern each neuron picks up on). :func:`tiles` puts
them all on *one* colour scale (the largest |w| among them), so weights can be seen to grow
from their random start, and with ``start`` shows instead the change since the run began, which
is where the strokes a neuron has learned show best (its random start hides them).
"""

from __future__ import annotations

import base64

import numpy as np

from nnet.network import Network, layer_name

from .explain import rounded

#: The most neurons on either side of a layer for the page to draw its connections.
MAX_LINKED = 32
#: Bytes per weight in a tile: int8, -127..127 for -scale..scale.
TILE_LEVELS = 127


def links(network: Network, layer: int) -> dict:
    """Layer ``layer``'s weights ``W`` (n_out rows of n_in) and biases, for drawing connections.

    Raises IndexError for a layer that does not exist, ValueError for one too large to draw
    (more than ``MAX_LINKED`` neurons on a side: the page recolours a grid for those instead).
    """
    n = len(network.layers)
    if not 0 <= layer < n:
        raise IndexError(f"layer {layer} does not exist: this network has layers 0..{n - 1}")
    target = network.layers[layer]
    if max(target.n_in, target.n_out) > MAX_LINKED:
        raise ValueError(f"layer {layer} ({layer_name(layer, n)}) connects {target.n_in} neurons to {target.n_out}; "
                         f"connections are drawn for layers of at most {MAX_LINKED} on each side")
    W = target.W.astype(np.float64)
    return {
        "layer": layer,
        "name": layer_name(layer, n),
        "inputs": target.n_in,
        "size": target.n_out,
        "weights": [rounded(row) for row in W],
        "biases": rounded(target.b),
        "abs_max": float(np.abs(W).max()) if np.isfinite(W).all() else None,
    }


def tiles(network: Network, count: int, start: np.ndarray | None = None) -> dict:
    """The first ``count`` neurons' incoming weights of layer 0, on one common scale.

    Parameters
    ----------
    count : int
    start : ndarray, optional
        Layer 0's ``W`` when the run began (n_out, n_in): then the tiles show ``W - start``.

    Returns
    -------
    dict with ``neurons``, ``total`` (layer 0's size), ``inputs``, ``since_start``, ``scale``
    (the largest |value| among the tiles: a byte b means b / 127 * scale) and ``data`` (base64
    of ``neurons`` rows of ``inputs`` int8 bytes). ``scale`` is None if a weight is not finite.
    """
    first = network.layers[0]
    W = first.W[:count].astype(np.float64)
    if start is not None:
        W = W - np.asarray(start, dtype=np.float64)[:count]
    finite = bool(np.isfinite(W).all())
    scale = float(np.abs(W).max()) if finite and W.size else 0.0
    quantised = np.rint(W / scale * TILE_LEVELS).astype(np.int8) if finite and scale > 0 else np.zeros(W.shape, np.int8)
    return {
        "layer": 0,
        "neurons": int(W.shape[0]),
        "total": first.n_out,
        "inputs": first.n_in,
        "since_start": start is not None,
        "scale": scale if finite else None,
        "data": base64.b64encode(quantised.tobytes()).decode("ascii"),
    }
