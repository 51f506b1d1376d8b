"""The book's ladder, rung by rung, with nnet: Nielsen's chapter 6 climbs from a fully connected
network at 97.80% to 99.60% with convolution, pooling, ReLU, an expanded training set, another
fully connected layer and dropout. Each rung here is the book's network and hyperparameters
(its mini-batches of 10, plain SGD, its η and L2 λ, the log-likelihood cost of a softmax output),
trained by nnet on the book's split (the first 50,000 training images; the last 10,000 validate),
and scored as the book scores: the test accuracy of the epoch with the best validation accuracy.
Then nnet's own presets, `nnet train --preset best-mlp` and `--preset conv`, as the command runs.

    python benchmarks/ladder.py                         # every rung at the book's epochs (hours)
    python benchmarks/ladder.py --epochs-scale 0.2      # a fifth of the book's epochs
    python benchmarks/ladder.py --only 1,2,3 --seeds 0,1,2
    python benchmarks/ladder.py --only presets          # the two presets, whole commands

Writes benchmarks/results/ladder.json and prints the table for the README (accuracy, training
time and the book's figure side by side). Run it on a quiet machine: the times are the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")  # as the nnet command does, before NumPy

import numpy as np  # noqa: E402

import nnet  # noqa: E402
from nnet import layer_kinds, runs, speed  # noqa: E402
from nnet.augment import expand_by_shifts  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "ladder.json"
BOOK_TRAIN = 50_000  # the book's training images; the other 10,000 of MNIST's 60,000 validate

#: The book's L2 regularisation, C = C₀ + λ/(2n) Σw², is nnet's weight decay λ/n.
def l2(lmbda: float) -> float:
    return lmbda / BOOK_TRAIN


CONV1 = "conv20x5,maxpool2"
CONV2 = "conv20x5,maxpool2,conv40x5,maxpool2"

#: (rung, what changes, the book's test accuracy, nnet settings, the book's epochs, expanded data)
RUNGS = [
    ("1", "fully connected 784-100-10, sigmoid", 0.9780,
     {"layers": "100", "activation": "sigmoid", "learning_rate": 0.1}, 60, False),
    ("2", "a conv-pool layer (20 5x5, max 2x2) below FC 100", 0.9878,
     {"layers": f"{CONV1},100", "activation": "sigmoid", "learning_rate": 0.1}, 60, False),
    ("3", "a second conv-pool layer (40 5x5)", 0.9906,
     {"layers": f"{CONV2},100", "activation": "sigmoid", "learning_rate": 0.1}, 60, False),
    ("4", "ReLU, η = 0.03, L2 λ = 0.1", 0.9923,
     {"layers": f"{CONV2},100", "activation": "relu", "learning_rate": 0.03, "weight_decay": l2(0.1)}, 60, False),
    ("5", "the training set expanded by one-pixel shifts", 0.9937,
     {"layers": f"{CONV2},100", "activation": "relu", "learning_rate": 0.03, "weight_decay": l2(0.1)}, 60, True),
    ("6", "another fully connected layer (FC 100, FC 100)", 0.9943,
     {"layers": f"{CONV2},100,100", "activation": "relu", "learning_rate": 0.03, "weight_decay": l2(0.1)}, 60, True),
    ("7", "dropout 0.5 on FC 1000, FC 1000; 40 epochs", 0.9960,
     {"layers": f"{CONV2},1000,dropout0.5,1000,dropout0.5", "activation": "relu", "learning_rate": 0.03}, 40, True),
]
BOOK = {"optimizer": "sgd", "batch_size": 10, "lr_schedule": "constant", "output": "softmax", "cost": "cross_entropy",
        "init": "lecun", "validation": 0}  # lecun: close to the book's N(0, 1/n_out)
PRESETS = ("best-mlp", "conv")


def run_rung(rung, seed: int, epochs_scale: float, data) -> dict:
    """One rung with one seed: the test accuracy at the best validation epoch, and the last's."""
    name, _, _, changes, book_epochs, expanded = rung
    (x_all, y_all), (x_test, y_test) = data
    x_train, y_train = x_all[:BOOK_TRAIN], y_all[:BOOK_TRAIN]
    x_val, y_val = x_all[BOOK_TRAIN:], y_all[BOOK_TRAIN:]
    if expanded:
        x_train, y_train = expand_by_shifts(x_train, y_train, image_shape=(28, 28))
    epochs = max(1, round(book_epochs * epochs_scale))
    settings = runs.resolve({**BOOK, **changes, "layers": layer_kinds.parse(changes["layers"]), "epochs": epochs,
                             "seed": seed})
    network = runs.build_network(settings, 784, 10, (28, 28))
    scores = []

    class Score(nnet.Callback):  # after each epoch's timing (EpochRecord.seconds)
        def on_epoch_end(self, state):
            scores.append((network.evaluate(x_val, y_val).accuracy, network.evaluate(x_test, y_test).accuracy))

    history = runs.build_trainer(network, settings, [Score()]).run(x_train, y_train)
    best = max(range(len(scores)), key=lambda epoch: scores[epoch][0])
    return {"rung": name, "seed": seed, "epochs": epochs, "book_epochs": book_epochs, "training_images": len(x_train),
            "test_accuracy": scores[best][1], "best_epoch": best + 1, "final_test_accuracy": scores[-1][1],
            "validation_accuracy": scores[best][0], "training_seconds": history.seconds}


