"""Two versions of nnet side by side, step for step: the training step of three networks and a
prediction of one, each version in a fresh process, taking turns round after round.

    git worktree add /tmp/old v0.1.0                       # or any other commit
    python benchmarks/ab_step.py /tmp/old/src src --rounds 4

Prints µs a step (best of three epochs on the first rows of MNIST) and µs a prediction, per
round and as medians. Both get OPENBLAS_THREAD_TIMEOUT=20, as the nnet command sets it. This is
how a change to the core shows it kept every microsecond: `nnet bench` compares with PyTorch in
one process, which on a noisy machine moves more than the change does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

#: name: (sizes, activation, optimizer, batch, rows, learning rate, momentum)
CONFIGS = {
    "lessons": ([784, 30, 10], "sigmoid", "sgd", 10, 10_000, 0.1, None),
    "small": ([784, 100, 10], "relu", "momentum", 128, 30_000, 0.1, 0.9),
    "wide": ([784, 800, 10], "relu", "momentum", 128, 10_000, 0.1, 0.9),
}

CHILD = r"""
import json, sys, time
import numpy as np
import nnet
configs = json.loads(sys.argv[1])
(x, y), _ = nnet.datasets.load_mnist()
out = {}
for name, (sizes, act, opt, batch, rows, rate, momentum) in configs.items():
    net = nnet.Network(sizes, activation=act, output="softmax", cost="cross_entropy", seed=0)
    settings = dict(epochs=1, batch_size=batch, optimizer=opt, learning_rate=rate, seed=0)
    if momentum:
        settings["momentum"] = momentum
    start, best = net.parameters.copy(), float("inf")
    for _ in range(3):
        net.parameters[:] = start
        began = time.perf_counter()
        net.fit(x[:rows], y[:rows], **settings)
        best = min(best, (time.perf_counter() - began) / (rows / batch))
    out[name] = best * 1e6
net = nnet.Network([784, 100, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
one = (x[:2000] / 255.0).astype(np.float32)
best = float("inf")
for _ in range(5):
    began = time.perf_counter()
    for i in range(2000):
        net.forward(one[i : i + 1])
    best = min(best, (time.perf_counter() - began) / 2000)
out["predict-1"] = best * 1e6
print(json.dumps(out))
"""


def one(source: str) -> dict:
    environment = {**os.environ, "PYTHONPATH": source, "OPENBLAS_THREAD_TIMEOUT": "20"}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CONFIGS)], env=environment, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="the old version's source folder (what goes on PYTHONPATH)")
    parser.add_argument("new", help="the new version's source folder")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    times = {"old": [], "new": []}
    for index in range(args.rounds):
        for side in ("old", "new") if index % 2 == 0 else ("new", "old"):
            times[side].append(one(getattr(args, side)))
            print(side, json.dumps({k: round(v, 1) for k, v in times[side][-1].items()}), flush=True)
    print(f"{'':12}{'old':>10}{'new':>10}{'new/old':>9}   (medians, µs)")
    for name in times["old"][0]:
        old = statistics.median(t[name] for t in times["old"])
        new = statistics.median(t[name] for t in times["new"])
        print(f"{name:12}{old:>10.1f}{new:>10.1f}{new / old:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
