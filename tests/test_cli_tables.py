"""End to end: the CLI on tables (issue 10). `nnet train --dataset FILE.csv --target COLUMN` on a
table with numbers, text, missing cells and string labels, then `evaluate` on another file,
`predict` to a CSV, `info`, `export`; and the same for a regression table. The scores are checked
against scikit-learn's metrics on predictions made apart from the CLI (the model file's
preprocessing applied by nnet.preprocessing, the network's forward pass)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk

import nnet
from nnet.cli import main
from nnet.data import split_validation
from nnet.datasets.local import split_test
from nnet.preprocessing import Preprocessing, split_target
from nnet.tables import read_csv

SPECIES = ("setosa", "versicolor", "virginica")
FAST = ["--epochs", "60", "--early-stopping", "100"]


def write_flowers(path: Path, n: int, seed: int, *, sort: bool = False, extra_colour: str | None = None) -> Path:
    """A table: petal (a number, ~6% missing), colour (text, ~4% missing), width (a number), and
    species (string labels, ~2% missing); the species follows the petal. ``sort`` orders the rows
    by class, as files often come; ``extra_colour`` puts a category never seen in training into
    every fifth row."""
    rng = np.random.default_rng(seed)
    species = rng.choice(SPECIES, n)
    petal = np.select([species == s for s in SPECIES], [1.0, 3.0, 5.0]) + rng.normal(0, 0.4, n)
    colour = rng.choice(["red", "blue", "green"], n).astype(object)
    if extra_colour:
        colour[::5] = extra_colour
    width = rng.normal(2, 1, n)
    order = np.argsort(species, kind="stable") if sort else np.arange(n)
    lines = ["petal,colour,width,species"]
    for i in order:
        cells = [f"{petal[i]:.3f}", colour[i], f"{width[i]:.3f}", species[i]]
        if i % 17 == 3:
            cells[0] = ""
        if i % 25 == 4:
            cells[1] = "NA"
        if i % 50 == 7:
            cells[3] = ""
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_houses(path: Path, n: int, seed: int) -> Path:
    """A regression table: price = 1000 + 300 rooms + (50 if the city is "north"), with noise."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 8, n).astype(float)
    city = rng.choice(["north", "south"], n)
    price = 1000 + 300 * rooms + np.where(city == "north", 50.0, 0.0) + rng.normal(0, 20, n)
    lines = ["rooms,city,price"] + [f"{r:g},{c},{p:.2f}" for r, c, p in zip(rooms, city, price)]
    lines[5] = "," + lines[5].split(",", 1)[1]  # a missing number
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnet: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def flowers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flowers")
    train_file = write_flowers(folder / "flowers.csv", 400, seed=0, sort=True)
    model = folder / "flowers.safetensors"
    assert main(["train", "--dataset", str(train_file), "--target", "species", *FAST, "--quiet", "--out", str(model)]) == 0
    return train_file, model, folder


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    folder = tmp_path_factory.mktemp("houses")
    train_file = write_houses(folder / "houses.csv", 500, seed=1)
    model = folder / "houses.safetensors"
    assert main(["train", "--dataset", str(train_file), "--target", "price", "--quiet", "--out", str(model)]) == 0
    return train_file, model, folder


def model_outputs(model: Path, csv_file: Path):
    """The network's outputs for every row of ``csv_file``, the model's preprocessing applied
    apart from the CLI."""
    network = nnet.load(model)
    preprocessing = Preprocessing.from_description(network.metadata["preprocessing"])
    return network, preprocessing, network.forward(preprocessing.inputs(read_csv(csv_file), network.dtype))


# -- training ------------------------------------------------------------------------------------


