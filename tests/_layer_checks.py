"""Helpers shared by the layer tests: one training step of a single layer, and central differences.

A layer is checked on the scalar ``L = Σ R ⊙ a`` for a fixed random R, so that ∂L/∂a = R: the
layer's own backward (``error``, ``gradient``, ``backpropagate``) must give the same ∂L/∂W,
∂L/∂b and ∂L/∂x as centred differences of L (float64, h = 1e-6).
"""

from __future__ import annotations

import numpy as np

STEP = 1e-6


def backward(layer, x, upstream):
    """A training forward and backward pass of ``layer`` alone, for ∂L/∂a = ``upstream``.

    Returns ``(a, gradients, dx)``: the activations, a dict of copies of the parameter
    gradients, and ∂L/∂x. Uses a fresh cache, as the training workspace gives each layer."""
    n = len(x)
    z = np.empty((n, *layer.output_shape), layer.dtype)
    a = np.empty_like(z)
    cache: dict = {}
    out = layer.forward(x, z, a, cache)
    delta = layer.error(upstream.copy(), z, a, cache)
    layer.gradient(delta, x, cache)
    dx = layer.backpropagate(delta, cache=cache)
    return out.copy(), {name: gradient.copy() for name, gradient in layer.gradients.items()}, dx.copy()


def numeric_gradient(function, array):
    """∂function()/∂array by centred differences, changing ``array`` in place (and restoring it)."""
    gradient = np.zeros(array.shape)
    flat, result = array.reshape(-1), gradient.reshape(-1)
    for index in range(flat.size):
        kept = flat[index]
        flat[index] = kept + STEP
        plus = function()
        flat[index] = kept - STEP
        minus = function()
        flat[index] = kept
        result[index] = (plus - minus) / (2 * STEP)
    return gradient


def relative_error(actual, expected):
    """max |actual - expected| / max(|actual| + |expected|), the gradient checker's measure."""
    scale = np.maximum(np.abs(actual) + np.abs(expected), 1e-8)
    return float(np.max(np.abs(actual - expected) / scale))


def check_layer_gradients(layer, x, seed=0, tolerance=1e-6):
    """Assert that the layer's backward pass agrees with centred differences for every
    parameter and for the input, on L = Σ R ⊙ layer(x)."""
    rng = np.random.default_rng(seed)
    upstream = rng.normal(size=(len(x), *layer.output_shape))

    def loss():
        return float(np.sum(upstream * layer.forward(x)))

    _, gradients, dx = backward(layer, x, upstream)
    for name, array in layer.parameters.items():
        expected = numeric_gradient(loss, array)
        assert relative_error(gradients[name], expected) < tolerance, f"∂L/∂{name} of {layer!r}"
    expected = numeric_gradient(loss, x)
    assert relative_error(dx, expected) < tolerance, f"∂L/∂x of {layer!r}"