def run_preset(preset: str, seed: int) -> dict:
    """`nnet train --preset PRESET` as a user runs it: wall time, peak memory, test accuracy."""
    from nnet.bench.measure import run_command

    with tempfile.TemporaryDirectory() as folder:
        seconds, peak_mb, output = run_command(["train", "--preset", preset, "--seed", str(seed), "--json",
                                                "--out", os.path.join(folder, "model.safetensors")])
    report = json.loads(output)
    return {"rung": preset, "seed": seed, "epochs": report["settings"]["epochs"], "command_seconds": seconds,
            "training_seconds": report["training_seconds"], "peak_memory_mb": peak_mb,
            "test_accuracy": report["scores"]["test"]["accuracy"]}


def table(results: list[dict]) -> str:
    """The README's table: one row per rung, its seeds' mean test accuracy beside the book's."""
    lines = ["| rung | network | book | nnet (test, best validation epoch) | epochs (book's) | training time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, title, book, *_ in RUNGS:
        found = [r for r in results if r["rung"] == name]
        if found:
            lines.append(f"| {name} | {title} | {book:.2%} | {_accuracies(found)} | {found[0]['epochs']} "
                         f"({found[0]['book_epochs']}) | {_seconds(found, 'training_seconds')} |")
    for preset in PRESETS:
        found = [r for r in results if r["rung"] == preset]
        if found:
            memory = max(r["peak_memory_mb"] or 0 for r in found)
            lines.append(f"| preset | `nnet train --preset {preset}` | | {_accuracies(found)} | {found[0]['epochs']} | "
                         f"{_seconds(found, 'command_seconds')} whole command, peak {memory:.0f} MB |")
    return "\n".join(lines)


def _accuracies(found) -> str:
    values = [r["test_accuracy"] for r in found]
    if len(values) == 1:
        return f"{values[0]:.2%}"
    return f"{statistics.mean(values):.2%} ± {statistics.stdev(values):.2%} ({len(values)} seeds: " \
           f"{', '.join(f'{v:.2%}' for v in values)})"


def _seconds(found, key) -> str:
    return f"{statistics.mean(r[key] for r in found):.0f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated rungs (1..7) and presets (best-mlp, conv, or presets for both)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="train each rung this fraction of the book's epochs")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--out", default=str(RESULTS), help=f"the JSON results (default {RESULTS}); runs are added to it")
    args = parser.parse_args(argv)
    wanted = [name for part in (args.only or "1,2,3,4,5,6,7,presets").split(",")
              for name in (PRESETS if part == "presets" else [part])]
    speed.set_threads(args.threads)
    data = nnet.datasets.load_mnist()
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.exists() else {"runs": []}
    report["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                         "numpy": np.__version__, "threads": args.threads}
    for seed in (int(seed) for seed in args.seeds.split(",")):
        for name in wanted:
            rung = next((r for r in RUNGS if r[0] == name), None)
            started = time.perf_counter()
            result = run_preset(name, seed) if rung is None else run_rung(rung, seed, args.epochs_scale, data)
            result["command"] = " ".join(["python", "benchmarks/ladder.py", *(argv if argv is not None else sys.argv[1:])])
            report["runs"] = [r for r in report["runs"] if (r["rung"], r["seed"], r["epochs"]) !=
                              (result["rung"], seed, result["epochs"])] + [result]
            out.write_text(json.dumps(report, indent=2))
            print(f"{name} seed {seed}: {result['test_accuracy']:.2%} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    print(table(report["runs"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
