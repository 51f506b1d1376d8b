"""Activation functions: a neuron's output ``a = σ(z)`` and how to send an error back through it.

Each activation is a small object with three methods, written as the lessons write them:

``value(z)``
    ``a = σ(z)``, element by element (softmax: row by row).
``derivative(z, a)``
    ``σ'(z)``, element by element. Given ``a`` too, for the derivatives that are cheapest from
    it (ReLU: 1 where a > 0). Sigmoid's ``a (1 - a)`` and tanh's ``1 - a²`` are computed from z
    instead, which keeps their tiny values where a rounds to 1 in float32.
``backward(z, a, grad)``
    The chain rule through the activation: from ``grad = ∂C/∂a`` to ``∂C/∂z``. For the
    elementwise activations this is ``grad ⊙ σ'(z)``. Softmax couples a row's outputs, so its
    ``backward`` is the Jacobian-vector product ``s ⊙ (grad - Σ_k grad_k s_k)`` and it has no
    elementwise ``derivative`` at all (the often-seen ``s (1 - s)`` is wrong).

Arrays are (n, k): a batch of n rows. Every method takes ``out=`` so the training loop can
reuse its buffers; ``out`` may be ``z`` itself. All of them are stable for |z| up to 1e4 and
beyond: no overflow warning and no NaN (sigmoid is computed through tanh, softmax subtracts
the row maximum).

``ACTIVATIONS`` maps each name to its object; :func:`get` looks a name up.
"""

from __future__ import annotations

import numpy as np


class Activation:
    """Base class: a named elementwise function with its derivative."""

    name: str = ""

    def value(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """∂C/∂z = ∂C/∂a ⊙ σ'(z). ``out`` may be ``grad`` itself."""
        if out is None:
            return grad * self.derivative(z, a)
        if out is grad:
            return np.multiply(grad, self.derivative(z, a), out=out)
        self.derivative(z, a, out=out)
        return np.multiply(out, grad, out=out)

    def settings(self) -> dict:
        """The constructor's arguments (none for most): what a model file keeps besides the name."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^-z), computed as ½ (1 + tanh(z/2)), which never overflows.

    σ'(z) = σ(z) (1 - σ(z)), computed from z as e^-|z| / (1 + e^-|z|)²: the same number, but
    where σ(z) rounds to 1 (z > 17 in float32) the product σ(1 - σ) would be exactly 0, and a
    saturated neuron would stop learning altogether instead of slowly.
    """

    name = "sigmoid"

    def value(self, z, out=None):
        out = np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out

    def derivative(self, z, a, out=None):
        out = np.abs(z, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)  # e = e^-|z|, in (0, 1]: never overflows
        denominator = np.add(out, 1.0)
        denominator *= denominator
        out /= denominator
        return out


class Tanh(Activation):
    """tanh(z) = (e^z - e^-z) / (e^z + e^-z).

    tanh'(z) = 1 - tanh²(z), computed from z as 4 e^-2|z| / (1 + e^-2|z|)²: where tanh rounds to
    ±1 (|z| > 9 in float32) 1 - a² would be exactly 0 (see Sigmoid).
    """

    name = "tanh"

    def value(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a, out=None):
        out = np.abs(z, out=out)
        out *= -2.0
        np.exp(out, out=out)  # e = e^-2|z|, in (0, 1]
        denominator = np.add(out, 1.0)
        denominator *= denominator
        out *= 4.0
        out /= denominator
        return out


class ReLU(Activation):
    """relu(z) = max(0, z); relu'(z) = 1 where z > 0, else 0 (0 at z = 0, as PyTorch)."""

    name = "relu"

    def value(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z, a, out=None):
        mask = a > 0
        if out is None:
            return mask.astype(a.dtype)
        np.copyto(out, mask)
        return out

    def backward(self, z, a, grad, out=None):
        # grad where a > 0, else 0: one pass instead of building the 0/1 mask and multiplying.
        if out is None:
            out = np.empty_like(grad)
        return np.multiply(grad, a > 0, out=out)


class LeakyReLU(Activation):
    """leaky_relu(z) = z where z > 0, else slope·z; the derivative is 1 or slope."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01):
        if not 0.0 < slope < 1.0:
            raise ValueError(f"leaky_relu slope must be in (0, 1); got {slope!r}")
        self.slope = float(slope)

    def value(self, z, out=None):
        scaled = np.multiply(z, self.slope)
        return np.maximum(z, scaled, out=out)

    def derivative(self, z, a, out=None):
        derivative = np.where(a > 0, 1.0, self.slope).astype(a.dtype, copy=False)
        if out is None:
            return derivative
        np.copyto(out, derivative)
        return out

    def settings(self) -> dict:
        return {"slope": self.slope}

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class Identity(Activation):
    """identity(z) = z; its derivative is 1. The output of a regression network."""

    name = "identity"

    def value(self, z, out=None):
        if out is None:
            return z.copy()
        if out is not z:
            np.copyto(out, z)
        return out

    def derivative(self, z, a, out=None):
        if out is None:
            return np.ones_like(a)
        out.fill(1.0)
        return out

    def backward(self, z, a, grad, out=None):
        if out is None:
            return grad.copy()
        if out is not grad:
            np.copyto(out, grad)
        return out


class Softmax(Activation):
    """softmax(z)_j = e^{z_j} / Σ_k e^{z_k}, row by row, computed as e^{z_j - max(z)} / Σ ...

    Its outputs are positive and sum to 1: a probability for each class. It has no elementwise
    derivative; ``backward`` is the Jacobian-vector product
    ``∂C/∂z = s ⊙ (∂C/∂a - (∂C/∂a · s))``. With the cross-entropy cost the two fuse into
    ``a - y`` (see :mod:`nnet.losses`), which is what training uses.
    """

    name = "softmax"

    def value(self, z, out=None):
        out = np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= np.add.reduce(out, axis=-1, keepdims=True)
        return out

    def derivative(self, z, a, out=None):
        raise TypeError(
            "softmax has no elementwise derivative (each output depends on every input of its "
            "row); use backward(z, a, grad), the Jacobian-vector product"
        )

    def backward(self, z, a, grad, out=None):
        dot = np.einsum("ij,ij->i", grad, a)[:, None]
        out = np.subtract(grad, dot, out=out)
        return np.multiply(out, a, out=out)


ACTIVATIONS: dict[str, Activation] = {
    activation.name: activation
    for activation in (Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Identity(), Softmax())
}


def get(name: str | Activation) -> Activation:
    """Return the activation called ``name`` (or ``name`` itself if it is an Activation)."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}"
        ) from None
