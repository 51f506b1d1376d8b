"""``nnet evaluate``: how good is a saved model on a dataset's test images."""

from __future__ import annotations

import time

from . import _term

HELP = "score a model: accuracy, per-class precision/recall/F1, confusion matrix"
DESCRIPTION = """\
Score a saved model on a dataset's test images: the accuracy and cost, each class's precision,
recall and F1, and the confusion matrix (rows: the true class, columns: the answer).
The dataset defaults to the one the model was trained on, as its file records it (mnist if it
records none); if that was a file or folder that is gone, say which data to use with --dataset."""
EXAMPLES = """\
examples:
  nnet evaluate model.safetensors
  nnet evaluate model.safetensors --dataset fashion-mnist
  nnet evaluate model.safetensors --dataset ./digits --split train
  nnet evaluate model.safetensors --json | python -m json.tool"""


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    from .data import DATASET_HELP

    parser.add_argument("--dataset", metavar="NAME_OR_PATH", help=f"{DATASET_HELP}. Default: the model's own")
    parser.add_argument("--split", choices=["test", "train"], default="test", help="which part of the dataset to score (default test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load, metrics

    from .data import check_fits, dataset_of_model, resolve

    started = time.perf_counter()
    network = load(args.model)
    data = resolve(dataset_of_model(network, args.dataset), quiet=args.json)
    check_fits(network, data, args.model)
    x, y = data.test if args.split == "test" else data.train
    scores = network.evaluate(x, y)
    predicted = network.predict(x)
    classes = network.class_names
    k = len(classes)
    report = metrics.class_report(y, predicted, n_classes=k)
    confusion = metrics.confusion_matrix(y, predicted, n_classes=k)
    result = {
        "model": args.model,
        "dataset": data.name,
        "split": args.split,
        "samples": int(len(y)),
        "accuracy": scores.accuracy,
        "cost": scores.cost,
        "classes": [
            {"class": name, "precision": float(report.precision[i]), "recall": float(report.recall[i]),
             "f1": float(report.f1[i]), "support": int(report.support[i])}
            for i, name in enumerate(classes)
        ],
        "macro": report.macro(),
        "confusion_matrix": confusion.tolist(),
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        _term.print_json(result)
        return 0
    print(f"{_term.visible(args.model)} on {_term.visible(data.name)} ({args.split}, {len(y):,} images)\n")
    print(_term.key_values([
        ("accuracy", f"{_term.percent(scores.accuracy)}  ({int(round(scores.accuracy * len(y))):,} of {len(y):,} right)"),
        ("cost", f"{scores.cost:.4f}"),
    ]))
    print()
    rows = [[c["class"], f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", c["support"]] for c in result["classes"]]
    macro = result["macro"]
    rows.append(["macro avg", f"{macro['precision']:.3f}", f"{macro['recall']:.3f}", f"{macro['f1']:.3f}", int(len(y))])
    print(_term.table(["class", "precision", "recall", "F1", "support"], rows, align="lrrrr"))
    print("\nconfusion matrix (rows: true class, columns: predicted)\n")
    print(_term.table(["true \\ predicted", *classes], [[name, *map(int, row)] for name, row in zip(classes, confusion)],
                      align="l" + "r" * k))
    return 0

