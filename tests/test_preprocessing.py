"""Preprocessing that travels with the model: against scikit-learn's imputers, scaler and
one-hot encoder on the same columns; learned from training rows only; kept as JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnet import tables
from nnet.datasets import DataFormatError
from nnet.preprocessing import Preprocessing, split_target


def random_table(seed, n=200, source="train"):
    rng = np.random.default_rng(seed)
    numbers = rng.normal(5.0, 3.0, (n, 3))
    numbers[rng.random((n, 3)) < 0.1] = np.nan
    numbers[:, 2] = 7.0  # a constant column
    colours = np.array(["red", "green", "blue", "teal"], dtype=object)[rng.integers(0, 4, n)]
    colours[rng.random(n) < 0.1] = None
    sizes = np.array(["S", "M", "L"], dtype=object)[rng.integers(0, 3, n)]
    cells = np.column_stack([numbers.astype(object), colours, sizes])
    cells[:, :3][np.isnan(numbers)] = None
    return tables.as_table(cells, names=["a", "b", "c", "colour", "size"], source=source), cells


def sklearn_pipeline():
    compose = pytest.importorskip("sklearn.compose")
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return compose.ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [0, 1, 2]),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent", missing_values=None),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), [3, 4]),
    ])


@pytest.mark.parametrize("seed", range(3))
def test_inputs_match_scikit_learn_learned_on_the_training_rows_only(seed):
    train, train_cells = random_table(seed)
    test, test_cells = random_table(seed + 100, n=50, source="test")
    reference = sklearn_pipeline().fit(train_cells)
    preprocessing = Preprocessing.learn(train)
    np.testing.assert_allclose(preprocessing.inputs(train), reference.transform(train_cells), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(preprocessing.inputs(test), reference.transform(test_cells), rtol=1e-5, atol=1e-5)
    assert preprocessing.input_names == ["a", "b", "c", "colour=blue", "colour=green", "colour=red", "colour=teal",
                                         "size=L", "size=M", "size=S"]


@pytest.mark.parametrize("seed", range(2))
def test_learned_on_some_rows_and_applied_to_rows_in_any_order_a_column_at_a_time(seed):
    """learn(rows=) is learn(table.take(rows)); inputs(rows=) is inputs(table)[rows]: the CLI
    learns from the training rows of a whole file and lays the parts out as slices of one array."""
    table, cells = random_table(seed, n=120)
    rows = np.random.default_rng(seed).permutation(120)[:80]
    learned = Preprocessing.learn(table, rows=rows)
    assert learned.describe() == Preprocessing.learn(table.take(rows)).describe()
    reference = sklearn_pipeline().fit(cells[rows])
    np.testing.assert_allclose(learned.inputs(table), reference.transform(cells), rtol=1e-5, atol=1e-5)
    order = np.random.default_rng(seed + 1).permutation(120)
    np.testing.assert_array_equal(learned.inputs(table, rows=order), learned.inputs(table)[order])
    bad = tables.Table([tables.Column("a", "text", np.array([0, 1, 0], np.int32), ["1", "many"])] + table.columns[1:3] +
                       [tables.Column(c.name, c.kind, c.values[:3], c.categories) for c in table.columns[3:]],
                       "test", np.array([2, 3, 4]))
    bad.columns[1:3] = [tables.Column(c.name, c.kind, c.values[:3], c.categories) for c in bad.columns[1:3]]
    with pytest.raises(DataFormatError, match=r"test, line 3, column 'a': expected a number, as in training; got 'many'"):
        learned.inputs(bad, rows=np.array([2, 1, 0]))  # the line of the row, whatever its place


def test_unseen_categories_are_all_zeros_and_counted():
    train = tables.as_table(np.array([["red"], ["blue"], ["red"]], dtype=object), names=["colour"])
    test = tables.as_table(np.array([["red"], ["mauve"], [None], ["mauve"]], dtype=object), names=["colour"])
    preprocessing = Preprocessing.learn(train)
    x = preprocessing.inputs(test)
    np.testing.assert_array_equal(x, [[0, 1], [0, 0], [0, 1], [0, 0]])  # missing -> most frequent (red)
    assert preprocessing.unseen == 2


def test_a_missing_column_is_named():
    train, _ = random_table(0)
    preprocessing = Preprocessing.learn(train)
    test = tables.Table([c for c in train.columns if c.name not in ("a", "size")], "test")
    with pytest.raises(DataFormatError, match=r"test: the model needs the columns 'a', 'size', which are not there; it has b, c, colour"):
        preprocessing.inputs(test)


def test_a_number_column_read_as_text_still_applies_when_its_cells_are_numbers():
    train = tables.as_table(np.array([[1.0], [3.0]]), names=["a"])
    test = tables.Table([tables.Column("a", "text", np.array([0, -1, 1], np.int32), ["2", "5"])], "test")
    np.testing.assert_allclose(Preprocessing.learn(train).inputs(test)[:, 0], [0.0, 0.0, 3.0])  # median 2, mean 2, scale 1
    bad = tables.Table([tables.Column("a", "text", np.array([0], np.int32), ["many"])], "test", np.array([7]))
    with pytest.raises(DataFormatError, match=r"test, line 7, column 'a': expected a number, as in training; got 'many'"):
        Preprocessing.learn(train).inputs(bad)


def test_regression_targets_are_standardised_and_turned_back():
    train, _ = random_table(1)
    y = np.random.default_rng(0).normal(300.0, 50.0, (len(train), 2))
    preprocessing = Preprocessing.learn(train, y, ["price", "rent"])
    scaled = preprocessing.targets(y)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(preprocessing.values(scaled), y, rtol=1e-12)
    one = Preprocessing.learn(train, y[:, 0])
    np.testing.assert_allclose(one.values(one.targets(y[:, 0])), y[:, 0], rtol=1e-12)  # (n,) for one target


def test_description_round_trips_through_json():
    train, _ = random_table(2)
    preprocessing = Preprocessing.learn(train, np.arange(len(train), dtype=float))
    again = Preprocessing.from_description(json.loads(json.dumps(preprocessing.describe(), allow_nan=False)))
    np.testing.assert_array_equal(again.inputs(train), preprocessing.inputs(train))
    assert again.target == preprocessing.target


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(version=9), "must be an object with version 1"),
    (lambda d: d["columns"][0].update(scale=0.0), "number column 'a' needs numbers fill, mean and scale > 0"),
    (lambda d: d["columns"][3].update(categories="red"), "text column 'colour' needs a list of categories"),
    (lambda d: d["columns"][0].update(kind="date"), "column 'a': kind must be 'number' or 'text'"),
    (lambda d: d.update(target={"names": ["y"], "mean": [1.0], "scale": []}), "target needs names, mean and scale"),
])
def test_a_damaged_description_is_refused_in_one_line(change, message):
    train, _ = random_table(3)
    description = Preprocessing.learn(train).describe()
    change(description)
    with pytest.raises(ValueError, match=message):
        Preprocessing.from_description(description)


def test_split_target_drops_rows_without_a_target(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,a\n2,\n3,b\n")
    features, y, classes, task, dropped = split_target(tables.read_csv(path), "y")
    assert (dropped, classes, len(features)) == (1, ["a", "b"], 2)
    np.testing.assert_array_equal(features.column("x").values, [1, 3])
    np.testing.assert_array_equal(features.lines, [2, 4])


def test_a_text_column_with_too_many_values_is_refused_by_name():
    ids = np.array([[f"id{i}"] for i in range(1200)], dtype=object)
    with pytest.raises(DataFormatError, match=r"column 'user' is text with 1,200 different values in 1,200 rows, too many"):
        Preprocessing.learn(tables.as_table(ids, names=["user"]))
