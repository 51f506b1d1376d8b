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
    """The fastest of ``repeats`` calls of ``function()``, in milliseconds (the least disturbed)."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times) * 1e3


def choices(args) -> None:
    """The variants weighed while writing nnet.convolution, nnet.windows and nnet.pooling, timed
    on the shapes of Nielsen's net (batch 64, float32)."""
    import threadpoolctl

    from nnet import windows

    rng = np.random.default_rng(0)
    n, side = BATCH, 5
    row = "  {:52s} {:7.3f}"
    print(f"ms, best of 50 (batch {n}, float32, {args.threads} BLAS threads)")
    with threadpoolctl.threadpool_limits(args.threads, user_api="blas"):
        for channels, size, filters in ((1, 28, 20), (20, 12, 40)):
            out = size - side + 1
            x = rng.normal(size=(n, channels, size, size)).astype(np.float32)
            K, N = channels * side * side, n * out * out
            print(f"copying the windows of {channels} maps of {size}x{size} ({side}x{side}):")
            columns = np.empty((channels, side, side, n, out, out), np.float32)
            print(row.format("columns (C, kh, kw, n, H_out, W_out): rows of the maps",
                             best(lambda: windows.columns(x, (side, side), (1, 1), columns))))
            frame: dict = {}
            rows = np.empty((n, out, out, side, side, channels), np.float32)
            print(row.format("rows (n, H_out, W_out, kh, kw, C): channels last",
                             best(lambda: windows.rows(windows.channels_last(x, (0, 0), frame), (side, side), (1, 1), rows))))
            delta = rng.normal(size=(n, filters, out, out)).astype(np.float32)
            X = columns.reshape(K, n, out * out)
            dW = np.empty((filters, K), np.float32)
            print(f"  ∂C/∂W (F={filters}) from columns:")
            flat_delta = np.ascontiguousarray(delta.transpose(1, 0, 2, 3)).reshape(filters, N)
            print(row.format("  one product δ (F, N) Xᵀ (δ transposed first)",
                             best(lambda: np.matmul(np.ascontiguousarray(delta.transpose(1, 0, 2, 3)).reshape(filters, N),
                                                    X.reshape(K, N).T, out=dW))))
            per_sample = np.empty((n, filters, K), np.float32)
            print(row.format("  one product per sample, then the sum (kept)",
                             best(lambda: np.add.reduce(np.matmul(delta.reshape(n, filters, -1), X.transpose(1, 2, 0),
                                                                  out=per_sample), axis=0, out=dW))))
            del flat_delta
            if channels == 1:
                continue
            print("  ∂C/∂x (the error sent back) for channels-last windows:")
            D = np.ascontiguousarray(delta.transpose(0, 2, 3, 1)).reshape(N, filters)
            W = rng.normal(size=(filters, channels, side, side)).astype(np.float32)
            by_offset = np.ascontiguousarray(W.transpose(2, 3, 0, 1)).reshape(side * side, filters, channels)
            sent = np.empty((side * side, N, channels), np.float32)
            target = np.empty((n, size, size, channels), np.float32)

            def per_offset():
                np.matmul(D, by_offset, out=sent)
                target.fill(0)
                for offset, share in enumerate(sent):
                    p, q = divmod(offset, side)
                    target[:, p : p + out, q : q + out] += share.reshape(n, out, out, channels)
            print(row.format("  a product per kernel offset, added in runs of W_out C (kept)", best(per_offset)))
            everything = np.empty((N, side * side * channels), np.float32)
            all_weights = np.ascontiguousarray(W.transpose(0, 2, 3, 1)).reshape(filters, -1)

            def one_product():
                np.matmul(D, all_weights, out=everything)
                parts = everything.reshape(n, out, out, side, side, channels)
                target.fill(0)
                for p in range(side):
                    for q in range(side):
                        target[:, p : p + out, q : q + out] += parts[:, :, :, p, q]
            print(row.format("  one product, added in runs of C", best(one_product)))
            errors = rng.normal(size=(n, channels, side, side, out, out)).astype(np.float32)
            dx = np.empty_like(x)
            print(row.format("  col2im from columns, in runs of W_out",
                             best(lambda: windows.add_columns(errors, (1, 1), dx))))
            grid = np.arange(x.size).reshape(x.shape)
            positions = np.ascontiguousarray(windows.windows(grid, (side, side), (1, 1)).transpose(0, 1, 4, 5, 2, 3)).ravel()
            print(row.format("  col2im by np.bincount", best(lambda: np.bincount(positions, errors.ravel(), x.size), 10)))

            def add_at():
                np.add.at(np.zeros(x.size, np.float32), positions, errors.ravel())
            print(row.format("  col2im by np.add.at", best(add_at, 3)))

        a = np.maximum(rng.normal(size=(n, 20, 24, 24)), 0).astype(np.float32)
        pool = MaxPool2D(2, input_shape=(20, 24, 24))
        z = np.empty((n, 20, 12, 12), np.float32)
        cache: dict = {}
        print("max-pooling 2x2 of 20 maps of 24x24:")
        print(row.format("forward, the maximum only (prediction)", best(lambda: pool.forward(a, z))))
        print(row.format("forward, and the winner's offset per window (kept)", best(lambda: pool.forward(a, z, z, cache))))
        view = windows.windows(a, (2, 2), (2, 2))

        def argmax():
            patches = view.reshape(n, 20, 12, 12, 4)  # a copy: the windows are not contiguous
            return np.take_along_axis(patches, patches.argmax(axis=-1)[..., None], -1)
        print(row.format("forward, copy + argmax + take", best(argmax)))
        print(row.format("forward, max over the window axes", best(lambda: view.max(axis=(4, 5)), 10)))
        delta = rng.normal(size=z.shape).astype(np.float32)
        dx = np.empty_like(a)
        print(row.format("backward, a masked product per offset (kept)", best(lambda: pool.backpropagate(delta, dx, cache))))
        positions = windows.windows(np.arange(a.size).reshape(a.shape), (2, 2), (2, 2)).reshape(n, 20, 12, 12, 4)
        chosen = view.reshape(n, 20, 12, 12, 4).argmax(-1)

        def scatter():
            dx.fill(0)
            dx.reshape(-1)[np.take_along_axis(positions, chosen[..., None], -1).ravel()] = delta.ravel()
        print(row.format("backward, positions + one scatter", best(scatter)))


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
