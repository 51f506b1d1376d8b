"""``nnet evaluate``: how good is a saved model on a dataset's test images, or on a table's rows."""

from __future__ import annotations

import time

import numpy as np

from . import _term
from ._term import CLIError

HELP = "score a model: accuracy, per-class precision/recall/F1, ROC AUC, confusion matrix; R², MAE, RMSE"
DESCRIPTION = """\
Score a saved model on a dataset's test images: the accuracy and balanced accuracy, the cost,
each class's precision, recall and F1 and their macro averages (over the classes present), ROC
AUC (one-vs-rest for several classes), log-loss, and the confusion matrix (rows: the true class,
columns: the answer). The dataset defaults to the one the model was trained on, as its file
records it (mnist if it records none); if that was a file or folder that is gone, say which data
to use with --dataset.

A table model (trained with --target) is scored on the test rows of its own CSV file (found
again by the same seeded rule), or on EVERY row of --dataset FILE.csv, whose --target column
(default: the model's) holds the answers: classification as above, regression as R², MAE and
RMSE in the target's units. Rows without a target are left out; a class the model never saw
is refused; text cells of categories never seen in training are encoded as all zeros (and
counted)."""
EXAMPLES = """\
examples:
  nnet evaluate model.safetensors
  nnet evaluate model.safetensors --dataset fashion-mnist
  nnet evaluate model.safetensors --dataset ./digits --split train
  nnet evaluate houses.safetensors --dataset new_houses.csv --target price
  nnet evaluate model.safetensors --json | python -m json.tool"""


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    from .data import DATASET_HELP

    parser.add_argument("--dataset", metavar="NAME_OR_PATH", help=f"{DATASET_HELP}; for a table model a .csv "
                        f"file, every row of which is scored. Default: the model's own")
    parser.add_argument("--target", metavar="COLUMN", help="a table model: the column holding the answers "
                        "(default: the one it was trained on)")
    parser.add_argument("--split", choices=["test", "train"], default="test",
                        help="which part of the model's own dataset to score (default test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load

    from ._tables import model_preprocessing

    started = time.perf_counter()
    network = load(args.model)
    preprocessing = model_preprocessing(network, args.model)
    if preprocessing is not None:
        result = _table(args, network, preprocessing)
    else:
        if args.target:
            raise CLIError(f"--target is for table models; {args.model} reads {network.n_inputs} inputs, not a table")
        from .data import check_fits, dataset_of_model, resolve

        data = resolve(dataset_of_model(network, args.dataset), quiet=args.json)
        check_fits(network, data, args.model)
        x, y = data.test if args.split == "test" else data.train
        result = {"model": args.model, "dataset": data.name, "split": args.split, "samples": int(len(y)),
                  **classification(network, x, y)}
    result["seconds"] = time.perf_counter() - started
    if args.json:
        _term.print_json(result)
        return 0
    unit = "rows" if preprocessing is not None else "images"
    print(f"{_term.visible(args.model)} on {_term.visible(result['dataset'])} ({result['split']}, "
          f"{result['samples']:,} {unit})\n")
    for note in result.get("notes", []):
        _term.note(note)
    if result["task"] == "regression":
        print(_term.key_values([("R²", f"{result['r2']:.4f}"), ("MAE", f"{result['mae']:.6g}"),
                                ("RMSE", f"{result['rmse']:.6g}"), ("cost", f"{result['cost']:.4f}")]))
    else:
        _print_classification(result)
    return 0


def _table(args, network, preprocessing) -> dict:
    """Score a table model on its own test rows, or on every row of --dataset."""
    from nnet import metrics

    from ._tables import model_inputs, model_table_rows, unseen_note

    features, y, source, dropped = model_table_rows(network, model=args.model, dataset=args.dataset,
                                                    target=args.target, split=args.split)
    x, unseen = model_inputs(network, preprocessing, features)
    notes = [note for note in (unseen_note(unseen), f"{dropped:,} rows without a target left out" if dropped else None)
             if note]
    head = {"model": args.model, "dataset": source, "split": "every row" if args.dataset else args.split,
            "samples": int(len(y)), "unseen_cells": int(unseen), "rows_without_target": int(dropped), "notes": notes}
    if network.task == "classification":
        return {**head, **classification(network, x, y)}
    values = y.reshape(len(y), -1)
    predicted = preprocessing.values(network.forward(x).astype(np.float64))
    return {**head, "task": "regression", "targets": list(preprocessing.target["names"]),
            "r2": metrics.r2(values, predicted), "mae": metrics.mean_absolute_error(values, predicted),
            "rmse": metrics.root_mean_squared_error(values, predicted),
            "cost": network.evaluate(x, preprocessing.targets(values)).cost}


def classification(network, x, y) -> dict:
    """A classifier's scores on (x, y): accuracy, balanced accuracy, cost, ROC AUC and log-loss
    (None where the labels hold one class only), per-class and macro precision, recall and F1,
    the confusion matrix."""
    from nnet import metrics
    from nnet.data import answer_scores, answers

    output = network.forward(x)
    predicted, scores = answers(output), answer_scores(output).astype(np.float64)
    classes = network.class_names
    k = len(classes)
    report = metrics.class_report(y, predicted, n_classes=k)
    totals = scores.sum(axis=1, keepdims=True)
    proba = scores if network.layers[-1].activation.name == "softmax" else np.divide(
        scores, totals, out=np.full_like(scores, 1.0 / k), where=totals > 0)
    try:
        roc_auc = metrics.roc_auc(y, proba)
    except ValueError:  # one class only: no negatives to rank against
        roc_auc = None
    return {
        "task": "classification",
        "accuracy": metrics.accuracy(y, predicted),
        "balanced_accuracy": metrics.balanced_accuracy(y, predicted),
        "cost": network.evaluate(x, y).cost,
        "roc_auc": roc_auc,
        "log_loss": metrics.log_loss(y, proba),
        "classes": [
            {"class": name, "precision": float(report.precision[i]), "recall": float(report.recall[i]),
             "f1": float(report.f1[i]), "support": int(report.support[i])}
            for i, name in enumerate(classes)
        ],
        "macro": report.macro(),
        "confusion_matrix": metrics.confusion_matrix(y, predicted, n_classes=k).tolist(),
    }


def _print_classification(result: dict) -> None:
    n = result["samples"]
    roc_auc = result["roc_auc"]
    print(_term.key_values([
        ("accuracy", f"{_term.percent(result['accuracy'])}  ({int(round(result['accuracy'] * n)):,} of {n:,} right)"),
        ("balanced accuracy", _term.percent(result["balanced_accuracy"])),
        ("ROC AUC", "- (one class only)" if roc_auc is None else f"{roc_auc:.4f}"),
        ("log-loss", f"{result['log_loss']:.4f}"),
        ("cost", f"{result['cost']:.4f}"),
    ]))
    print()
    rows = [[c["class"], f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", c["support"]]
            for c in result["classes"]]
    macro = result["macro"]
    rows.append(["macro avg", f"{macro['precision']:.3f}", f"{macro['recall']:.3f}", f"{macro['f1']:.3f}", n])
    print(_term.table(["class", "precision", "recall", "F1", "support"], rows, align="lrrrr"))
    classes = [c["class"] for c in result["classes"]]
    print("\nconfusion matrix (rows: true class, columns: predicted)\n")
    print(_term.table(["true \\ predicted", *classes],
                      [[name, *map(int, row)] for name, row in zip(classes, result["confusion_matrix"])],
                      align="l" + "r" * len(classes)))
