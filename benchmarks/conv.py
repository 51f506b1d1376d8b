"""Convolutional training speed beside PyTorch, and the measurements behind nnet's choices.

    python benchmarks/conv.py                  # Nielsen's conv net: nnet and PyTorch, interleaved
    python benchmarks/conv.py --steps 300 --rounds 5
    python benchmarks/conv.py --parts          # where an nnet step goes, layer by layer
    python benchmarks/conv.py --choices        # col2im, pooling and im2col variants, timed

Nielsen's network of chapter 6: conv 20 5x5 -> max-pool 2 -> conv 40 5x5 -> max-pool 2 ->
FC 100 -> 10 softmax, ReLU, cross-entropy, SGD with momentum 0.9, batch 64. Both libraries
start each round from the same weights (copied from the nnet network) and train on the same
minibatches in the same order (nnet's shuffle of the round's seed), with the same threads
(--threads, default 2: threadpoolctl for NumPy's OpenBLAS, torch.set_num_threads). nnet trains
through ``Network.fit`` (its uint8 images scaled per batch, as always); PyTorch through its own
loop on a float tensor. The libraries take turns, round after round; the table gives the best round of each (the
least disturbed by anything else on the machine) and the medians.
Nothing is asserted: this is a measurement, run on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")  # as the nnet command does, before NumPy

import numpy as np  # noqa: E402

import nnet  # noqa: E402
from nnet import Dense, Network  # noqa: E402
from nnet.convolution import Conv2D  # noqa: E402
from nnet.pooling import Flatten, MaxPool2D  # noqa: E402

BATCH = 64
LEARNING_RATE, MOMENTUM = 0.05, 0.9
SETTLE_SECONDS = 0.3  # idle BLAS and OpenMP threads stop spinning before the next library runs
N_EPOCH = 60_000


def nielsen(seed=0) -> Network:
    return Network([Conv2D(1, 20, 5, input_shape=(1, 28, 28), seed=seed), MaxPool2D(2),
                    Conv2D(20, 40, 5, seed=seed + 1), MaxPool2D(2), Flatten(),
                    Dense(640, 100, "relu", init="he", seed=seed + 2),
                    Dense(100, 10, "softmax", init="xavier", seed=seed + 3)], cost="cross_entropy")


def torch_twin(net: Network, torch):
    """The same network in torch.nn, with nnet's initial weights."""
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 40, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(640, 100), nn.ReLU(), nn.Linear(100, 10))
    learned = [layer for layer in net.layers if layer.parameters]
    modules = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer, module in zip(learned, modules):
            module.weight.copy_(torch.from_numpy(layer.W))
            module.bias.copy_(torch.from_numpy(layer.b))
    return model


def train_torch(model, initial, x, y, seed, torch):
    with torch.no_grad():
        for parameter, start in zip(model.parameters(), initial):
            parameter.copy_(start)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss = torch.nn.CrossEntropyLoss()
    order = torch.from_numpy(np.random.default_rng([seed, 0]).permutation(len(x)))
    for start in range(0, len(x), BATCH):
        rows = order[start : start + BATCH]
        optimizer.zero_grad(set_to_none=True)
        loss(model(x[rows]), y[rows]).backward()
        optimizer.step()


