"""How long the lab's bound on one training run (nnet.limits.MAX_TRAINING_WORK) is on this
machine: the work of a few runs (nnet.limits.training_work) against their seconds.

    python benchmarks/lab_work.py            # ~1 minute
    python benchmarks/lab_work.py --json benchmarks/results/lab_work.json

Each run trains the lab's own way (nnet.lab.training.TrainingRun, on MNIST's first images) for
one epoch; the last column extrapolates the seconds the largest allowed work would take at that
run's pace. Small batches are slow per multiply-add (the fixed cost of a step), which is what
limits.STEP_OVERHEAD_WORK charges for.
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


def fit(rows) -> None:
    """The constants of limits.training_work from these runs: seconds per multiply-add of the
    large-batch runs, then the fixed and per-parameter cost of a step from the batch-1 runs."""
    def products(title):
        changes = RUNS[title]
        sizes = [784, *changes["hidden"], 10]
        per_example = 3 * sum(a * b for a, b in zip(sizes, sizes[1:]))
        parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
        steps = -(-changes["train_size"] // changes["batch_size"])
        return changes["train_size"] * per_example, steps, parameters

    seconds = {row["run"]: row["seconds"] for row in rows}
    titles = list(RUNS)
    per_product = max(seconds[t] / products(t)[0] for t in (titles[0], titles[2]))
    (compute_b, steps_b, params_b), (compute_c, steps_c, params_c) = products(titles[1]), products(titles[3])
    step_b = (seconds[titles[1]] - per_product * compute_b) / steps_b
    step_c = (seconds[titles[3]] - per_product * compute_c) / steps_c
    per_parameter = (step_c - step_b) / (params_c - params_b)
    fixed = step_b - per_parameter * params_b
    print(f"a multiply-add in a large batch: {per_product * 1e12:.1f} ps; a step: {fixed * 1e6:.1f} us "
          f"+ {per_parameter * 1e9:.2f} ns per parameter; in multiply-adds: STEP_OVERHEAD_WORK ~ "
          f"{fixed / per_product:.2e}, STEP_WORK_PER_PARAMETER ~ {per_parameter / per_product:.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    (x, y), test = datasets.load_mnist()
    test = (test[0][:1000], test[1][:1000])
    rows = []
    for title, changes in RUNS.items():
        settings = {**DEFAULT_SETTINGS, **changes, "epochs": 1}
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
    fit(rows)
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "numpy": np.__version__,
                                         "max_training_work": limits.MAX_TRAINING_WORK, "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
