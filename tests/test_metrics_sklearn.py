"""The metrics against scikit-learn's own functions of the same name, on random data drawn so
that ties, absent classes and weights all occur."""

from __future__ import annotations

import numpy as np
import pytest

from nnet import metrics

sk = pytest.importorskip("sklearn.metrics")

SEEDS = range(6)


def labels_and_proba(seed, n=60, k=4, absent=None):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), size=n)
    proba = np.round(proba, 2)  # ties in the scores
    proba /= proba.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in proba])
    if absent is not None:
        y[y == absent] = (absent + 1) % k
    return y, proba


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_roc_auc(seed):
    y, proba = labels_and_proba(seed, k=2)
    expected = sk.roc_auc_score(y, proba[:, 1])
    assert metrics.roc_auc(y, proba[:, 1]) == pytest.approx(expected, rel=1e-12)
    assert metrics.roc_auc(y, proba) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_vs_rest_roc_auc(seed):
    y, proba = labels_and_proba(seed)
    expected = sk.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert metrics.roc_auc(y, proba) == pytest.approx(expected, rel=1e-12)


def test_one_vs_rest_roc_auc_over_the_classes_present():
    y, proba = labels_and_proba(0, k=4, absent=2)
    present = [0, 1, 3]
    expected = np.mean([sk.roc_auc_score(y == c, proba[:, c]) for c in present])
    assert metrics.roc_auc(y, proba) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss(seed, weighted):
    y, proba = labels_and_proba(seed)
    proba[0, y[0]] = 0.0  # a confident mistake: clipped, not infinite
    proba /= proba.sum(axis=1, keepdims=True)
    w = np.random.default_rng(seed).uniform(0, 2, len(y)) if weighted else None
    expected = sk.log_loss(y, proba, sample_weight=w, labels=range(4))
    assert metrics.log_loss(y, proba, sample_weight=w) == pytest.approx(expected, rel=1e-9)


def test_binary_log_loss_from_one_column():
    y, proba = labels_and_proba(1, k=2)
    assert metrics.log_loss(y, proba[:, 1]) == pytest.approx(sk.log_loss(y, proba[:, 1]), rel=1e-9)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", SEEDS)
def test_balanced_accuracy_and_macro_averages(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, 40)
    y_true[y_true == 3] = 0  # class 3 absent from the truth
    y_pred = rng.integers(0, 6, 40)  # and class 5 only ever predicted
    assert metrics.balanced_accuracy(y_true, y_pred) == pytest.approx(
        sk.balanced_accuracy_score(y_true, y_pred), rel=1e-12)
    macro = metrics.class_report(y_true, y_pred, n_classes=7).macro()  # class 6 in neither: ignored
    for name, function in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        assert macro[name] == pytest.approx(function(y_true, y_pred, average="macro", zero_division=0), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics(seed, outputs, weighted):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=(30, outputs))
    y_pred = y_true + rng.normal(0.0, 0.7, y_true.shape)
    if outputs == 1:
        y_true, y_pred = y_true[:, 0], y_pred[:, 0]
    w = rng.uniform(0, 2, 30) if weighted else None
    assert metrics.r2(y_true, y_pred, w) == pytest.approx(sk.r2_score(y_true, y_pred, sample_weight=w), rel=1e-12)
    assert metrics.mean_absolute_error(y_true, y_pred, w) == pytest.approx(
        sk.mean_absolute_error(y_true, y_pred, sample_weight=w), rel=1e-12)
    assert metrics.root_mean_squared_error(y_true, y_pred, w) == pytest.approx(
        sk.root_mean_squared_error(y_true, y_pred, sample_weight=w), rel=1e-12)


def test_r2_of_a_constant_target_follows_scikit_learn():
    y_true = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    for y_pred in (y_true.copy(), y_true + 0.5):
        assert metrics.r2(y_true, y_pred) == pytest.approx(sk.r2_score(y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_accuracy(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred, w = rng.integers(0, 3, 25), rng.integers(0, 3, 25), rng.uniform(0, 1, 25)
    assert metrics.accuracy(y_true, y_pred, w) == pytest.approx(sk.accuracy_score(y_true, y_pred, sample_weight=w))


def test_bad_input_gets_one_line():
    with pytest.raises(ValueError, match="both positive and negative"):
        metrics.roc_auc([1, 1, 1], [0.2, 0.4, 0.9])
    with pytest.raises(ValueError, match=r"proba must be finite probabilities of shape \(3,\) or \(3, k\)"):
        metrics.log_loss([0, 1, 1], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="same shape"):
        metrics.r2([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="sample_weight must be 2 finite weights"):
        metrics.r2([1.0, 2.0], [1.0, 2.0], [1.0, -1.0])
