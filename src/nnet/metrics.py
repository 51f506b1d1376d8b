"""How good are the answers.

Classification, from int labels ``y_true`` and ``y_pred`` of shape (n,), values in 0..k-1:
accuracy, balanced accuracy, the confusion matrix, per-class precision, recall and F1 and their
macro averages over the classes present. From probabilities ``proba`` (n, k) (or (n,) for the
positive class of two): ROC AUC (binary, and one-vs-rest for several classes) and log-loss.

Regression, from values ``y_true`` and ``y_pred`` of shape (n,) or (n, k): R², the mean
absolute error and the root mean squared error (averaged over the k outputs).

Where a function takes ``sample_weight`` (n,), each row counts that much instead of once. Each
is checked against scikit-learn's function of the same name in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accuracy(y_true, y_pred, sample_weight=None) -> float:
    """The fraction of samples whose predicted label is the true one."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    weights = _weights(sample_weight, len(y_true))
    if weights is None:
        return float(np.count_nonzero(y_true == y_pred)) / len(y_true)
    return float(weights[y_true == y_pred].sum() / weights.sum())


def balanced_accuracy(y_true, y_pred) -> float:
    """The mean over the classes present in ``y_true`` of the fraction of each answered right
    (the macro-averaged recall): 0.5 for a classifier that always says the majority class of
    two, however rare the other."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    counts = confusion_matrix(y_true, y_pred)
    actual = counts.sum(axis=1)
    present = actual > 0
    return float(np.mean(np.diag(counts)[present] / actual[present]))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts, int64 (k, k): entry [i, j] is how many samples of class i were predicted as j.

    The diagonal holds the right answers. ``n_classes`` defaults to the largest label + 1.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    k = int(max(y_true.max(), y_pred.max())) + 1 if n_classes is None else int(n_classes)
    if y_true.max() >= k or y_pred.max() >= k:
        raise ValueError(f"labels must be in 0..{k - 1} for n_classes={k}")
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall, F1 and support (true samples) for each class, as arrays of shape (k,).

    precision_i = TP / (TP + FP): of the samples called i, the share that were i.
    recall_i    = TP / (TP + FN): of the samples that were i, the share called i.
    F1_i        = 2 precision recall / (precision + recall). 0 where undefined (nothing predicted).
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray | None = None

    def macro(self) -> dict:
        """Unweighted means over the classes present: those with a true sample or a predicted
        one (scikit-learn's rule). A class absent from both says nothing about the classifier."""
        present = self.support > 0
        if self.predicted is not None:
            present |= self.predicted > 0
        if not present.any():
            present[:] = True
        return {
            "precision": float(self.precision[present].mean()),
            "recall": float(self.recall[present].mean()),
            "f1": float(self.f1[present].mean()),
        }


def class_report(y_true, y_pred, n_classes: int | None = None) -> ClassReport:
    """Per-class precision, recall and F1 from the confusion matrix."""
    counts = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)
    true_positive = np.diag(counts)
    predicted = counts.sum(axis=0)
    actual = counts.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    return ClassReport(precision, recall, f1, actual.astype(np.int64), predicted.astype(np.int64))


# -- from probabilities ------------------------------------------------------------------------


