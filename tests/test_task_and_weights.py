"""The network's task (classification or regression), row weights, and the shuffled,
stratified split: what the data path makes of them, and how model files keep the task."""

from __future__ import annotations

import numpy as np
import pytest

import nnet
from nnet import Network, data


def regression_data(n=256, seed=0, outputs=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    coefficients = rng.normal(size=(3, outputs))
    y = (x @ coefficients + 0.5).astype(np.float32)
    return x, (y[:, 0] if outputs == 1 else y)


# -- the task ----------------------------------------------------------------------------------


def test_task_is_inferred_from_the_output_and_can_be_given():
    assert Network([3, 1], output="identity").task == "regression"
    assert Network([3, 1]).task == "classification"  # the lessons' sigmoid yes/no neuron
    assert Network([3, 2], output="sigmoid", task="regression").task == "regression"
    assert Network([3, 2], output="identity", task="classification").task == "classification"
    with pytest.raises(ValueError, match="task must be one of classification, regression .*; got 'values'"):
        Network([3, 1], task="values")


@pytest.mark.parametrize("outputs", [1, 2])
def test_regression_predict_returns_values_not_thresholds(outputs):
    x, y = regression_data(outputs=outputs)
    net = Network([3, 16, outputs], activation="tanh", output="identity", cost="quadratic", init="xavier", seed=0)
    history = net.fit(x, y, epochs=40, batch_size=16, optimizer="adam", learning_rate=0.01, seed=0)
    predicted = net.predict(x)
    assert predicted.shape == ((len(x),) if outputs == 1 else (len(x), outputs))
    assert predicted.dtype == np.float32
    assert len(np.unique(predicted)) > 100  # values, not 0/1
    assert nnet.metrics.r2(y, predicted) > 0.95
    assert history.epochs[-1].train_accuracy is None
    assert net.evaluate(x, y).accuracy is None
    assert net.evaluate(x, y).cost < history.epochs[0].train_cost


def test_single_output_classifier_still_thresholds():
    net = Network([3, 1], seed=0)
    predicted = net.predict(np.random.default_rng(0).normal(size=(20, 3)))
    assert predicted.dtype == np.int64 and set(np.unique(predicted)) <= {0, 1}


def test_regression_targets_are_checked_in_one_line():
    net = Network([3, 2], output="identity")
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"y must be target values of shape \(4, 2\) for a network with 2 outputs; got shape \(4,\)"):
        net.examples(x, np.zeros(4))
    with pytest.raises(ValueError, match=r"y must be finite; found a non-finite target at row 2: \[nan, 1.0\]"):
        net.examples(x, np.array([[0, 1], [0, 1], [np.nan, 1], [0, 1]], float))
    with pytest.raises(ValueError, match="a regression network's y must hold numbers; got dtype <U1"):
        net.examples(x, np.array([["a", "b"]] * 4))


@pytest.mark.parametrize("cost", ["huber", "mae", "quadratic"])
def test_task_and_cost_settings_survive_a_model_file(tmp_path, cost):
    settings = {"threshold": 0.25} if cost == "huber" else {}
    net = Network([3, 4, 2], activation="relu", output="identity", cost=nnet.losses.get(cost, **settings), seed=1)
    path = nnet.save(net, tmp_path / "model.safetensors", metadata={"targets": ["a", "b"]})
    loaded = nnet.load(path)
    assert loaded.task == "regression"
    assert loaded.cost.name == cost and loaded.cost.settings() == settings
    assert "classes" not in loaded.metadata and loaded.metadata["targets"] == ["a", "b"]
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_a_regression_model_file_refuses_wrong_target_names(tmp_path):
    net = Network([3, 2], output="identity")
    with pytest.raises(ValueError, match="targets must be a list of 2 strings"):
        nnet.save(net, tmp_path / "model.safetensors", metadata={"targets": ["only one"]})


def test_a_classifier_with_an_identity_output_stays_one_after_loading(tmp_path):
    net = Network([3, 3], output="identity", task="classification")
    loaded = nnet.load(nnet.save(net, tmp_path / "m.safetensors"))
    assert loaded.task == "classification" and loaded.metadata["classes"] == ["0", "1", "2"]


