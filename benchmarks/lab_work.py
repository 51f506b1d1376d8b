"""How long the lab's bound on one training run (nnet.limits.MAX_TRAINING_WORK) is on this
machine: the work of a few runs (nnet.limits.training_work) against their seconds.

    python benchmarks/lab_work.py            # ~1 minute
    python benchmarks/lab_work.py --json benchmarks/results/lab_work.json

Each run trains the lab's own way (nnet.lab.training.TrainingRun, on MNIST's first images) for
one epoch; the last column extrapolates the time the largest allowed work would take at that
run's pace. Were the work counted well, that time would be the same for every run: small batches
are slow per multiply-add (a step reads every weight and updates it, bound by memory), which is
what limits.STEP_OVERHEAD_WORK and limits.STEP_WORK_PER_PARAMETER charge for.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from nnet import datasets, limits
from nnet.lab.training import DEFAULT_SETTINGS, TrainingRun

RUNS = {
    "the default (784-128-10, batch 64)": {"hidden": [128], "batch_size": 64, "train_size": 20_000},
    "batch 1 (784-128-10)": {"hidden": [128], "batch_size": 1, "train_size": 2_000},
    "four layers of 1024, batch 4096": {"hidden": [1024] * 4, "batch_size": 4096, "train_size": 8_192},
    "four layers of 1024, batch 1": {"hidden": [1024] * 4, "batch_size": 1, "train_size": 300},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    (x, y), test = datasets.load_mnist()
    test = (test[0][:1000], test[1][:1000])
    rows = []
    for title, changes in RUNS.items():
        settings = {**DEFAULT_SETTINGS, **changes, "epochs": 1, "learning_rate": 0.001}  # (a rate that never diverges)
        run = TrainingRun(1, settings, (x, y), test, 10, progress_seconds=60, weights_seconds=60)
        started = time.perf_counter()
        run.start()
        run.join()
        seconds = time.perf_counter() - started
        assert run.state == "done", run.events.stored()[-1]
        work = limits.training_work([784, *settings["hidden"], 10], settings["train_size"], 1, settings["batch_size"])
        rows.append({"run": title, "work": work, "seconds": seconds,
                     "bound_seconds": seconds * limits.MAX_TRAINING_WORK / work})
        print(f"{title:36} {work:9.2e} multiply-adds in {seconds:6.2f} s: {work / seconds:8.2e}/s; "
              f"the bound ({limits.MAX_TRAINING_WORK:.0e}) at this pace: {rows[-1]['bound_seconds'] / 60:5.1f} min")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "numpy": np.__version__,
                                         "max_training_work": limits.MAX_TRAINING_WORK, "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
