"""``nnet predict``: what a saved model sees in your images."""

from __future__ import annotations

import argparse

import numpy as np

from . import _term

HELP = "read digits from image files or folders (PNG, JPEG, anything Pillow reads)"
DESCRIPTION = """\
Turn each image into an MNIST input (white ink on black, the ink scaled into a 20x20 box and
centred by its mass in 28x28; dark-on-light images are inverted automatically) and print the
model's answer, its confidence and the runners-up. A folder stands for the images in it."""
EXAMPLES = """\
examples:
  nnet predict model.safetensors digit.png
  nnet predict model.safetensors photos/ scan.jpg --top 5
  nnet predict model.safetensors chalkboard.jpg --no-invert     # already light on dark
  nnet predict model.safetensors digits/ --json"""


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files or folders of images")
    parser.add_argument("--top", type=int, default=3, metavar="K", help="show the K most likely answers (default 3)")
    parser.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                        help="--invert: the images are dark ink on light; --no-invert: light on dark (default: detect)")
    parser.add_argument("--median-filter", action="store_true", help="remove salt-and-pepper specks first")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from nnet import load
    from nnet.datasets import IMAGE_SIDE
    from nnet.images import load_images
    from nnet.data import answer_scores, answers

    from ._term import CLIError

    if args.top < 1:
        raise CLIError(f"--top must be at least 1; got {args.top}")
    network = load(args.model)
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