# -- row weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_integer_weights_are_repeated_rows(task):
    """Weight w on a row is the row w times over: the oracle is the same batch, rows repeated."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(7, 4))
    if task == "classification":
        net = Network([4, 5, 3], activation="tanh", output="softmax", cost="cross_entropy", dtype="float64", seed=0)
        y = rng.integers(0, 3, 7)
    else:
        net = Network([4, 5, 2], activation="tanh", output="identity", cost="huber", dtype="float64", seed=0)
        y = rng.normal(0, 2, (7, 2))
    weights = np.array([1, 3, 0, 2, 1, 1, 4])
    weighted = net.backprop(x, y, sample_weight=weights, record=True)
    repeated = net.backprop(np.repeat(x, weights, axis=0), np.repeat(y, weights, axis=0), record=True)
    assert weighted.cost == pytest.approx(repeated.cost, rel=1e-12)
    for (dW, db), (dW_rep, db_rep) in zip(weighted.gradients, repeated.gradients):
        np.testing.assert_allclose(dW, dW_rep, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, db_rep, rtol=1e-10, atol=1e-14)


def test_weighted_training_learns_the_rare_class():
    """A 5%-positive problem: weighting the positives makes the network find them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 2)).astype(np.float32)
    y = ((x[:, 0] > 1.6) & (x[:, 1] > -0.5)).astype(np.int64)
    assert 0.02 < y.mean() < 0.08

    def recall(sample_weight):
        net = Network([2, 16, 2], activation="relu", output="softmax", cost="cross_entropy", seed=0)
        net.fit(x, y, epochs=15, batch_size=64, optimizer="adam", learning_rate=0.01, seed=0,
                sample_weight=sample_weight)
        return nnet.metrics.class_report(y, net.predict(x), 2).recall[1]

    balanced = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    assert recall(balanced) > recall(None) + 0.05
    assert recall(balanced) > 0.9


def test_training_with_weights_of_one_is_training_without():
    x, y = regression_data(n=64)
    runs = []
    for weights in (None, np.ones(64)):
        net = Network([3, 8, 1], activation="tanh", output="identity", init="xavier", seed=0)
        net.fit(x, y, epochs=3, batch_size=10, optimizer="adam", seed=3, sample_weight=weights)
        runs.append(net.parameters.copy())
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("weights", "message"), [
    (np.ones(3), r"sample_weight must be 4 numbers, one per row; got float64 of shape \(3,\)"),
    (np.array([1.0, -1.0, 1.0, 1.0]), "sample_weight must be finite and >= 0; got -1.0 at row 1"),
    (np.array([1.0, 1.0, np.inf, 1.0]), "sample_weight must be finite and >= 0; got inf at row 2"),
    (np.zeros(4), "sample_weight is 0 for every row"),
])
def test_bad_weights_get_one_line(weights, message):
    with pytest.raises(ValueError, match=message):
        Network([3, 2]).examples(np.zeros((4, 3)), np.array([0, 1, 0, 1]), weights)


def test_fit_splits_weights_with_the_validation_rows():
    x, y = regression_data(n=50)
    net = Network([3, 1], output="identity", seed=0)
    history = net.fit(x, y, epochs=1, validation_split=10, sample_weight=np.ones(50), seed=0)
    assert history.epochs[0].validation_cost is not None


# -- the shuffled, stratified split ----------------------------------------------------------------


def test_stratified_split_holds_out_every_class_in_its_share():
    labels = np.repeat([0, 1, 2], [50, 30, 20])  # sorted by class, as files often are
    kept, held = data.shuffled_split(100, 0.2, np.random.default_rng(0), labels)
    assert len(held) == 20 and len(kept) == 80
    assert np.bincount(labels[held]).tolist() == [10, 6, 4]
    assert not set(kept) & set(held) and set(kept) | set(held) == set(range(100))
    again = data.shuffled_split(100, 0.2, np.random.default_rng(0), labels)
    np.testing.assert_array_equal(again[1], held)
    other = data.shuffled_split(100, 0.2, np.random.default_rng(1), labels)
    assert not np.array_equal(other[1], held)


def test_stratified_split_rounds_to_the_count_asked():
    labels = np.array([0] * 7 + [1] * 7 + [2] * 7)
    for count in range(1, 21):
        _, held = data.shuffled_split(21, count, np.random.default_rng(count), labels)
        assert len(held) == count
        assert np.ptp(np.bincount(labels[held], minlength=3)) <= 1


def test_plain_split_is_shuffled():
    kept, held = data.shuffled_split(1000, 100, np.random.default_rng(0))
    assert len(held) == 100 and held.min() < 500 < held.max()


def test_a_trained_regression_network_saves_its_history(tmp_path):
    x, y = regression_data(n=64)
    net = Network([3, 4, 1], activation="tanh", output="identity", seed=0)
    history = net.fit(x, y, epochs=2, validation_split=16, seed=0)
    loaded = nnet.load(nnet.save(net, tmp_path / "r.safetensors", metadata={"history": history.to_dict()}))
    records = loaded.metadata["history"]["epochs"]
    assert [r["train_accuracy"] for r in records] == [None, None]
    assert all(r["validation_cost"] > 0 for r in records)
