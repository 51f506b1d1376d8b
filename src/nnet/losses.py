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

mae (mean absolute error), for regression
    ``C_x = Σ_j |a_j - y_j|``, so ``∂C_x/∂a = sign(a - y)`` (0 where a = y, as PyTorch): every
    error pulls with the same strength, so a few wild targets cannot dominate.
huber, for regression
    ``C_x = Σ_j h(a_j - y_j)`` with ``h(r) = ½ r²`` for ``|r| <= t`` and ``t (|r| - ½ t)``
    beyond: quadratic near the target, absolute far from it; ``∂h/∂r = clip(r, -t, t)``.
    ``t``, the threshold (PyTorch's ``delta``, renamed here: δ is the error), defaults to 1.

``y`` is (n, k): one-hot rows (or probability rows summing to 1 for softmax), or any numbers for
the regression costs, like ``a``.

Weighted rows. Given ``weights`` w (n,) (scikit-learn's ``sample_weight``), the batch mean
becomes the weighted mean ``C = Σ_x w_x C_x / Σ_x w_x``, and δᴸ takes ``w_x / Σ w`` in place of
``1/n``, still in one place. Without weights nothing extra is computed.
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

    def settings(self) -> dict:
        """The constructor's arguments (none for most): what a model file keeps besides the name."""
        return {}

    def check_output(self, activation: Activation) -> None:
        """Raise ValueError if this cost cannot follow ``activation`` in the output layer."""

    def value(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: Activation,
              weights: np.ndarray | None = None, mean_over: float | None = None) -> float:
        """The cost averaged over the batch, a Python float. z, a, y: (n, k); ``activation`` is
        the output layer's; ``weights`` (n,), optional, makes it the weighted mean.

        ``mean_over``: when these rows are one shard of a larger batch (data-parallel training,
        :mod:`nnet.distributed`), that batch's row count (its total weight, when weighted): the
        result is then this shard's share of the batch's mean, and the shares add up to it."""
        if weights is None:
            return float(self.total(z, a, y, activation)) / (len(y) if mean_over is None else mean_over)
        weight = float(np.add.reduce(weights, dtype=np.float64)) if mean_over is None else mean_over
        if weight <= 0.0:
            return 0.0
        return float(np.dot(self.rows(z, a, y, activation), weights)) / weight

    def delta(
        self,
        z: np.ndarray,
        a: np.ndarray,
        y: np.ndarray,
        activation: Activation,
        out: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        mean_over: float | None = None,
    ) -> np.ndarray:
        """δᴸ = ∂C/∂zᴸ of the output layer, (n, k), with C the batch mean (the weighted mean
        when ``weights`` (n,) are given; over ``mean_over`` as in :meth:`value`)."""
        out = self.summed_delta(z, a, y, activation, out)
        if weights is None:
            out *= 1.0 / (len(y) if mean_over is None else mean_over)  # the batch mean: the only 1/n in nnet
            return out
        weight = float(np.add.reduce(weights, dtype=np.float64)) if mean_over is None else mean_over
        share = weights / weight if weight > 0.0 else np.zeros_like(weights)  # w_x / Σ w
        out *= share.astype(out.dtype, copy=False)[:, None]
        return out

    def total(self, z, a, y, activation) -> float:
        """Σ_x C_x over the batch."""
        return np.add.reduce(self.rows(z, a, y, activation))

    def rows(self, z, a, y, activation) -> np.ndarray:
        """C_x for each row, (n,)."""
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

    def rows(self, z, a, y, activation):
        error = a - y
        return 0.5 * np.einsum("ij,ij->i", error, error)

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

    def rows(self, z, a, y, activation):
        if activation.name == "softmax":
            return _log_sum_exp(z) - np.einsum("ij,ij->i", y, z)
        return (_softplus(z) - y * z).sum(axis=1)

    def summed_delta(self, z, a, y, activation, out=None):
        return np.subtract(a, y, out=out)  # σ'(z) has cancelled: δ = a - y


class MeanAbsoluteError(Cost):
    """C = (1/n) Σ_x Σ_j |a_j - y_j|: for regression where a few targets are far off."""

    name = "mae"

    def rows(self, z, a, y, activation):
        return np.abs(a - y).sum(axis=1)

    def summed_delta(self, z, a, y, activation, out=None):
        grad = np.subtract(a, y, out=out)
        np.sign(grad, out=grad)  # ∂|r|/∂r = sign(r), 0 at r = 0
        return activation.backward(z, a, grad, out=grad)


class Huber(Cost):
    """C = (1/n) Σ_x Σ_j h(a_j - y_j): ½ r² within ``threshold`` of the target, linear beyond.

    Parameters
    ----------
    threshold : float
        t > 0, where the quadratic part meets the linear one (in the targets' units).
    """

    name = "huber"

    def __init__(self, threshold: float = 1.0):
        threshold = float(threshold)
        if not (np.isfinite(threshold) and threshold > 0.0):
            raise ValueError(f"huber threshold must be a finite number > 0; got {threshold!r}")
        self.threshold = threshold

    def settings(self) -> dict:
        return {"threshold": self.threshold}

    def rows(self, z, a, y, activation):
        size = np.abs(a - y)
        t = self.threshold
        return np.where(size <= t, 0.5 * size * size, t * (size - 0.5 * t)).sum(axis=1)

    def summed_delta(self, z, a, y, activation, out=None):
        grad = np.subtract(a, y, out=out)
        np.clip(grad, -self.threshold, self.threshold, out=grad)  # ∂h/∂r = clip(r, -t, t)
        return activation.backward(z, a, grad, out=grad)

    def __repr__(self) -> str:
        return f"Huber(threshold={self.threshold})"


def _log_sum_exp(z):
    """ln Σ_j e^{z_j} per row, (n,), computed around the row maximum."""
    z_max = np.maximum.reduce(z, axis=1, keepdims=True)
    shifted = np.subtract(z, z_max)
    np.exp(shifted, out=shifted)
    log_sum_exp = np.log(np.add.reduce(shifted, axis=1))
    log_sum_exp += z_max[:, 0]
    return log_sum_exp


def _softplus(z):
    """softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|), elementwise."""
    softplus = np.abs(z)
    np.negative(softplus, out=softplus)
    np.exp(softplus, out=softplus)
    np.log1p(softplus, out=softplus)
    softplus += np.maximum(z, 0.0)
    return softplus


def _softmax_cross_entropy_total(z, y):
    """Σ_x [logsumexp(z_x) - Σ_j y_xj z_xj] for target rows summing to 1."""
    return np.add.reduce(_log_sum_exp(z)) - np.vdot(y, z)


def _sigmoid_cross_entropy_total(z, y):
    """Σ_x Σ_j [softplus(z) - y z]."""
    return _softplus(z).sum() - np.vdot(y, z)


COSTS: dict[str, Cost] = {
    cost.name: cost for cost in (Quadratic(), CrossEntropy(), MeanAbsoluteError(), Huber())
}

#: The costs that compare values, not classes: a regression network's.
REGRESSION_COSTS = ("quadratic", "mae", "huber")


def get(name: str | Cost, **settings) -> Cost:
    """Return the cost called ``name`` (built with ``settings``, e.g. ``get("huber",
    threshold=0.5)``), or ``name`` itself if it is a Cost."""
    if isinstance(name, Cost):
        return name
    try:
        cost = COSTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cost {name!r}; choose one of: {', '.join(COSTS)}") from None
    if not settings:
        return cost
    try:
        return type(cost)(**settings)
    except TypeError:
        raise ValueError(f"cost {name!r} takes the settings {list(cost.settings()) or 'none'}; got {sorted(settings)}") from None
