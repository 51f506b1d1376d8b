"""``nnet predict``: what a saved model sees in your images, or says of your table's rows."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from . import _term
from ._term import CLIError

HELP = "read digits from image files or folders; or answer every row of a table (a .csv) for a table model"
DESCRIPTION = """\
Turn each image into an MNIST input (white ink on black, the ink scaled into a 20x20 box and
centred by its mass in 28x28; dark-on-light images are inverted automatically) and print the
model's answer, its confidence and the runners-up. A folder stands for the images in it.

A table model (trained with --target) takes one .csv file instead, with the columns it was
trained on (in any order; others are ignored), and writes one line per row, in the file's
order: the answer (a class name, or a value in the target's units), and with --proba the
probability of each class. The lines go to --out FILE.csv, or to stdout. Missing cells are
filled as in training; a text cell of a category never seen in training is encoded as all
zeros, and the count of such cells is reported."""
EXAMPLES = """\
examples:
  nnet predict model.safetensors digit.png
  nnet predict model.safetensors photos/ scan.jpg --top 5
  nnet predict model.safetensors chalkboard.jpg --no-invert     # already light on dark
  nnet predict model.safetensors digits/ --json
  nnet predict houses.safetensors new_houses.csv --out prices.csv
  nnet predict iris.safetensors flowers.csv --proba             # a CSV on stdout"""


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("images", metavar="IMAGE", nargs="+",
                        help="image files or folders of images; for a table model, one .csv file of rows")
    parser.add_argument("--top", type=int, default=3, metavar="K", help="show the K most likely answers (default 3)")
    parser.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                        help="--invert: the images are dark ink on light; --no-invert: light on dark (default: detect)")
    parser.add_argument("--median-filter", action="store_true", help="remove salt-and-pepper specks first")
    parser.add_argument("--out", metavar="FILE", help="a table model: write the answers to this .csv file (default: stdout)")
    parser.add_argument("--proba", action="store_true", help="a table classifier: add each class's probability")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load
    from nnet.datasets import IMAGE_SIDE
    from nnet.images import load_images
    from nnet.data import answer_scores, answers

    from ._tables import model_preprocessing

    if args.top < 1:
        raise CLIError(f"--top must be at least 1; got {args.top}")
    network = load(args.model)
    preprocessing = model_preprocessing(network, args.model)
    if preprocessing is not None:
        return _rows(args, network, preprocessing)
    if args.out or args.proba:
        raise CLIError("--out and --proba are for table models; this model reads images")
    if network.n_inputs != IMAGE_SIDE * IMAGE_SIDE:
        raise CLIError(f"{args.model} takes {network.n_inputs} inputs, not a {IMAGE_SIDE}x{IMAGE_SIDE} image")
    images, files = load_images(args.images, invert=args.invert, median_filter=args.median_filter)
    output = network.forward(images)
    labels, scores = answers(output), answer_scores(output)
    classes = network.class_names
    probability = network.layers[-1].activation.name == "softmax"
    top = min(args.top, scores.shape[1])
    results = []
    for file, row, label in zip(files, scores, labels):
        runners_up = [j for j in np.argsort(-row, kind="stable") if j != label][: top - 1]
        order = [int(label), *runners_up]
        results.append({
            "file": str(file),
            "class": classes[label],
            "label": int(label),
            "confidence": float(row[label]),
            "top": [{"class": classes[j], "label": int(j), "score": float(row[j])} for j in order],
        })
    if args.json:
        _term.print_json({"model": args.model, "scores_are": "probability" if probability else "activation",
                          "predictions": results})
        return 0
    score = (lambda v: _term.percent(v, 1)) if probability else (lambda v: f"{v:.3f}")
    rows = [[r["file"], r["class"], score(r["confidence"]),
             ", ".join(f"{t['class']} {score(t['score'])}" for t in r["top"][1:])] for r in results]
    print(_term.table(["image", "answer", "confidence" if probability else "activation", "runners-up"], rows, align="llrl"))
    return 0



def _rows(args, network, preprocessing) -> int:
    """A table model's answer for every row of one CSV file, in order."""
    from nnet.data import answer_scores, answers

    from ._tables import model_inputs, model_setting, read_table, unseen_note

    if len(args.images) != 1:
        raise CLIError(f"a table model reads one .csv file of rows; got {len(args.images)} paths")
    source = args.images[0]
    out = _out_path(args.out, source)
    x, unseen = model_inputs(network, preprocessing, read_table(source, option=""))
    output = network.forward(x)
    name = str(model_setting(network, "target", "prediction"))
    if network.task == "regression":
        values = preprocessing.values(output.astype(np.float64)).reshape(len(x), -1)
        names = preprocessing.target["names"] if values.shape[1] > 1 else [name]
        header, lines = names, [[f"{value:.10g}" for value in row] for row in values]
        records = [{"row": i, "value": row[0]} if len(row) == 1 else {"row": i, "values": dict(zip(names, row))}
                   for i, row in enumerate(values.tolist())]
    else:
        classes = network.class_names
        labels, scores = answers(output), answer_scores(output).astype(np.float64)
        totals = scores.sum(axis=1, keepdims=True)
        proba = np.divide(scores, totals, out=np.full_like(scores, 1.0 / len(classes)), where=totals > 0)
        header = [name, *(f"proba_{c}" for c in classes)] if args.proba else [name]
        lines = [[classes[label], *(f"{p:.6g}" for p in row)] if args.proba else [classes[label]]
                 for label, row in zip(labels.tolist(), proba)]
        records = [{"row": i, "class": classes[label], "label": int(label),
                    **({"probabilities": dict(zip(classes, row.tolist()))} if args.proba else {})}
                   for i, (label, row) in enumerate(zip(labels.tolist(), proba))]
    note = unseen_note(unseen)
    if args.json:
        _term.print_json({"model": args.model, "rows": len(x), "unseen_cells": int(unseen), "predictions": records,
                          **({"out": str(out)} if out else {})})
    if out is not None:
        from nnet._atomic import atomic_file

        with atomic_file(out) as file:
            file.write(_csv_text(header, lines).encode("utf-8"))
        if not args.json:
            print(f"wrote {len(x):,} answers to {_term.visible(out)}")
    elif not args.json:
        sys.stdout.write(_csv_text(header, lines))
    if note and not args.json:
        _term.note(note)
    return 0


def _out_path(text: str | None, source: str) -> Path | None:
    """--out as a Path in a folder that exists, and never the input file itself."""
    if text is None:
        return None
    out = Path(text)
    if out.suffix.lower() != ".csv":
        raise CLIError(f"--out {text}: the answers are written as CSV; give a name ending in .csv")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise CLIError(f"--out {text}: folder {out.parent} does not exist")
    if out.exists() and out.resolve() == Path(source).expanduser().resolve():
        raise CLIError(f"--out {text} is the file of rows being read; give another name")
    return out


def _csv_text(header: list[str], lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()