def test_train_says_what_it_inferred_and_did(tmp_path, capsys):
    data = write_flowers(tmp_path / "f.csv", 200, seed=3)
    code, out, err = cli(capsys, "train", "--dataset", data, "--target", "species", "--epochs", "2",
                         "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    opening = err.splitlines()[0]
    table = read_csv(data)
    missing = sum(int(table.column(name).missing.sum()) for name in ("petal", "colour", "width"))
    dropped = int(table.column("species").missing.sum())
    assert opening.startswith(f"{data}: 200 rows, 3 features (2 numbers, 1 text) -> 5 inputs; one-hot: colour (3); ")
    assert f"{missing} missing cells filled" in opening and f"{dropped} rows without a species dropped" in opening
    assert opening.endswith("classification into 3 classes: species holds text")
    headline = err.splitlines()[1]
    assert "5-100-3 (relu hidden, softmax output, cross_entropy cost)" in headline and "adam" in headline
    assert "batch 200" in headline and " rows;" in headline
    assert "train accuracy" in out and "test accuracy" in out


def test_the_model_keeps_the_preprocessing_learned_from_its_training_rows_only(flowers):
    train_file, model, _ = flowers
    network = nnet.load(model)
    meta = network.metadata
    assert meta["classes"] == list(SPECIES) and network.task == "classification"
    assert meta["input"] == {"shape": [5], "preprocessing": "table",
                             "features": ["petal", "colour=blue", "colour=green", "colour=red", "width"]}
    assert meta["dataset"]["kind"] == "table" and meta["dataset"]["target"] == "species"
    training = meta["training"]
    assert (training["hidden"], training["optimizer"], training["batch_size"], training["preset"]) == ([100], "adam", 200, "table")
    # the same rows again, by the same rules: the test rows by the fixed seed, validation by the run's
    table = read_csv(train_file)
    features, y, classes, task, dropped = split_target(table, "species")
    (rest, _), (test_rows, _) = split_test(np.arange(len(y)), y)
    (train_rows, _), (validation_rows, _) = split_validation(rest, y[rest], 0.1, seed=0)
    assert meta["dataset"]["train"] == len(train_rows) and meta["dataset"]["test"] == len(test_rows)
    assert set(y[test_rows].tolist()) == {0, 1, 2}  # the file is sorted by class: the test rows still hold each
    petal = features.column("petal").values[train_rows]
    column = meta["preprocessing"]["columns"][0]
    assert column["fill"] == pytest.approx(np.nanmedian(petal))  # the training rows' median, not the file's
    assert column["fill"] != pytest.approx(np.nanmedian(features.column("petal").values))
    filled = np.where(np.isnan(petal), np.nanmedian(petal), petal)
    assert column["mean"] == pytest.approx(filled.mean()) and column["scale"] == pytest.approx(filled.std())


# -- evaluate --------------------------------------------------------------------------------------


def classification_oracle(y, proba) -> dict:
    """scikit-learn's scores of the probabilities ``proba`` (n, k) for labels ``y``."""
    predicted = proba.argmax(axis=1)
    present = np.unique(np.concatenate([y, predicted]))
    precision, recall, f1, _ = sk.precision_recall_fscore_support(y, predicted, labels=present, average="macro",
                                                                  zero_division=0)
    return {"accuracy": sk.accuracy_score(y, predicted), "balanced_accuracy": sk.balanced_accuracy_score(y, predicted),
            "roc_auc": sk.roc_auc_score(y, proba, multi_class="ovr", labels=[0, 1, 2]),
            "log_loss": sk.log_loss(y, proba, labels=[0, 1, 2]),
            "macro": {"precision": precision, "recall": recall, "f1": f1},
            "confusion_matrix": sk.confusion_matrix(y, predicted, labels=[0, 1, 2]).tolist()}


def assert_scores_match(result: dict, oracle: dict) -> None:
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss"):
        assert result[key] == pytest.approx(oracle[key], abs=1e-6), key
    assert result["macro"] == pytest.approx(oracle["macro"], abs=1e-9)
    assert result["confusion_matrix"] == oracle["confusion_matrix"]


def test_evaluate_scores_every_row_of_another_file(flowers, capsys):
    _, model, folder = flowers
    other = write_flowers(folder / "new.csv", 150, seed=7, extra_colour="purple")
    code, out, err = cli(capsys, "evaluate", model, "--dataset", other, "--target", "species", "--json")
    assert code == 0, err
    result = json.loads(out)
    table = read_csv(other)
    labelled = ~table.column("species").missing
    assert result["samples"] == int(labelled.sum()) and result["rows_without_target"] == int((~labelled).sum())
    colour = table.column("colour").strings()
    assert result["unseen_cells"] == int(np.count_nonzero(colour == "purple"))
    _, _, output = model_outputs(model, other)
    y = np.array([SPECIES.index(s) for s in table.column("species").strings()[labelled]])
    proba = output[labelled].astype(np.float64)
    assert_scores_match(result, classification_oracle(y, proba / proba.sum(axis=1, keepdims=True)))
    assert result["accuracy"] > 0.85  # the petal tells the species


def test_evaluate_without_a_dataset_scores_the_models_own_test_rows(flowers, capsys):
    train_file, model, _ = flowers
    code, out, err = cli(capsys, "evaluate", model)
    assert code == 0, err
    assert "balanced accuracy" in out and "ROC AUC" in out and "log-loss" in out and "macro avg" in out
    code, out, _ = cli(capsys, "evaluate", model, "--json")
    result = json.loads(out)
    network = nnet.load(model)
    assert result["samples"] == network.metadata["dataset"]["test"]
    assert result["accuracy"] == pytest.approx(network.metadata["scores"]["test"]["accuracy"])
    assert [c["support"] for c in result["classes"]] and all(c["support"] > 0 for c in result["classes"])


# -- predict -------------------------------------------------------------------------------------


def test_predict_writes_one_row_per_input_row_in_order(flowers, capsys):
    _, model, folder = flowers
    rows = write_flowers(folder / "rows.csv", 40, seed=11, extra_colour="purple")
    out_file = folder / "answers.csv"
    code, out, err = cli(capsys, "predict", model, rows, "--out", out_file, "--proba")
    assert code == 0, err
    assert "wrote 40 answers" in out and "text cells hold categories never seen in training: encoded as all zeros" in err
    with open(out_file, newline="") as file:
        written = list(csv.reader(file))
    assert written[0] == ["species", "proba_setosa", "proba_versicolor", "proba_virginica"]
    _, _, output = model_outputs(model, rows)
    assert [line[0] for line in written[1:]] == [SPECIES[j] for j in output.argmax(axis=1)]
    np.testing.assert_allclose(np.array(written[1:])[:, 1:].astype(float), output, atol=1e-5)
    # the same rows reversed give the answers reversed: one per row, in the file's order
    lines = rows.read_text().splitlines()
    backwards = folder / "backwards.csv"
    backwards.write_text("\n".join([lines[0], *lines[:0:-1]]) + "\n")
    code, out, _ = cli(capsys, "predict", model, backwards)
    assert code == 0 and out.splitlines()[1:] == [line[0] for line in written[:0:-1]]


def test_predict_json_and_a_file_that_lacks_a_column(flowers, tmp_path, capsys):
    _, model, folder = flowers
    rows = tmp_path / "two.csv"
    rows.write_text("width,petal,colour,note\n2.0,1.0,red,x\n1.5,,,y\n")  # any order, a column more, missing cells
    code, out, err = cli(capsys, "predict", model, rows, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["rows"] == 2 and [p["class"] for p in answer["predictions"]][0] == "setosa"
    rows.write_text("width,colour\n2.0,red\n")
    code, out, err = cli(capsys, "predict", model, rows)
    assert code == 1 and out == ""
    assert "the model needs the column 'petal', which is not there; it has width, colour" in one_error_line(err)


# -- regression ------------------------------------------------------------------------------------


def test_a_regression_table_trains_evaluates_and_predicts_in_its_units(houses, capsys):
    train_file, model, folder = houses
    network = nnet.load(model)
    assert network.task == "regression" and network.metadata["targets"] == ["price"]
    assert network.layers[-1].activation.name == "identity" and network.cost.name == "quadratic"
    assert "classes" not in network.metadata
    new = write_houses(folder / "new.csv", 120, seed=5)
    code, out, err = cli(capsys, "evaluate", model, "--dataset", new, "--json")
    assert code == 0, err
    result = json.loads(out)
    _, preprocessing, output = model_outputs(model, new)
    predicted = preprocessing.values(output.astype(np.float64))
    price = read_csv(new).column("price").values
    assert result["r2"] == pytest.approx(sk.r2_score(price, predicted), abs=1e-6)
    assert result["mae"] == pytest.approx(sk.mean_absolute_error(price, predicted), rel=1e-6)
    assert result["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(price, predicted)), rel=1e-6)
    assert result["r2"] > 0.9 and result["mae"] < 150  # in the target's units
    code, out, _ = cli(capsys, "evaluate", model, "--dataset", new)
    assert "R²" in out and "MAE" in out and "RMSE" in out and "accuracy" not in out and "class" not in out
    answers = folder / "prices.csv"
    code, out, err = cli(capsys, "predict", model, new, "--out", answers)
    assert code == 0, err
    with open(answers, newline="") as file:
        written = list(csv.reader(file))
    assert written[0] == ["price"] and len(written) == 121
    np.testing.assert_allclose(np.array(written[1:], dtype=float)[:, 0], predicted, rtol=1e-6)


def test_the_regression_run_reports_r2_never_accuracy(tmp_path, capsys):
    data = write_houses(tmp_path / "h.csv", 200, seed=2)
    code, out, err = cli(capsys, "train", "--dataset", data, "--target", "price", "--epochs", "3",
                         "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    assert "regression: price holds numbers" in err.splitlines()[0]
    assert "identity output, quadratic cost" in err.splitlines()[1]
    assert "R²" in err and "accuracy" not in err  # the epoch lines
    assert "train R²" in out and "test R²" in out and "MAE" in out and "accuracy" not in out
    code, out, _ = cli(capsys, "info", tmp_path / "m.safetensors")
    assert "regression: 1 value (price)" in out and "classes" not in out
    assert "learned as (y - " in out  # the target's standardisation, in the features table


def test_whole_numbers_are_classes_and_task_says_otherwise(tmp_path, capsys):
    data = tmp_path / "grades.csv"
    rng = np.random.default_rng(0)
    score = rng.normal(size=120)
    data.write_text("score,grade\n" + "".join(f"{s:.3f},{int(s > 0) + 3}\n" for s in score))
    code, _, err = cli(capsys, "train", "--dataset", data, "--target", "grade", "--epochs", "1", "--out", tmp_path / "a.safetensors")
    assert code == 0 and "classification into 2 classes: grade holds 2 different whole numbers" in err
    assert nnet.load(tmp_path / "a.safetensors").metadata["classes"] == ["3", "4"]
    code, _, err = cli(capsys, "train", "--dataset", data, "--target", "grade", "--task", "regression", "--epochs", "1",
                       "--out", tmp_path / "b.safetensors")
    assert code == 0 and "regression: as --task says" in err
    assert nnet.load(tmp_path / "b.safetensors").task == "regression"


# -- info and export -----------------------------------------------------------------------------------


def test_info_shows_the_features_and_their_preprocessing(flowers, capsys):
    _, model, _ = flowers
    code, out, _ = cli(capsys, "info", model)
    assert code == 0
    section = out[out.index("\nfeatures"):]
    assert "petal   number" in section and "(the median)" in section and "(x - " in section
    assert "colour  text" in section and "one-hot: blue, green, red" in section
    assert "input    5 inputs from a table's columns" in out and "classes  setosa, versicolor, virginica" in out
    code, out, _ = cli(capsys, "info", model, "--json")
    assert json.loads(out)["preprocessing"]["columns"][1]["categories"] == ["blue", "green", "red"]


def test_export_writes_an_onnx_graph_that_answers_as_the_model_does(flowers, houses, tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    _, model, folder = flowers
    out = tmp_path / "flowers.onnx"
    code, printed, err = cli(capsys, "export", model, "--format", "onnx", "--out", out)
    assert code == 0, err
    assert f"wrote {out}" in printed and "one-hot encoded" in printed
    rows = write_flowers(tmp_path / "rows.csv", 30, seed=4)
    network, preprocessing, expected = model_outputs(model, rows)
    x = preprocessing.inputs(read_csv(rows), network.dtype)
    numbers = [j for j, name in enumerate(preprocessing.input_names) if "=" not in name]
    raw = x.copy()  # the graph standardises numbers itself: give it the raw numbers (NaN where missing)
    table = read_csv(rows)
    for j, name in zip(numbers, ("petal", "width")):
        raw[:, j] = table.column(name).values
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probabilities, label = session.run(["probabilities", "label"], {"input": raw})
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(label, expected.argmax(axis=1))
    code, _, err = cli(capsys, "export", model, "--out", out)
    assert code == 1 and "exists" in one_error_line(err)
    code, printed, _ = cli(capsys, "export", houses[1], "--out", tmp_path / "houses.onnx", "--json")
    assert json.loads(printed)["outputs"] == ["values"] and json.loads(printed)["metadata"]["nnet.targets"] == ["price"]


# -- bad input: one line ---------------------------------------------------------------------------------


def test_bad_tables_get_one_line(flowers, tmp_path, capsys):
    train_file, model, _ = flowers
    out = tmp_path / "x.safetensors"
    cases = [
        (["train", "--dataset", train_file, "--target", "kind", "--out", out],
         "no column named 'kind'; its columns are petal, colour, width, species"),
        (["train", "--dataset", train_file, "--target", "colour", "--task", "regression", "--out", out],
         "column 'colour': a regression target must hold numbers; got 'blue'"),
        (["train", "--task", "regression", "--out", out], "--task is for tables: give --dataset FILE.csv --target COLUMN"),
        (["train", "--dataset", train_file, "--out", out], "for a table, name the column to predict with --target COLUMN"),
        (["train", "--dataset", train_file, "--target", "species", "--drop", "nothing", "--out", out],
         "no column named 'nothing'"),
        (["evaluate", model, "--dataset", train_file, "--target", "colour"],
         "the target 'colour' holds 'blue', which is not one of the model's classes (setosa, versicolor, virginica)"),
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("petal,colour,width,species\n")
    cases += [(["train", "--dataset", empty, "--target", "species", "--out", out], "a header but no rows"),
              (["predict", model, empty], "a header but no rows")]
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("petal,species\n1.0,setosa\n")
    cases.append((["evaluate", model, "--dataset", lacking], "the model needs the columns 'colour', 'width', which are not there"))
    for args, message in cases:
        code, printed, err = cli(capsys, *args)
        assert code == 1 and printed == "", args
        assert message in one_error_line(err), (args, err)
    assert not out.exists()


def test_every_command_speaks_json(flowers, tmp_path, capsys):
    import argparse

    from nnet.cli import build_parser

    def subparsers(parser):
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return {} if not actions else actions[0].choices

    missing = []
    for name, command in subparsers(build_parser()).items():
        leaves = subparsers(command) or {name: command}
        for leaf, parser in leaves.items():
            options = {option for action in parser._actions for option in action.option_strings}
            if "--json" not in options:
                missing.append(leaf)
    assert missing == []  # bench's --json FILE writes its results to a file
    _, model, _ = flowers
    code, out, _ = cli(capsys, "show", model, "confusion", "--out", tmp_path / "c.png", "--json")
    assert code == 0 and json.loads(out) == {"model": str(model), "picture": "confusion", "out": str(tmp_path / "c.png")}


def test_a_table_run_resumes_from_its_checkpoint_to_the_same_weights(flowers, tmp_path, capsys):
    train_file, _, _ = flowers
    common = ["--dataset", train_file, "--target", "species", "--quiet"]
    assert main(["train", *map(str, common), "--epochs", "3", "--checkpoint-dir", str(tmp_path / "run"),
                 "--out", str(tmp_path / "a.safetensors")]) == 0
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "6", "--quiet", "--out", str(tmp_path / "b.safetensors")]) == 0
    assert main(["train", *map(str, common), "--epochs", "6", "--out", str(tmp_path / "c.safetensors")]) == 0
    resumed, straight = nnet.load(tmp_path / "b.safetensors"), nnet.load(tmp_path / "c.safetensors")
    np.testing.assert_array_equal(resumed.parameters, straight.parameters)
    assert resumed.metadata["preprocessing"] == straight.metadata["preprocessing"]
    code, _, err = cli(capsys, "train", "--resume", tmp_path / "run", "--target", "colour", "--out", tmp_path / "d.safetensors")
    assert code == 1 and "--target colour conflicts with the checkpoint's target (species)" in one_error_line(err)


def test_a_checkpoint_written_before_tables_still_resumes(tmp_path, capsys):
    """Its settings lack target, task, text and drop: they take their defaults (images)."""
    from test_cli_train import write_tiny_mnist
    from test_issue9_findings import re_signed

    tiny = write_tiny_mnist(tmp_path / "tiny")
    assert main(["train", "--dataset", str(tiny), "--validation", "100", "--epochs", "1", "--quiet",
                 "--checkpoint-dir", str(tmp_path / "run"), "--out", str(tmp_path / "a.safetensors")]) == 0

    def before_tables(meta):
        for name in ("target", "task", "text", "drop"):
            del meta["training"][name]

    re_signed(tmp_path / "run" / "checkpoint.safetensors", before_tables)
    code, _, err = cli(capsys, "train", "--resume", tmp_path / "run", "--epochs", "2", "--quiet",
                       "--out", tmp_path / "b.safetensors")
    assert code == 0, err
    assert nnet.load(tmp_path / "b.safetensors").metadata["training"]["target"] is None


def test_an_id_column_is_refused_with_how_to_leave_it_out(tmp_path, capsys):
    data = tmp_path / "ids.csv"
    rng = np.random.default_rng(0)
    data.write_text("id,x,label\n" + "".join(f"u{i},{v:.3f},{'yes' if v > 0 else 'no'}\n"
                                             for i, v in enumerate(rng.normal(size=1400))))
    code, _, err = cli(capsys, "train", "--dataset", data, "--target", "label", "--out", tmp_path / "m.safetensors")
    line = one_error_line(err)
    assert code == 1 and "column 'id' is text with 1,134 different values" in line and "--drop COLUMN" in line
    code, _, err = cli(capsys, "train", "--dataset", data, "--target", "label", "--drop", "id", "--epochs", "1",
                       "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    assert nnet.load(tmp_path / "m.safetensors").metadata["input"]["features"] == ["x"]
