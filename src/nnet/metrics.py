"""How good are the answers: accuracy, the confusion matrix, per-class precision, recall and F1.

All functions take int labels: ``y_true`` and ``y_pred`` of shape (n,), values in 0..k-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accuracy(y_true, y_pred) -> float:
    """The fraction of samples whose predicted label is the true one."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.count_nonzero(y_true == y_pred)) / len(y_true)


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

    def macro(self) -> dict:
        """Unweighted means over the classes."""
        return {
            "precision": float(self.precision.mean()),
            "recall": float(self.recall.mean()),
            "f1": float(self.f1.mean()),
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
    return ClassReport(precision, recall, f1, actual.astype(np.int64))


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
