"""Regression for real in the history and the reports: R² per epoch (against scikit-learn's
r2_score), runs.scores' R², MAE and RMSE in the targets' units, and what `nnet info`, the closing
table, the history picture and the lab say of a regression network (never accuracy, never
"classes 0 and 1")."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import nnet
from nnet import metrics, runs
from nnet.cli import main
from nnet.cli._report import Progress, report
from nnet.history import EpochRecord, History
from nnet.preprocessing import Preprocessing
from nnet.tables import as_table


def regression_data(n=200, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3 * rng.normal(size=n) + offset
    return x, y


def regression_net(seed=0, outputs=1):
    return nnet.Network([4, 16, outputs], activation="tanh", output="identity", seed=seed)


# -- R² accumulated a batch at a time ---------------------------------------------------------


@pytest.mark.parametrize("offset", [0.0, 1e6], ids=["centred", "far-from-0"])
def test_running_r2_over_batches_is_r2_score_over_all_rows(offset):
    rng = np.random.default_rng(1)
    y = rng.normal(size=(1000, 3)) + offset
    predicted = y + rng.normal(scale=0.5, size=y.shape)
    running = metrics.RunningR2()
    assert running.value() is None
    for start in range(0, 1000, 96):  # uneven batches, the last a short one
        running.add(y[start : start + 96], predicted[start : start + 96])
    assert running.value() == pytest.approx(r2_score(y, predicted), abs=1e-9)
    constant = metrics.RunningR2()
    constant.add(np.full(5, 2.0), np.full(5, 2.0))
    assert constant.value() == 1.0  # scikit-learn's rule for targets that never vary


def test_evaluate_gives_r2_for_regression_and_accuracy_for_a_classifier():
    x, y = regression_data()
    net = regression_net()
    net.fit(x, y, epochs=3, batch_size=20, optimizer="adam", learning_rate=0.01, seed=0)
    score = net.evaluate(x, y)
    assert score.accuracy is None
    assert score.r2 == pytest.approx(r2_score(y, net.predict(x)), abs=1e-6)
    classifier = nnet.Network([4, 3], output="softmax", cost="cross_entropy")
    labelled = classifier.evaluate(x, (y > 0).astype(int))
    assert labelled.r2 is None and 0 <= labelled.accuracy <= 1


# -- the history --------------------------------------------------------------------------------


def test_each_epoch_records_r2_for_regression_and_none_for_accuracy():
    x, y = regression_data(300)
    net = regression_net()
    history = net.fit(x[:240], y[:240], epochs=4, batch_size=16, optimizer="adam", learning_rate=0.01,
                      validation_data=(x[240:], y[240:]), seed=0)
    last = history.epochs[-1]
    assert last.train_accuracy is None and last.validation_accuracy is None
    assert last.validation_r2 == pytest.approx(r2_score(y[240:], net.predict(x[240:])), abs=1e-6)
    assert 0.5 < last.train_r2 <= 1 and history.column("train_r2")[0] < last.train_r2  # it learns


def test_the_training_r2_is_measured_on_each_batch_before_its_step():
    """With a learning rate too small to move anything, the batches' R² is the R² of the
    untrained network on the whole training set."""
    x, y = regression_data()
    net = regression_net(seed=3)
    before = r2_score(y, net.predict(x))
    history = net.fit(x, y, epochs=1, batch_size=32, optimizer="sgd", learning_rate=1e-12, seed=0)
    assert history.epochs[0].train_r2 == pytest.approx(before, abs=1e-5)


def test_a_classifier_records_accuracy_and_no_r2():
    x, y = regression_data()
    net = nnet.Network([4, 8, 2], activation="relu", cost="cross_entropy")
    history = net.fit(x, (y > 0).astype(int), epochs=2, batch_size=32, validation_split=0.2, seed=0)
    assert history.column("train_r2") == [None, None] and history.column("validation_r2") == [None, None]
    assert all(0 <= value <= 1 for value in history.column("validation_accuracy"))


def test_histories_written_before_r2_are_read():
    old = {"epochs": [{"epoch": 1, "train_cost": 0.5, "train_accuracy": 0.8, "validation_cost": None,
                       "validation_accuracy": None, "learning_rate": 0.1, "seconds": 1.0}], "seed": 0}
    history = History.from_dict(old)
    assert history.epochs[0].train_r2 is None and history.epochs[0].validation_r2 is None
    assert History.from_dict(history.to_dict()).to_dict()["epochs"][0]["train_r2"] is None


# -- runs.scores ---------------------------------------------------------------------------------


def test_scores_of_a_regression_network_are_r2_mae_rmse_in_the_targets_units():
    rng = np.random.default_rng(2)
    table = as_table(rng.normal(size=(200, 3)), ["a", "b", "c"])
    price = 1000.0 + 250.0 * table.columns[0].values + 20.0 * rng.normal(size=200)
    preprocessing = Preprocessing.learn(table, price, ["price"])
    x, standardised = preprocessing.inputs(table), preprocessing.targets(price)
    net = nnet.Network([3, 8, 1], activation="tanh", output="identity", seed=0)
    net.fit(x, standardised, epochs=20, batch_size=20, optimizer="adam", learning_rate=0.01, seed=0)
    result = runs.scores(net, preprocessing, train=(x, standardised), validation=None)
    assert result["validation"] is None and set(result["train"]) == {"cost", "r2", "mae", "rmse"}
    predicted = preprocessing.values(net.forward(x))
    assert result["train"]["r2"] == pytest.approx(r2_score(price, predicted), abs=1e-6)
    assert result["train"]["mae"] == pytest.approx(mean_absolute_error(price, predicted), rel=1e-6)
    assert result["train"]["rmse"] == pytest.approx(np.sqrt(mean_squared_error(price, predicted)), rel=1e-6)
    assert result["train"]["mae"] > 5  # in dollars, not in standard deviations
    assert result["train"]["cost"] == pytest.approx(net.evaluate(x, standardised).cost)


def test_scores_of_a_classifier_are_accuracy_and_cost():
    x, y = regression_data()
    labels = (y > 0).astype(int)
    net = nnet.Network([4, 2], output="softmax", cost="cross_entropy")
    result = runs.scores(net, test=(x, labels))
    assert set(result["test"]) == {"cost", "accuracy"}
    assert result["test"]["accuracy"] == pytest.approx(np.mean(net.predict(x) == labels))


# -- what people see --------------------------------------------------------------------------------


def regression_history() -> History:
    records = [EpochRecord(epoch=e, train_cost=1.0 / e, train_accuracy=None, validation_cost=1.2 / e,
                           validation_accuracy=None, learning_rate=0.01, seconds=0.5, train_r2=0.5 + e / 10,
                           validation_r2=0.4 + e / 10) for e in (1, 2, 3)]
    return History(epochs=records, seed=0)


def test_the_closing_table_speaks_r2_mae_and_rmse_for_regression():
    scores = {"train": {"cost": 0.1, "r2": 0.81, "mae": 2.5, "rmse": 3.25}, "validation": None,
              "test": {"cost": 0.2, "r2": 0.7512, "mae": 3.0, "rmse": 4.0}}
    text = report(regression_history(), scores, "model.safetensors", 3.0)
    assert "train R²" in text and "validation R²" in text and "accuracy" not in text
    assert "test R²" in text and "0.7512  (MAE 3, RMSE 4, cost 0.2000)" in text
    header, rule, *rows = text.split("\n\n")[0].splitlines()
    assert rows[-1].split()[3:6] == ["0.8000", "0.4000", "0.7000"]  # train R², validation cost, validation R²


def test_the_progress_line_of_a_regression_epoch_gives_r2(capsys):
    class State:  # what a callback sees, as the training loop fills it in
        epochs, batches, epoch = 3, 1, 0
        network = regression_net()
        record = regression_history().epochs[0]

    progress = Progress()
    progress.on_epoch_begin(State)
    State.batch, State.batch_size, State.batch_cost, State.batch_accuracy = 0, 10, 0.5, float("nan")
    progress.on_batch_end(State)
    progress.on_epoch_end(State)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "R² 0.6000" in line and "validation cost 1.2000  R² 0.5000" in line and "accuracy" not in line


@pytest.fixture
def regression_model(tmp_path):
    x, y = regression_data()
    net = regression_net(outputs=1)
    history = net.fit(x, y, epochs=2, batch_size=20, optimizer="adam", learning_rate=0.01, validation_split=0.2,
                      seed=0)
    path = tmp_path / "regression.safetensors"
    nnet.save(net, path, metadata={"targets": ["price"], "history": history.to_dict(),
                                   "scores": runs.scores(net, train=(x, y), test=(x[:50], y[:50]))})
    return path


def test_info_of_a_regression_model_shows_its_target_and_r2_never_classes(regression_model, capsys):
    assert main(["info", str(regression_model)]) == 0
    out = capsys.readouterr().out
    assert "regression: 1 value (price)" in out and "classes" not in out
    scores = out[out.index("\nscores\n"):]
    assert "R²" in scores and "MAE" in scores and "RMSE" in scores and "accuracy" not in scores
    assert main(["info", str(regression_model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scores"]["test"]["r2"] <= 1


def test_the_history_picture_of_a_regression_network_draws_r2(tmp_path):
    pytest.importorskip("matplotlib")
    from nnet import plots

    figure = plots.plot_history(regression_history(), path=tmp_path / "history.png")
    quality = figure.axes[1]
    assert quality.get_title() == "R²" and "accuracy" not in quality.get_ylabel()
    (training,) = [line for line in quality.get_lines() if line.get_label() == "training"]
    np.testing.assert_allclose(training.get_ydata(), [0.6, 0.7, 0.8])
    assert figure._suptitle.get_text() == "Training history: 3 epochs, final validation R² 0.700"


def test_the_lab_describes_a_regression_network_by_its_targets():
    from nnet.lab import explain

    net = regression_net(outputs=2)
    described = explain.describe(net, ["price", "rent"], [4])
    assert described["task"] == "regression" and described["classes"] == [] and described["targets"] == ["price", "rent"]
    forward = explain.forward_pass(net, np.ones(4, np.float32), ["price", "rent"], values=lambda out: out[0] * 10 + 1)
    assert forward["targets"] == ["price", "rent"] and "probabilities" not in forward and "label" not in forward
    expected = net.forward(np.ones((1, 4), np.float32))[0] * 10 + 1
    np.testing.assert_allclose(forward["values"], expected, rtol=1e-6)
