"""Initial weights and biases: where gradient descent starts.

Each initializer takes a seeded ``numpy.random.Generator`` and a layer's sizes and returns
``(W, b)``: W of shape (n_out, n_in), b of shape (n_out,). Values are drawn in float64 and then
cast, so a float32 and a float64 network built from the same seed start from the same numbers.

normal
    W, b ~ N(0, 1): the lessons' first network. Large sums saturate sigmoid neurons in wide
    layers, which is why the others exist.
lecun
    W ~ N(0, 1/n_in), b = 0: keeps z of order 1 whatever the width (the lessons' improved
    initialisation, LeCun et al. 1998).
xavier
    W ~ U(-r, r), r = sqrt(6 / (n_in + n_out)), b = 0 (Glorot & Bengio 2010): for sigmoid and
    tanh layers.
he
    W ~ N(0, 2/n_in), b = 0 (He et al. 2015): for ReLU layers, which zero half their inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def normal(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """W, b ~ N(0, 1), float64."""
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def lecun(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 1/n_in), b = 0, float64."""
    return rng.normal(0.0, np.sqrt(1.0 / n_in), (n_out, n_in)), np.zeros(n_out)


def xavier(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """W ~ U(-r, r) with r = sqrt(6 / (n_in + n_out)), b = 0, float64."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_out, n_in)), np.zeros(n_out)


def he(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 2/n_in), b = 0, float64."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "lecun": lecun,
    "xavier": xavier,
    "he": he,
}


def get(name: str | Initializer) -> Initializer:
    """Return the initializer called ``name`` (or ``name`` itself if it is callable)."""
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown init {name!r}; choose one of: {', '.join(INITIALIZERS)}"
        ) from None
