"""Reproduce the two reference results on the full MNIST (not a test: run it by hand).

(a) lessons   the lessons' network: [784, 30, 10], sigmoid, quadratic cost, plain SGD,
              learning rate 3.0, minibatches of 10, 30 epochs, trained on the first 50,000
              training images as the lessons do. Nielsen's network.py reports 95.42% on the test
              set (http://neuralnetworksanddeeplearning.com/chap1.html); nnet must reach >= 95%.
(b) relu      [784, 128, 10], ReLU, softmax output, cross-entropy: >= 98% within 10 epochs
              (SGD with momentum 0.9, learning rate 0.1, batch 64, cosine schedule).

    python benchmarks/accuracy.py               # both
    python benchmarks/accuracy.py --only relu   # one of them
    python benchmarks/accuracy.py --json benchmarks/results/accuracy.json

Prints each epoch's test accuracy and a closing line per run with the best and final
accuracies and the time.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import nnet
from nnet import datasets

RUNS = {
    "lessons": {
        "title": "(a) lessons' network [784, 30, 10] sigmoid, quadratic, SGD 3.0, batch 10, 30 epochs",
        "network": dict(sizes=[784, 30, 10], activation="sigmoid", output="sigmoid", cost="quadratic", init="normal"),
        "fit": dict(epochs=30, batch_size=10, optimizer="sgd", learning_rate=3.0),
        "target": 0.95,
        "train_images": 50_000,
    },
    "relu": {
        "title": "(b) [784, 128, 10] ReLU, softmax, cross-entropy, momentum 0.1, batch 64, cosine, 10 epochs",
        "network": dict(sizes=[784, 128, 10], activation="relu", output="softmax", cost="cross_entropy", init="he"),
        "fit": dict(epochs=10, batch_size=64, optimizer="momentum", learning_rate=0.1, momentum=0.9, lr_schedule="cosine"),
        "target": 0.98,
        "train_images": 60_000,
    },
}


class PrintEpoch(nnet.Callback):
    def on_epoch_end(self, state):
        record = state.record
        print(f"  epoch {record.epoch:>2}: test accuracy {record.validation_accuracy:.4f}  ({record.seconds:.1f} s)", flush=True)


def run(name: str, seed: int, dtype: str = "float32") -> dict:
    spec = RUNS[name]
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    x_train, y_train = x_train[: spec["train_images"]], y_train[: spec["train_images"]]
    print(spec["title"], flush=True)
    network = nnet.Network(**spec["network"], seed=seed, dtype=dtype)
    started = time.perf_counter()
    history = network.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[PrintEpoch()], seed=seed, **spec["fit"])
    seconds = time.perf_counter() - started
    accuracies = history.column("validation_accuracy")
    result = {
        "name": name,
        "title": spec["title"],
        "seed": seed,
        "final_test_accuracy": accuracies[-1],
        "best_test_accuracy": max(accuracies),
        "epochs": len(accuracies),
        "seconds": round(seconds, 2),
        "target": spec["target"],
        "met": accuracies[-1] >= spec["target"],
    }
    print(
        f"  -> final {result['final_test_accuracy']:.2%}, best {result['best_test_accuracy']:.2%} "
        f"(target {spec['target']:.0%}: {'met' if result['met'] else 'NOT met'}), {seconds:.1f} s\n",
        flush=True,
    )
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNS), help="run only this one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(RUNS)
    results = [run(name, args.seed, args.dtype) for name in names]
    if args.json:
        payload = {"machine": platform.platform(), "processor": platform.processor(), "numpy": np.__version__, "results": results}
        with open(args.json, "w") as file:
            json.dump(payload, file, indent=2)
    return 0 if all(result["met"] for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