def compare(args) -> None:
    import threadpoolctl
    import torch

    torch.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = nnet.datasets.load_mnist()
    n = args.steps * BATCH
    x, y = x_train[:n].reshape(n, 1, 28, 28), y_train[:n]
    net = nielsen()
    initial = net.parameters.copy()
    model = torch_twin(net, torch)
    torch_initial = [p.detach().clone() for p in model.parameters()]
    tx = torch.from_numpy(x.astype(np.float32) / 255.0)
    ty = torch.from_numpy(y.astype(np.int64))
    times = {"nnet": [], "pytorch": []}
    with threadpoolctl.threadpool_limits(args.threads, user_api="blas"):
        for round_ in range(args.rounds + 1):  # round 0 warms up both
            for library in ("nnet", "pytorch") if round_ % 2 else ("pytorch", "nnet"):
                time.sleep(SETTLE_SECONDS)
                started = time.perf_counter()
                if library == "nnet":
                    np.copyto(net.parameters, initial)
                    net.fit(x, y, epochs=1, batch_size=BATCH, optimizer="momentum", learning_rate=LEARNING_RATE,
                            momentum=MOMENTUM, seed=round_)
                else:
                    train_torch(model, torch_initial, tx, ty, round_, torch)
                if round_:
                    times[library].append(time.perf_counter() - started)
    best = {library: min(seconds) * N_EPOCH / n for library, seconds in times.items()}
    middle = {library: statistics.median(seconds) * N_EPOCH / n for library, seconds in times.items()}
    print(f"Nielsen's conv net, batch {BATCH}, momentum, {args.threads} threads, {args.steps} steps x "
          f"{args.rounds} rounds, as seconds per 60,000 images (best, median, every round):")
    for library in times:
        spread = ", ".join(f"{s * N_EPOCH / n:.2f}" for s in times[library])
        print(f"  {library:8s} best {best[library]:6.2f}  median {middle[library]:6.2f}   ({spread})")
    print(f"  nnet's throughput = {best['pytorch'] / best['nnet']:.2f} x PyTorch's (best rounds), "
          f"{middle['pytorch'] / middle['nnet']:.2f} x (medians)")


def parts(args) -> None:
    """Per layer, the forward and backward time of one training step of batch 64."""
    import threadpoolctl

    from nnet import speed

    net = nielsen()
    (x_train, y_train), _ = nnet.datasets.load_mnist()
    examples = net.examples(x_train[:BATCH].reshape(BATCH, 1, 28, 28), y_train[:BATCH])
    space = speed.Workspace(net.layers, BATCH, net.n_outputs, net.dtype)
    examples.gather(np.arange(BATCH), space.x, space.targets, space.labels)
    repeats, warm = args.steps, 10
    forward = np.zeros((repeats + warm, len(net.layers)))
    grad = np.zeros_like(forward)
    back = np.zeros_like(forward)
    with threadpoolctl.threadpool_limits(args.threads, user_api="blas"), speed.training(args.threads):
        for repeat in range(repeats + warm):
            inputs = [space.x]
            for index, (layer, z, a, cache) in enumerate(zip(net.layers, space.zs, space.activations, space.caches)):
                started = time.perf_counter()
                inputs.append(layer.forward(inputs[-1], z, a, cache))
                forward[repeat, index] = time.perf_counter() - started
            delta = net.cost.delta(space.zs[-1], space.activations[-1], space.targets, net.layers[-1].activation,
                                   out=space.deltas[-1])
            for index in range(len(net.layers) - 1, -1, -1):
                layer = net.layers[index]
                started = time.perf_counter()
                layer.gradient(delta, inputs[index], space.caches[index])
                grad[repeat, index] = time.perf_counter() - started
                if index:
                    started = time.perf_counter()
                    below = net.layers[index - 1]
                    delta = below.error(layer.backpropagate(delta, space.deltas[index - 1], space.caches[index]),
                                        space.zs[index - 1], space.activations[index - 1], space.caches[index - 1])
                    back[repeat, index] = time.perf_counter() - started
    forward, grad, back = (np.median(times[warm:], axis=0) for times in (forward, grad, back))
    scale = 1e3
    print(f"ms per step of batch {BATCH} ({args.threads} threads), by layer (medians of {repeats} steps):")
    print(f"  {'layer':32s} {'forward':>8s} {'BP3/BP4':>8s} {'BP2':>8s}")
    for index, layer in enumerate(net.layers):
        print(f"  {repr(layer)[:32]:32s} {forward[index] * scale:8.3f} {grad[index] * scale:8.3f} "
              f"{back[index] * scale:8.3f}")
    print(f"  {'total':32s} {forward.sum() * scale:8.3f} {grad.sum() * scale:8.3f} {back.sum() * scale:8.3f}"
          f"   = {(forward.sum() + grad.sum() + back.sum()) * scale:.3f} ms")


