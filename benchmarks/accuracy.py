"""Reproduce the two reference results on the full MNIST (not a test: run it by hand).

(a) lessons   the lessons' network: [784, 30, 10], sigmoid, quadratic cost, plain SGD,
              learning rate 3.0, minibatches of 10, 30 epochs, trained on the first 50,000
              training images as the lessons do. Nielsen's network.py reports 95.42% on the test
              set (http://neuralnetworksanddeeplearning.com/chap1.html); nnet must reach >= 95%.
(b) relu      [784, 128, 10], ReLU, softmax output, cross-entropy: >= 98% within 10 epochs
              (SGD with momentum 0.9, learning rate 0.1, batch 64, cosine schedule).

    python benchmarks/accuracy.py                      # both, seed 0
    python benchmarks/accuracy.py --only relu          # one of them
    python benchmarks/accuracy.py --seeds 0-7 --quiet  # eight seeds each, and their summary
    python benchmarks/accuracy.py --seeds 0-7 --json benchmarks/results/accuracy.json

Prints each epoch's test accuracy, a closing line per run with the best and final accuracies
and the time, and with several seeds a summary (mean, lowest, highest). A single run's accuracy
moves by about half a point from seed to seed (the initial weights and the shuffling), as it
does for network.py: judge the network by the summary.
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


def run(name: str, seed: int, dtype: str = "float32", quiet: bool = False) -> dict:
    spec = RUNS[name]
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    x_train, y_train = x_train[: spec["train_images"]], y_train[: spec["train_images"]]
    if not quiet:
        print(spec["title"], f"(seed {seed})", flush=True)
    network = nnet.Network(**spec["network"], seed=seed, dtype=dtype)
    started = time.perf_counter()
    callbacks = [] if quiet else [PrintEpoch()]
    history = network.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=callbacks, seed=seed, **spec["fit"])
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
        f"  {name} seed {seed}: final {result['final_test_accuracy']:.2%}, best {result['best_test_accuracy']:.2%}, "
        f"{seconds:.1f} s" + ("" if quiet else "\n"),
        flush=True,
    )
    return result


def summarize(name: str, results: list[dict]) -> dict:
    """Mean, lowest and highest final and best-epoch accuracy over the seeds."""
    summary = {"name": name, "title": RUNS[name]["title"], "target": RUNS[name]["target"], "seeds": [r["seed"] for r in results]}
    for key in ("final_test_accuracy", "best_test_accuracy"):
        values = [r[key] for r in results]
        summary[key] = {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}
    summary["mean_seconds"] = sum(r["seconds"] for r in results) / len(results)
    summary["met"] = summary["final_test_accuracy"]["mean"] >= summary["target"]
    return summary


def parse_seeds(text: str) -> list[int]:
    """'0-7' or '0,3,5'."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNS), help="run only this one")
    parser.add_argument("--seeds", default="0", help="a seed, a list (0,3,5) or a range (0-7); default 0")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--quiet", action="store_true", help="one line per run, no epochs")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(RUNS)
    seeds = parse_seeds(args.seeds)
    summaries, runs = [], []
    for name in names:
        results = [run(name, seed, args.dtype, args.quiet) for seed in seeds]
        runs.extend(results)
        summary = summarize(name, results)
        summaries.append(summary)
        final, best = summary["final_test_accuracy"], summary["best_test_accuracy"]
        print(
            f"{summary['title']}: over {len(seeds)} seed(s), final test accuracy mean {final['mean']:.2%} "
            f"(lowest {final['min']:.2%}, highest {final['max']:.2%}); best epoch mean {best['mean']:.2%} "
            f"(lowest {best['min']:.2%}, highest {best['max']:.2%}); {summary['mean_seconds']:.1f} s a run; "
            f"target {summary['target']:.0%}: {'met' if summary['met'] else 'NOT met'} by the mean final accuracy\n",
            flush=True,
        )
    if args.json:
        payload = {"machine": platform.platform(), "processor": platform.processor(), "numpy": np.__version__,
                   "dtype": args.dtype, "summaries": summaries, "runs": runs}
        with open(args.json, "w") as file:
            json.dump(payload, file, indent=2)
    return 0 if all(summary["met"] for summary in summaries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
