"""nnet beside the plain NumPy MLP that a textbook would write: the "before" of nnet's speed work.

The plain version below is what one writes first: allocate every intermediate array, convert the
whole dataset to float32 up front, update each parameter array separately, compute the softmax
and the cross-entropy error apart. nnet trains the same network, from the same initial weights,
on the same minibatches in the same order; the two take turns in one process and the medians of
the epoch times are compared.

    python benchmarks/plain_numpy.py                  # small, wide and deep, 3 repeats
    python benchmarks/plain_numpy.py --only wide --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nnet
from nnet import datasets

CONFIGS = {
    "small": ([784, 100, 10], "momentum", 0.1, 128),
    "wide": ([784, 800, 10], "momentum", 0.1, 128),
    "deep": ([784, 1024, 1024, 10], "adam", 1e-3, 128),
}


def plain_epoch(weights, x, y, order, batch_size, optimizer, learning_rate, state):
    """One epoch of the textbook MLP: ReLU hidden layers, softmax + cross-entropy, allocating."""
    for start in range(0, len(x), batch_size):
        rows = order[start : start + batch_size]
        xb, yb = x[rows], y[rows]
        activations = [xb]
        for index, (W, b) in enumerate(weights):
            z = activations[-1] @ W.T + b
            activations.append(np.maximum(z, 0) if index < len(weights) - 1 else z)
        z = activations[-1]
        exp = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        delta = probabilities
        delta[np.arange(len(yb)), yb] -= 1
        delta /= len(yb)
        grads = []
        for index in range(len(weights) - 1, -1, -1):
            W, _ = weights[index]
            grads.append((delta.T @ activations[index], delta.sum(axis=0)))
            if index:
                delta = (delta @ W) * (activations[index] > 0)
        grads.reverse()
        state["t"] = state.get("t", 0) + 1
        for index, ((W, b), (dW, db)) in enumerate(zip(weights, grads)):
            for name, parameter, gradient in (("W", W, dW), ("b", b, db)):
                key = (index, name)
                if optimizer == "momentum":
                    velocity = state.setdefault(key, np.zeros_like(parameter))
                    velocity *= 0.9
                    velocity += gradient
                    parameter -= learning_rate * velocity
                else:
                    m, v = state.setdefault(key, (np.zeros_like(parameter), np.zeros_like(parameter)))
                    m[:] = 0.9 * m + 0.1 * gradient
                    v[:] = 0.999 * v + 0.001 * gradient**2
                    m_hat = m / (1 - 0.9 ** state["t"])
                    v_hat = v / (1 - 0.999 ** state["t"])
                    parameter -= learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated: {', '.join(CONFIGS)}")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    (x_uint8, y), _ = datasets.load_mnist()
    x_float = (x_uint8 / np.float32(255)).astype(np.float32)  # the plain version converts up front
    print(f"{'configuration':<28}{'plain NumPy s/epoch':>20}{'nnet s/epoch':>14}{'speed-up':>10}")
    for name in args.only.split(",") if args.only else CONFIGS:
        sizes, optimizer, learning_rate, batch_size = CONFIGS[name]
        reference = nnet.Network(sizes, activation="relu", output="softmax", cost="cross_entropy", seed=0)
        initial = [(layer.W.copy(), layer.b.copy()) for layer in reference.layers]
        times = {"plain": [], "nnet": []}
        for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
            order = np.random.default_rng([repeat, 0]).permutation(len(x_uint8))
            weights = [(W.copy(), b.copy()) for W, b in initial]
            time.sleep(0.3)
            started = time.perf_counter()
            plain_epoch(weights, x_float, y, order, batch_size, optimizer, learning_rate, {})
            plain = time.perf_counter() - started
            network = nnet.Network(sizes, activation="relu", output="softmax", cost="cross_entropy", seed=0)
            time.sleep(0.3)
            started = time.perf_counter()
            network.fit(x_uint8, y, epochs=1, batch_size=batch_size, optimizer=optimizer,
                        learning_rate=learning_rate, seed=repeat)
            ours = time.perf_counter() - started
            if repeat:
                times["plain"].append(plain)
                times["nnet"].append(ours)
        plain, ours = statistics.median(times["plain"]), statistics.median(times["nnet"])
        title = f"{name} {sizes} {optimizer}"
        print(f"{title:<28}{plain:>20.2f}{ours:>14.2f}{plain / ours:>9.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