def roc_auc(y_true, proba) -> float:
    """The area under the ROC curve: the chance that a random positive sample scores above a
    random negative one (ties count half).

    Two classes: ``proba`` (n,) or (n, 1) scores the positive class 1, or (n, 2) its second
    column does. More classes: ``proba`` (n, k), one column per class, and the result is the
    one-vs-rest AUC of each class averaged over the classes present in ``y_true``.
    """
    y_true = _labels(y_true, "y_true")
    proba = _proba(proba, len(y_true))
    if proba.shape[1] <= 2:
        return _binary_auc(y_true == 1, proba[:, -1])
    if y_true.max() >= proba.shape[1]:
        raise ValueError(f"y_true has label {y_true.max()} but proba has {proba.shape[1]} columns")
    present = [label for label in np.unique(y_true) if 0 < np.count_nonzero(y_true == label) < len(y_true)]
    if not present:
        raise ValueError("ROC AUC needs samples of at least two classes in y_true")
    return float(np.mean([_binary_auc(y_true == label, proba[:, label]) for label in present]))


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney: (the sum of the positives' ranks - n₊(n₊+1)/2) / (n₊ n₋), tied scores
    sharing their mean rank."""
    n_positive = int(np.count_nonzero(positive))
    n_negative = len(positive) - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError("ROC AUC needs both positive and negative samples in y_true")
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each run of ties starts
    ends = np.r_[starts[1:], len(ordered)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks from 1: the mean of start+1 .. end
    ranks = np.empty(len(score))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2.0) / (n_positive * n_negative))


def log_loss(y_true, proba, sample_weight=None) -> float:
    """The mean of -ln(the probability given to the true class), probabilities clipped to
    [ε, 1 - ε] (ε the float64 machine epsilon) so a confident mistake costs much, not infinity.
    ``proba`` as for :func:`roc_auc`; rows of several columns are renormalised to sum to 1."""
    y_true = _labels(y_true, "y_true")
    proba = _proba(proba, len(y_true))
    if proba.shape[1] == 1:
        proba = np.hstack([1.0 - proba, proba])
    if y_true.max() >= proba.shape[1]:
        raise ValueError(f"y_true has label {y_true.max()} but proba has {proba.shape[1]} columns")
    epsilon = np.finfo(np.float64).eps
    proba = np.clip(proba, epsilon, 1.0 - epsilon)
    proba = proba / proba.sum(axis=1, keepdims=True)
    losses = -np.log(proba[np.arange(len(y_true)), y_true])
    return float(np.average(losses, weights=_weights(sample_weight, len(y_true))))


# -- regression ------------------------------------------------------------------------------


def r2(y_true, y_pred, sample_weight=None) -> float:
    """The coefficient of determination R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²: 1 is perfect, 0 is
    as good as predicting the mean, below 0 worse. Averaged over the outputs; an output whose
    targets are all equal scores 1 if predicted exactly, else 0 (scikit-learn's rule)."""
    y_true, y_pred = _values(y_true, y_pred)
    weights = _weights(sample_weight, len(y_true))
    w = np.ones(len(y_true)) if weights is None else weights
    mean = np.average(y_true, axis=0, weights=w)
    residual = (w[:, None] * (y_true - y_pred) ** 2).sum(axis=0)
    total = (w[:, None] * (y_true - mean) ** 2).sum(axis=0)
    return _r2(residual, total)


def _r2(residual: np.ndarray, total: np.ndarray) -> float:
    """R² from each output's Σ(y - ŷ)² and Σ(y - ȳ)², averaged over the outputs."""
    scores = np.where(residual == 0.0, 1.0, 0.0)
    np.divide(residual, total, out=scores, where=total != 0.0)
    scores = np.where(total != 0.0, 1.0 - scores, scores)
    return float(scores.mean())


class RunningR2:
    """R² over rows that come a batch at a time (the training loop's minibatches, evaluate's
    slices): ``add(y_true, y_pred)`` each batch, (n, k) or (n,), then ``value()``, equal to
    :func:`r2` over all the rows. Σ(y - ȳ)² is gathered as sums of y - s and (y - s)², s the
    ``shift`` given (best the targets' mean) or the first batch's mean, so that targets far from
    0 lose no precision. The sums of tallies with one shift add up (:meth:`state`,
    :meth:`from_state`: several processes' rows)."""

    def __init__(self, shift=None):
        self.rows, self.shift = 0, None if shift is None else np.asarray(shift, dtype=np.float64)
        self.residual = self.sum = self.squares = 0.0

    def add(self, y_true, y_pred) -> None:
        y_true, y_pred = _values(y_true, y_pred)
        if self.shift is None:
            self.shift = y_true.mean(axis=0)
        deviation = y_true - self.shift
        self.residual = self.residual + ((y_true - y_pred) ** 2).sum(axis=0)
        self.sum = self.sum + deviation.sum(axis=0)
        self.squares = self.squares + (deviation**2).sum(axis=0)
        self.rows += len(y_true)

    def value(self) -> float | None:
        """R² of the rows added so far; None before any."""
        if not self.rows:
            return None
        return _r2(self.residual, np.maximum(self.squares - self.sum**2 / self.rows, 0.0))

    def state(self) -> np.ndarray:
        """The tally as one float64 array, for adding up: Σ(y - ŷ)², Σ(y - s), Σ(y - s)², rows."""
        k = len(self.shift) if self.shift is not None else 1
        parts = [np.broadcast_to(np.asarray(part, dtype=np.float64), (k,)) for part in (self.residual, self.sum, self.squares)]
        return np.concatenate([*parts, [float(self.rows)]])

    @classmethod
    def from_state(cls, state: np.ndarray, shift) -> RunningR2:
        """The tally whose :meth:`state` (or a sum of states with this ``shift``) is ``state``."""
        tally = cls(shift)
        k = (len(state) - 1) // 3
        tally.residual, tally.sum, tally.squares = state[:k], state[k : 2 * k], state[2 * k : 3 * k]
        tally.rows = int(state[-1])
        return tally


def mean_absolute_error(y_true, y_pred, sample_weight=None) -> float:
    """The mean of |y - ŷ|, averaged over the outputs."""
    y_true, y_pred = _values(y_true, y_pred)
    return float(np.average(np.abs(y_true - y_pred), axis=0, weights=_weights(sample_weight, len(y_true))).mean())


def root_mean_squared_error(y_true, y_pred, sample_weight=None) -> float:
    """√(mean of (y - ŷ)²), for each output, averaged over the outputs: in the targets' units."""
    y_true, y_pred = _values(y_true, y_pred)
    squares = np.average((y_true - y_pred) ** 2, axis=0, weights=_weights(sample_weight, len(y_true)))
    return float(np.sqrt(squares).mean())


def _labels(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0 or y.dtype.kind not in "iub" or (len(y) and y.min() < 0):
        raise ValueError(f"{name} must be a non-empty array of int labels >= 0 of shape (n,); got {y.dtype} {y.shape}")
    return y.astype(np.int64)


def _proba(proba, n: int) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = proba.reshape(-1, 1)
    if proba.ndim != 2 or len(proba) != n or not np.isfinite(proba).all():
        raise ValueError(f"proba must be finite probabilities of shape ({n},) or ({n}, k); got shape {proba.shape}")
    return proba


def _values(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true.reshape(-1, 1)
    if y_pred.ndim == 1:
        y_pred = y_pred.reshape(-1, 1)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be values of the same shape (n,) or (n, k); got {y_true.shape} and {y_pred.shape}")
    return y_true, y_pred


def _weights(sample_weight, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"sample_weight must be {n} finite weights >= 0, not all 0; got shape {weights.shape}")
    return weights


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1 or len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must be int label arrays of the same length (n,); got shapes "
            f"{y_true.shape} and {y_pred.shape}"
        )
    if len(y_true) == 0:
        raise ValueError("no samples: y_true and y_pred are empty")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold int labels; got dtype {labels.dtype}")
        if labels.min() < 0:
            raise ValueError(f"{name} has a negative label ({labels.min()})")
    return y_true.astype(np.int64), y_pred.astype(np.int64)