def best(function, repeats=50) -> float:
    """Median milliseconds of ``function()``."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def choices(args) -> None:
    """The variants weighed while writing nnet.windows and nnet.pooling, timed on the shapes of
    Nielsen's net (batch 64, float32)."""
    import threadpoolctl

    from nnet import windows

    rng = np.random.default_rng(0)
    print("ms, median of 50 (batch 64, float32)")
    with threadpoolctl.threadpool_limits(args.threads, user_api="blas"):
        for channels, side, kernel in ((1, 28, 5), (20, 12, 5)):
            x = rng.normal(size=(BATCH, channels, side, side)).astype(np.float32)
            out_side = side - kernel + 1
            columns = np.empty((channels, kernel, kernel, BATCH, out_side, out_side), np.float32)
            print(f"im2col / col2im, {channels} maps of {side}x{side}, {kernel}x{kernel} windows:")
            print(f"  im2col, one strided copy              {best(lambda: windows.columns(x, (kernel, kernel), (1, 1), columns)):.3f}")

            def per_offset():
                for p in range(kernel):
                    for q in range(kernel):
                        np.copyto(columns[:, p, q], x[:, :, p : p + out_side, q : q + out_side].transpose(1, 0, 2, 3))
            print(f"  im2col, one copy per kernel offset    {best(per_offset):.3f}")
            errors = rng.normal(size=columns.shape).astype(np.float32)
            dx = np.empty_like(x)
            print(f"  col2im, one addition per offset       {best(lambda: windows.add_columns(errors, (kernel, kernel), (1, 1), dx)):.3f}")
            index = np.arange(x.size).reshape(x.shape)
            positions = np.ascontiguousarray(
                windows.windows(index, (kernel, kernel), (1, 1)).transpose(1, 4, 5, 0, 2, 3)).ravel()
            flat = errors.ravel()
            print(f"  col2im, np.bincount                   {best(lambda: np.bincount(positions, flat, x.size), 10):.3f}")

            def add_at():
                target = np.zeros(x.size, np.float32)
                np.add.at(target, positions, flat)
            print(f"  col2im, np.add.at                     {best(add_at, 3):.3f}")
        a = np.maximum(rng.normal(size=(BATCH, 20, 24, 24)), 0).astype(np.float32)
        pool = MaxPool2D(2, input_shape=(20, 24, 24))
        z = np.empty((BATCH, 20, 12, 12), np.float32)
        cache: dict = {}
        print("max-pooling 2x2 of 20 maps of 24x24:")
        print(f"  forward, one comparison per offset    {best(lambda: pool.forward(a, z, z, cache)):.3f}")
        view = windows.windows(a, (2, 2), (2, 2))

        def reduction():
            patches = view.reshape(BATCH, 20, 12, 12, 4)  # a copy: the windows are not contiguous
            winner = patches.argmax(axis=-1)
            return np.take_along_axis(patches, winner[..., None], -1)
        print(f"  forward, copy + argmax + take         {best(reduction):.3f}")
        print(f"  forward, max over the window axes     {best(lambda: view.max(axis=(4, 5))):.3f}")
        delta = rng.normal(size=z.shape).astype(np.float32)
        dx = np.empty_like(a)
        print(f"  backward, one masked add per offset   {best(lambda: pool.backpropagate(delta, dx, cache)):.3f}")
        winner = reduction()  # noqa: F841 - the same work as the forward above
        grid = np.arange(a.size).reshape(a.shape)
        positions = windows.windows(grid, (2, 2), (2, 2)).reshape(BATCH, 20, 12, 12, 4)
        chosen = view.reshape(BATCH, 20, 12, 12, 4).argmax(-1)

        def scatter():
            dx.fill(0)
            dx.reshape(-1)[np.take_along_axis(positions, chosen[..., None], -1).ravel()] = delta.ravel()
        print(f"  backward, positions + one scatter     {best(scatter):.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps per round (default 150)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per library (default 7)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", action="store_true", help="time each layer of an nnet step")
    parser.add_argument("--choices", action="store_true", help="time the variants behind the implementation")
    args = parser.parse_args(argv)
    if args.parts:
        parts(args)
    elif args.choices:
        choices(args)
    else:
        compare(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
