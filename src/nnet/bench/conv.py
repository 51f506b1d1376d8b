"""The convolutional networks side by side: the same network in nnet and in PyTorch from the same
initial weights, the matrix products of a training step (for the FLOP rate and the BLAS's own
rate on the same products), and the time to 99% test accuracy of ``nnet train --preset conv``
against PyTorch with the same settings, weights, batches and augmented images."""

from __future__ import annotations

import time

import numpy as np

from .common import SETTLE_SECONDS, floats, weights_of

#: The accuracy the preset's race is to.
TARGET = 0.99


def network(layers: str, seed: int = 0, activation: str = "relu"):
    """The nnet network of a layer list in its written form (nnet.layer_kinds), ReLU, with a
    10-way softmax output, on 1 x 28 x 28 images."""
    import nnet
    from nnet import layer_kinds

    entries = [{"activation": activation, **entry} if entry["kind"] in ("conv2d", "dense") else entry
               for entry in layer_kinds.parse(layers)]
    entries.append({"kind": "dense", "n_out": 10, "activation": "softmax"})
    return nnet.Network(layer_kinds.build(entries, (1, 28, 28), seed=seed), cost="cross_entropy")


def torch_model(network, weights, torch):
    """``network`` (nnet) written with torch.nn, holding ``weights`` ([(W, b)] per learned layer):
    the logits (softmax is in the cost); ReLU after every learned layer but the last, dropout
    (its own masks) where nnet's layers have a rate."""
    nn, modules, learned = torch.nn, [], iter(weights)
    for index, layer in enumerate(network.layers):
        if layer.kind == "conv2d":
            module = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        elif layer.kind == "dense":
            module = nn.Linear(layer.n_in, layer.n_out)
        elif layer.kind in ("max_pool2d", "avg_pool2d"):
            pool = nn.MaxPool2d if layer.kind == "max_pool2d" else nn.AvgPool2d
            modules.append(pool(layer.kernel_size, layer.stride, layer.padding))
            continue
        elif layer.kind in ("flatten", "dropout"):
            modules.append(nn.Flatten() if layer.kind == "flatten" else nn.Dropout(layer.dropout))
            continue
        else:
            raise ValueError(f"no PyTorch twin for a {layer.kind} layer")
        W, b = next(learned)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(W))
            module.bias.copy_(torch.from_numpy(b))
        modules.append(module)
        if index < len(network.layers) - 1:
            modules.append(nn.ReLU())
        if layer.dropout:
            modules.append(nn.Dropout(layer.dropout))
    return nn.Sequential(*modules)


def products(network, batch: int) -> list[tuple[int, int, int]]:
    """The matrix products of one training step, one per learned layer: (rows, inner, columns) of
    its forward product, ``(batch, n_in, n_out)`` for a dense layer and ``(batch · H_out · W_out,
    C · kh · kw, F)`` for a convolution (its receptive fields times its filters). The weight
    gradient and the input gradient are products of the same sizes."""
    found = []
    for layer in network.layers:
        if layer.kind == "dense":
            found.append((batch, layer.n_in, layer.n_out))
        elif layer.kind == "conv2d":
            _, rows, cols = layer.output_shape
            found.append((batch * rows * cols, layer.window_size, layer.out_channels))
    return found


def flops(step: list[tuple[int, int, int]], steps: float = 1.0) -> float:
    """FLOPs of ``steps`` training steps of these products: forward and weight gradient for every
    layer, the input gradient for every layer but the first."""
    sizes = [m * k * n for m, k, n in step]
    return 2.0 * steps * (2 * sum(sizes) + sum(sizes[1:]))


