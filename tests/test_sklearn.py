"""nnet.sklearn's estimators at work: in scikit-learn's tools, on tables with text and missing
cells, warm starts and partial fits that continue exactly, weights, and their model files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

import nnet  # noqa: E402
from nnet.preprocessing import Preprocessing  # noqa: E402
from nnet.sklearn import NNetClassifier, NNetRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
FAST = {"hidden_layer_sizes": (16,), "max_iter": 30, "learning_rate_init": 0.01, "random_state": 0}


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_in_pipeline_grid_search_cross_validation_and_clone(iris):
    X, y = iris
    pipeline = make_pipeline(StandardScaler(), NNetClassifier(**FAST))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    search = GridSearchCV(NNetClassifier(**FAST), {"learning_rate_init": [1e-3, 1e-2]}, cv=3).fit(X, y)
    assert search.best_params_["learning_rate_init"] in (1e-3, 1e-2) and search.best_score_ > 0.8
    twin = clone(NNetClassifier(**FAST).fit(X, y))
    assert not hasattr(twin, "network_") and twin.get_params() == NNetClassifier(**FAST).get_params()
    pipeline.fit(X, y, nnetclassifier__sample_weight=np.ones(len(y)))  # fit parameters reach it


def test_a_dataframe_with_text_missing_cells_and_string_labels():
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(0, 1, n)
    label = np.where((colour == "red") | (size > 1.0), "yes", "no")
    size[rng.random(n) < 0.05] = np.nan
    frame = pandas.DataFrame({"size": size, "colour": pandas.Categorical(colour), "noise": rng.normal(size=n)})
    frame.loc[rng.random(n) < 0.05, "colour"] = None
    model = NNetClassifier(max_iter=200, random_state=0).fit(frame, label)
    assert list(model.classes_) == ["no", "yes"]
    assert list(model.feature_names_in_) == ["size", "colour", "noise"] and model.n_features_in_ == 3
    assert model.preprocessing_.input_names == ["size", "colour=blue", "colour=green", "colour=red", "noise"]
    assert set(model.predict(frame)) <= {"no", "yes"} and model.score(frame, label) > 0.85
    proba = model.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_warm_start_and_partial_fit_continue_exactly(iris):
    X, y = iris
    settings = {**FAST, "tol": 0.0, "n_iter_no_change": 1000}
    once = NNetClassifier(**{**settings, "max_iter": 8}).fit(X, y)
    twice = NNetClassifier(**{**settings, "max_iter": 4}, warm_start=True).fit(X, y)
    twice.fit(X, y)  # Adam's moments kept: the same walk as 8 epochs in one go
    np.testing.assert_array_equal(twice.network_.parameters, once.network_.parameters)
    assert twice.n_iter_ == 8 and twice.loss_curve_ == once.loss_curve_
    parts = NNetClassifier(**settings)
    for _ in range(8):
        parts.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(parts.network_.parameters, once.network_.parameters)
    fresh = NNetClassifier(**{**settings, "max_iter": 4}).fit(X, y)
    fresh.fit(X, y)  # without warm_start a second fit starts over
    np.testing.assert_array_equal(fresh.network_.parameters,
                                  NNetClassifier(**{**settings, "max_iter": 4}).fit(X, y).network_.parameters)


def test_pickled_estimator_predicts_and_continues_the_same(iris):
    X, y = iris
    model = NNetClassifier(**{**FAST, "tol": 0.0, "n_iter_no_change": 1000, "max_iter": 3}, warm_start=True).fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    model.fit(X, y)
    copy.fit(X, y)
    np.testing.assert_array_equal(copy.network_.parameters, model.network_.parameters)
    assert copy.network_.layers[0].W.base is not None  # views into the flat array again


def test_class_weight_is_scikit_learns_sample_weight():
    X, y = make_classification(n_samples=600, weights=[0.95], random_state=0)
    balanced = NNetClassifier(**FAST, class_weight="balanced").fit(X, y)
    by_hand = NNetClassifier(**FAST).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(balanced.network_.parameters, by_hand.network_.parameters)
    plain = NNetClassifier(**FAST).fit(X, y)
    recall = [np.mean(model.predict(X)[y == 1] == 1) for model in (plain, balanced)]
    assert recall[1] > recall[0]


def test_early_stopping_keeps_the_best_validation_epoch(iris):
    X, y = iris
    model = NNetClassifier(**{**FAST, "max_iter": 200}, early_stopping=True, validation_fraction=0.2,
                           n_iter_no_change=5).fit(X, y)
    assert model.n_iter_ < 200 and len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_regressor_multi_output_in_the_targets_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    Y = np.column_stack([X @ [1.0, 2.0, 0, 0] * 100 + 5000, np.sin(X[:, 2]) * 0.01])
    model = NNetRegressor(max_iter=300, random_state=0).fit(X, Y)
    predicted = model.predict(X)
    assert predicted.shape == (400, 2)
    assert model.score(X, Y) > 0.9
    assert abs(predicted[:, 0].mean() - 5000) < 50  # back in the targets' units
    assert NNetRegressor(**FAST).fit(X, Y[:, 0]).predict(X).shape == (400,)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regressor_losses(loss):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] * 3 + rng.normal(0, 0.1, 300)
    model = NNetRegressor(max_iter=100, random_state=0, loss=loss).fit(X, y)
    assert model.network_.cost.name == {"squared_error": "quadratic", "absolute_error": "mae", "huber": "huber"}[loss]
    assert model.score(X, y) > 0.9


def test_the_network_saves_with_its_preprocessing(tmp_path, iris):
    X, y = iris
    model = NNetClassifier(**FAST).fit(X, y)
    path = nnet.save(model.network_, tmp_path / "iris.safetensors")
    loaded = nnet.load(path)
    preprocessing = Preprocessing.from_description(loaded.metadata["preprocessing"])
    table = nnet.tables.as_table(X, [column["name"] for column in preprocessing.columns])
    x = preprocessing.inputs(table, loaded.dtype)
    np.testing.assert_allclose(loaded.forward(x), model.predict_proba(X), rtol=1e-12)
    assert loaded.metadata["classes"] == ["0", "1", "2"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"solver": "lbfgs"}, "unknown solver 'lbfgs'; choose one of: sgd, adam, adamw"),
    ({"activation": "softplus"}, "unknown activation 'softplus'"),
    ({"hidden_layer_sizes": (10, 0)}, "a hidden layer size must be a positive integer; got 0"),
    ({"learning_rate": "invscaling"}, "unknown learning_rate 'invscaling'"),
    ({"class_weight": "even"}, "class_weight must be a dict, 'balanced' or None; got 'even'"),
])
def test_bad_parameters_get_one_line(iris, settings, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        NNetClassifier(**{**FAST, **settings}).fit(X, y)


def test_regressor_keeps_the_names_of_dataframe_targets(tmp_path):
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    X = pandas.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    Y = pandas.DataFrame({"price": X["a"] * 2, "rent": X["b"] - 1})
    model = NNetRegressor(**FAST).fit(X, Y)
    assert model.network_.metadata["targets"] == ["price", "rent"]
    assert NNetRegressor(**FAST).fit(X, Y["rent"]).network_.metadata["targets"] == ["rent"]
    assert NNetRegressor(**FAST).fit(X.to_numpy(), Y["rent"].to_numpy()).network_.metadata["targets"] == ["y0"]
    loaded = nnet.load(nnet.save(model.network_, tmp_path / "m.safetensors"))
    assert loaded.task == "regression" and loaded.metadata["targets"] == ["price", "rent"]
