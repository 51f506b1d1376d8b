"""What augmentation costs training: the presets' networks trained on the same minibatches
without augmentation, with it prepared a batch ahead in a background thread (as ``fit`` does:
with the BLAS on every core, or on one core fewer), and with it prepared in line, taking turns
round after round; medians, and the extra time as a share of the time without (the issue
allows 15%).

    python benchmarks/augment_training.py                 # both presets, 300 steps, 5 rounds
    python benchmarks/augment_training.py --only conv --steps 600 --rounds 7

Each round trains one "epoch" of ``steps`` minibatches (the first steps x batch images) from the
same initial weights, with the preset's optimizer, batch size and augmentation, 2 threads.
Results go to benchmarks/results/augment_training.json. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")  # as the nnet command does, before NumPy

import nnet  # noqa: E402
from nnet import runs, speed  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "augment_training.json"
#: without augmentation; with it a batch ahead in a background thread; the same with the BLAS one
#: thread fewer (the background thread has a core of its own); prepared in line.
VARIANTS = ("without", "ahead", "ahead, BLAS 1 thread fewer", "in line")


def one_round(preset: str, variant: str, x, y) -> float:
    settings = runs.resolve({"epochs": 1}, preset=preset)
    if variant == "without":
        settings["augment"] = None
    network = runs.build_network(settings, 784, 10, (28, 28))
    trainer = runs.build_trainer(network, settings)
    trainer.ahead = variant.startswith("ahead")
    if variant == "ahead, BLAS 1 thread fewer":
        trainer.threads = max(1, speed.cores() - 1)
    return trainer.run(x, y).seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated presets (default: conv,best-mlp)")
    parser.add_argument("--steps", type=int, default=300, help="minibatches a round (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    speed.set_threads(args.threads)
    (x_all, y_all), _ = nnet.datasets.load_mnist()
    report = {"threads": args.threads, "steps": args.steps, "rounds": args.rounds, "presets": {}}
    for preset in (args.only or "conv,best-mlp").split(","):
        rows = args.steps * runs.PRESETS[preset]["batch_size"]
        x, y = x_all[:rows], y_all[:rows]
        times = {variant: [] for variant in VARIANTS}
        one_round(preset, "ahead", x[:640], y[:640])  # warm up: imports, first allocations
        for index in range(args.rounds):
            for variant in VARIANTS if index % 2 == 0 else reversed(VARIANTS):
                time.sleep(0.3)
                times[variant].append(one_round(preset, variant, x, y))
        medians = {variant: statistics.median(seconds) for variant, seconds in times.items()}
        base = medians["without"]
        report["presets"][preset] = {
            "augment": str(nnet.augment.Augmentation(**runs.PRESETS[preset]["augment"])),
            "seconds": times, "median_seconds": medians,
            "overhead": {variant: medians[variant] / base - 1.0 for variant in VARIANTS[1:]},
            "ms_per_step": {variant: 1000 * seconds / args.steps for variant, seconds in medians.items()},
        }
        print(f"{preset}: {args.steps} steps, medians of {args.rounds}: "
              + ", ".join(f"{variant} {seconds:.2f} s" for variant, seconds in medians.items())
              + "; augmentation costs " + ", ".join(f"{cost:+.1%} {variant}" for variant, cost in
                                                    report["presets"][preset]["overhead"].items()), flush=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