def gemm_rate(step: list[tuple[int, int, int]], repeats: int = 20) -> float:
    """GFLOP/s of NumPy's BLAS on exactly the products of one training step (float32)."""
    rng = np.random.default_rng(0)
    arrays = []
    for index, (m, k, n) in enumerate(step):
        x, W, delta = (rng.random(shape, dtype=np.float32) for shape in ((m, k), (k, n), (m, n)))
        arrays.append((x, W, delta, np.empty((m, n), np.float32), np.empty((k, n), np.float32),
                       np.empty((m, k), np.float32), index > 0))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            for x, W, delta, z, dW, dx, input_gradient in arrays:
                np.matmul(x, W, out=z)
                np.matmul(x.T, delta, out=dW)
                if input_gradient:
                    np.matmul(delta, W.T, out=dx)
        best = min(best, (time.perf_counter() - started) / repeats)
    return flops(step) / best / 1e9


def run_conv_99(libraries: list[str], data, log) -> dict:
    """Train ``nnet train --preset conv``'s network, settings and augmentation until the test
    accuracy first reaches 99%, in nnet and in PyTorch (the same initial weights, batches,
    learning rate schedule and augmented images, drawn by nnet.augment from the same seeds; the
    test set scored after each epoch, outside the timing)."""
    from nnet import runs

    settings = runs.resolve({}, preset="conv")
    (x_train, y_train), (x_test, y_test) = data
    network = runs.build_network(settings, x_train.shape[1], 10, (28, 28))
    weights = weights_of(network)
    found = {}
    for name in sorted((library for library in libraries if library in ("nnet", "pytorch")), reverse=True):
        time.sleep(SETTLE_SECONDS)
        if name == "pytorch":
            found[name] = _race_torch(settings, network, weights, data)
        else:
            found[name] = _race_nnet(settings, network, data)
        log(".")
    return {"config": "conv-99", "title": "`nnet train --preset conv` until 99% test accuracy", "kind": "race",
            "settings": settings, "seconds_to_99": found}


def _race_nnet(settings, network, data) -> dict:
    import nnet
    from nnet import runs

    (x_train, y_train), (x_test, y_test) = data

    class Stop(nnet.Callback):  # after each epoch's timing (EpochRecord.seconds)
        accuracy = 0.0

        def on_epoch_end(self, state):
            self.accuracy = network.evaluate(x_test, y_test).accuracy
            state.stop_training = self.accuracy >= TARGET

    stop = Stop()
    history = runs.build_trainer(network, settings, [stop]).run(x_train, y_train)
    return {"seconds": history.seconds, "epochs": len(history.epochs), "test_accuracy": stop.accuracy,
            "reached": stop.accuracy >= TARGET}


def _race_torch(settings, architecture, weights, data) -> dict:
    import torch

    from nnet.augment import Augmentation
    from nnet.minibatches import augment_generator

    (x_train, y_train), (x_test, y_test) = data
    model = torch_model(architecture, weights, torch)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings["learning_rate"], momentum=settings["momentum"] or 0.0,
                                weight_decay=settings["weight_decay"] or 0.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings["epochs"])
    augment = Augmentation(**settings["augment"]) if settings["augment"] else None
    images = x_train.reshape(-1, 28, 28)
    labels, test = torch.from_numpy(y_train.astype(np.int64)), torch.from_numpy(floats(x_test).reshape(-1, 1, 28, 28))
    batch, seed, trained, accuracy, epoch = settings["batch_size"], settings["seed"], 0.0, 0.0, 0
    while accuracy < TARGET and epoch < settings["epochs"]:
        started = time.perf_counter()
        order = np.random.default_rng([seed, epoch]).permutation(len(images))
        for index, begin in enumerate(range(0, len(order), batch)):
            rows = order[begin : begin + batch]
            if augment is None:
                x = floats(images[rows])
            else:
                x = augment(images[rows], augment_generator(seed, epoch, index), scale=1 / 255)
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(torch.from_numpy(x).reshape(-1, 1, 28, 28)), labels[rows]).backward()
            optimizer.step()
        schedule.step()
        trained += time.perf_counter() - started
        with torch.inference_mode():
            accuracy = float((model(test).argmax(1).numpy() == y_test).mean())
        epoch += 1
    return {"seconds": trained, "epochs": epoch, "test_accuracy": accuracy, "reached": accuracy >= TARGET}
