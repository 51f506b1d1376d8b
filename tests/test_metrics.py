"""Accuracy, the confusion matrix and per-class precision/recall/F1, by hand and against
scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnet.metrics import ClassReport, accuracy, class_report, confusion_matrix

# A small case worked by hand: 8 samples, 3 classes.
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 1, 0, 1, 2, 2, 2, 0]
#            predicted: 0  1  2
HAND_MATRIX = [[2, 1, 0],  # true 0: two right, one called 1
               [0, 1, 1],  # true 1: one right, one called 2
               [1, 0, 2]]  # true 2: two right, one called 0


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(5 / 8)
    assert accuracy([3, 3], [3, 3]) == pytest.approx(1.0)
    assert accuracy([1, 2], [2, 1]) == pytest.approx(0.0)
    assert type(accuracy(np.array(Y_TRUE, np.uint8), np.array(Y_PRED, np.int32))) is float


def test_confusion_matrix_by_hand():
    matrix = confusion_matrix(Y_TRUE, Y_PRED)
    assert matrix.dtype == np.int64 and matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix, HAND_MATRIX)


def test_confusion_matrix_with_more_classes_than_seen():
    matrix = confusion_matrix([0, 1, 1], [1, 1, 0], n_classes=4)
    np.testing.assert_array_equal(matrix, [[0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


def test_confusion_matrix_size_comes_from_either_side():
    assert confusion_matrix([0, 0], [0, 4]).shape == (5, 5)
    assert confusion_matrix([3, 0], [0, 0]).shape == (4, 4)


def test_confusion_matrix_labels_beyond_n_classes():
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.1 for n_classes=2"):
        confusion_matrix([0, 2], [0, 1], n_classes=2)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2 for n_classes=3"):
        confusion_matrix([0, 1], [0, 3], n_classes=3)


def test_class_report_by_hand():
    report = class_report(Y_TRUE, Y_PRED)
    # precision = TP / predicted (column sums 3, 2, 3); recall = TP / actual (row sums 3, 2, 3)
    np.testing.assert_allclose(report.precision, [2 / 3, 1 / 2, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(report.recall, [2 / 3, 1 / 2, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(report.f1, [2 / 3, 1 / 2, 2 / 3], rtol=1e-12)
    np.testing.assert_array_equal(report.support, [3, 2, 3])
    assert report.support.dtype == np.int64


def test_class_report_with_precision_and_recall_apart():
    # class 0: 2 true, predicted 4 times, 2 right: precision 1/2, recall 1, F1 = 2/3
    # class 1: 3 true, predicted once, right: precision 1, recall 1/3, F1 = 1/2
    report = class_report([0, 0, 1, 1, 1], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(report.precision, [0.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(report.recall, [1.0, 1 / 3], rtol=1e-12)
    np.testing.assert_allclose(report.f1, [2 / 3, 0.5], rtol=1e-12)
    macro = report.macro()
    assert macro == pytest.approx({"precision": 0.75, "recall": 2 / 3, "f1": 7 / 12})


def test_zero_division_gives_zero():
    # class 1 is never predicted (precision 0/0), class 2 never occurs (recall 0/0), class 3
    # is neither (all 0/0); class 0 is predicted but never right (F1 0/0)
    report = class_report([0, 1, 1], [2, 0, 2], n_classes=4)
    for values in (report.precision, report.recall, report.f1):
        assert np.all(np.isfinite(values))
        np.testing.assert_array_equal(values, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(report.support, [1, 2, 0, 0])


def test_a_perfect_report():
    report = class_report([0, 1, 2, 1], [0, 1, 2, 1])
    for values in (report.precision, report.recall, report.f1):
        np.testing.assert_allclose(values, 1.0)
    assert isinstance(report, ClassReport)


@pytest.mark.parametrize("k, n, seed", [(2, 50, 0), (7, 200, 1), (10, 1000, 2), (12, 30, 3)])
def test_class_report_agrees_with_scikit_learn(k, n, seed):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))  # mostly right
    labels = list(range(k))
    report = class_report(y_true, y_pred, n_classes=k)
    precision, recall, f1, support = sklearn_metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    np.testing.assert_allclose(report.precision, precision, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(report.recall, recall, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(report.f1, f1, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(report.support, support)
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, n_classes=k), sklearn_metrics.confusion_matrix(y_true, y_pred, labels=labels)
    )
    assert accuracy(y_true, y_pred) == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    macro = sklearn_metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    assert report.macro() == pytest.approx(dict(zip(("precision", "recall", "f1"), macro[:3])), rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40))
def test_property_the_matrix_counts_every_sample_and_its_diagonal_is_the_accuracy(pairs):
    y_true, y_pred = (np.array(side) for side in zip(*pairs))
    matrix = confusion_matrix(y_true, y_pred, n_classes=6)
    assert matrix.sum() == len(pairs)
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(y_true, minlength=6))
    np.testing.assert_array_equal(matrix.sum(axis=0), np.bincount(y_pred, minlength=6))
    assert np.trace(matrix) / len(pairs) == pytest.approx(accuracy(y_true, y_pred))


@pytest.mark.parametrize("function", [accuracy, confusion_matrix, class_report])
@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([0, 1, 2], [0, 1], r"same length \(n,\); got shapes \(3,\) and \(2,\)"),
        ([[0, 1]], [[0, 1]], r"same length \(n,\); got shapes \(1, 2\) and \(1, 2\)"),
        (np.zeros(0, int), np.zeros(0, int), "no samples: y_true and y_pred are empty"),
        ([0.0, 1.0], [0, 1], "y_true must hold int labels; got dtype float64"),
        ([0, 1], [True, False], "y_pred must hold int labels; got dtype bool"),
        ([0, -1], [0, 1], r"y_true has a negative label \(-1\)"),
        ([0, 1], [-3, 1], r"y_pred has a negative label \(-3\)"),
    ],
)
def test_bad_input(function, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        function(y_true, y_pred)
