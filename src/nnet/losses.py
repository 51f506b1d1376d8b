"""Costs: how wrong the network's output ``a`` is for the targets ``y``, averaged over the batch.

For a batch of n samples (rows), the cost is the mean of the per-sample costs::

    C = (1/n) Σ_x C_x

and the error of the output layer is ``δᴸ = ∂C/∂zᴸ``: where backpropagation starts. The 1/n of
that mean lives in one place, :meth:`Cost.delta` below; layers apply only the chain rule.

quadratic (the lessons' cost)
    ``C_x = ½ ‖a - y‖²``, so ``∂C_x/∂a = a - y`` and ``δᴸ = (a - y) ⊙ σ'(zᴸ)`` (for softmax, the
    Jacobian-vector product instead). Works with any output activation.
cross_entropy
    Categorical, for a softmax output: ``C_x = -Σ_j y_j ln a_j = logsumexp(z) - Σ_j y_j z_j``.
    Binary, for sigmoid outputs: ``C_x = -Σ_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]
    = Σ_j softplus(z_j) - y_j z_j``. Both are computed from z (log-sum-exp, softplus), so they
    stay finite where ``ln a`` would be ``ln 0``. Both give the famous ``δᴸ = a - y``: the
    σ'(z) that slows learning under the quadratic cost cancels.

``y`` is (n, k): one-hot rows (or probability rows summing to 1 for softmax), like ``a``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Activation(Protocol):
    """What a cost needs of the output layer's activation (:mod:`nnet.activations` has them):
    its name and the chain rule through it. Costs import nothing of nnet."""

    name: str

    def backward(self, z: np.ndarray, a: np.ndarray, grad: np.ndarray, out: np.ndarray | None = None) -> np.ndarray: ...


class Cost:
    """Base class: a per-sample cost summed over the batch, then divided by n in one place."""

    name: str = ""

    def check_output(self, activation: Activation) -> None:
        """Raise ValueError if this cost cannot follow ``activation`` in the output layer."""

    def value(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: Activation) -> float:
        """The cost averaged over the batch, a Python float. z, a, y: (n, k); ``activation`` is
        the output layer's."""
        return float(self.total(z, a, y, activation)) / len(y)

    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        activation: Activation,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """δᴸ = ∂C/∂zᴸ of the output layer, (n, k), with C the batch mean."""
        out = self.summed_delta(z, a, y, activation, out)
        out *= 1.0 / len(y)  # the batch mean: the only 1/n in nnet
        return out

    def total(self, z, a, y, activation) -> float:
        """Σ_x C_x over the batch."""
        raise NotImplementedError

    def summed_delta(self, z, a, y, activation, out=None) -> np.ndarray:
        """∂(Σ_x C_x)/∂z, (n, k)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Quadratic(Cost):
    """C = (1/n) Σ_x ½ ‖a - y‖²: the mean squared error of the lessons."""

    name = "quadratic"

    def total(self, z, a, y, activation):
        error = a - y
        return 0.5 * np.vdot(error, error)

    def summed_delta(self, z, a, y, activation, out=None):
        grad = np.subtract(a, y, out=out)  # ∂C_x/∂a = a - y
        return activation.backward(z, a, grad, out=grad)  # ⊙ σ'(z): the chain rule


class CrossEntropy(Cost):
    """Cross-entropy from the output's weighted input z: categorical after softmax, binary
    after sigmoid. Either way ``δᴸ = (a - y) / n``.
    """

    name = "cross_entropy"
    outputs = ("softmax", "sigmoid")

    def check_output(self, activation):
        if activation.name not in self.outputs:
            raise ValueError(
                f"cost 'cross_entropy' needs a 'softmax' output (one class per sample) or a "
                f"'sigmoid' output (independent yes/no outputs); got output={activation.name!r}. "
                f"Use cost='quadratic' for other outputs."
            )

    def total(self, z, a, y, activation):
        if activation.name == "softmax":
            return _softmax_cross_entropy_total(z, y)
        return _sigmoid_cross_entropy_total(z, y)

    def summed_delta(self, z, a, y, activation, out=None):
        return np.subtract(a, y, out=out)  # σ'(z) has cancelled: δ = a - y


def _softmax_cross_entropy_total(z, y):
    """Σ_x [logsumexp(z_x) - Σ_j y_xj z_xj] for target rows summing to 1, with logsumexp
    computed around the row maximum."""
    z_max = np.maximum.reduce(z, axis=1, keepdims=True)
    shifted = np.subtract(z, z_max)
    np.exp(shifted, out=shifted)
    log_sum_exp = np.log(np.add.reduce(shifted, axis=1))
    log_sum_exp += z_max[:, 0]
    return np.add.reduce(log_sum_exp) - np.vdot(y, z)


def _sigmoid_cross_entropy_total(z, y):
    """Σ_x Σ_j [softplus(z) - y z], softplus(z) = max(z, 0) + ln(1 + e^-|z|)."""
    softplus = np.abs(z)
    np.negative(softplus, out=softplus)
    np.exp(softplus, out=softplus)
    np.log1p(softplus, out=softplus)
    softplus += np.maximum(z, 0.0)
    return softplus.sum() - np.vdot(y, z)


COSTS: dict[str, Cost] = {cost.name: cost for cost in (Quadratic(), CrossEntropy())}


def get(name: str | Cost) -> Cost:
    """Return the cost called ``name`` (or ``name`` itself if it is a Cost)."""
    if isinstance(name, Cost):
        return name
    try:
        return COSTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cost {name!r}; choose one of: {', '.join(COSTS)}") from None
