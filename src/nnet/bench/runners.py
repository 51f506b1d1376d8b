"""The libraries side by side: the configurations, and one runner per library that trains or
predicts a configuration from given initial weights, in nnet's batch order."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy as np

from .common import N_TRAIN, floats


@dataclass
class Config:
    name: str
    title: str
    sizes: list[int]
    activation: str = "relu"
    optimizer: str = "momentum"
    learning_rate: float = 0.1
    momentum: float | None = 0.9
    batch_size: int = 128
    kind: str = "train"  # or "predict"
    samples: int = N_TRAIN  # samples timed per repeat: a whole epoch for training
    layers: str | None = None  # a convolutional network, as nnet train --layers writes it (sizes: [784, 10])


CONFIGS = {
    config.name: config
    for config in (
        Config("lessons", "[784, 30, 10] sigmoid, SGD, batch 10", [784, 30, 10], "sigmoid", "sgd", 0.5, None, 10),
        Config("small", "[784, 100, 10] ReLU, momentum, batch 128", [784, 100, 10]),
        Config("wide", "[784, 800, 10] ReLU, momentum, batch 128", [784, 800, 10]),
        Config("deep", "[784, 1024, 1024, 10] ReLU, Adam, batch 128", [784, 1024, 1024, 10], "relu", "adam", 1e-3, None, 128),
        Config("predict-1", "[784, 100, 10] inference, batch 1", [784, 100, 10], batch_size=1, kind="predict", samples=3_000),
        Config("predict-1000", "[784, 100, 10] inference, batch 1000", [784, 100, 10], batch_size=1000, kind="predict", samples=20_000),
        Config("nielsen-conv", "Nielsen's conv 20-40 5x5, FC 100, momentum, batch 64", [784, 10], learning_rate=0.05,
               batch_size=64, samples=12_000, layers="conv20x5,maxpool2,conv40x5,maxpool2,100"),
        Config("conv-32-64", "conv 32-64 3x3, pool, FC 128, momentum, batch 64", [784, 10], learning_rate=0.05,
               batch_size=64, samples=6_000, layers="conv32x3,conv64x3,maxpool2,128"),
    )
}


@dataclass
class Result:
    config: str
    library: str
    seconds: list[float] = field(default_factory=list)  # per repeat, for `samples` samples

    def median(self) -> float:
        return statistics.median(self.seconds)


def reference(config: Config):
    """The configuration's network in nnet (seed 0): the initial weights and the shapes."""
    import nnet

    if config.layers:
        from .conv import network

        return network(config.layers)
    return nnet.Network(config.sizes, activation=config.activation, output="softmax", cost="cross_entropy", seed=0)


class NnetRunner:
    name = "nnet"

    def __init__(self, config: Config, weights, x, y):
        self.config = config
        self.network = reference(config)
        for layer, (W, b) in zip([layer for layer in self.network.layers if layer.parameters], weights):
            layer.W, layer.b = W, b
        self.initial = self.network.parameters.copy()
        self.x, self.y = x, y  # uint8 pixels, int labels: nnet's own path
        if config.kind == "predict":  # prediction is timed on float32 inputs, as for the others
            self.x_float = floats(x)

    def train(self, seed: int) -> None:
        np.copyto(self.network.parameters, self.initial)
        config = self.config
        self.network.fit(
            self.x, self.y, epochs=1, batch_size=config.batch_size, optimizer=config.optimizer,
            learning_rate=config.learning_rate, momentum=config.momentum, seed=seed,
        )

    def predict(self) -> None:
        network, x, step = self.network, self.x_float, self.config.batch_size
        for start in range(0, len(x), step):
            network.forward(x[start : start + step])


class TorchRunner:
    name = "pytorch"

    def __init__(self, config: Config, weights, x, y):
        import torch

        self.torch = torch
        self.config = config
        self.x = torch.from_numpy(floats(x))
        self.y = torch.from_numpy(y.astype(np.int64))
        if config.layers:
            from .conv import torch_model

            self.model, self.x = torch_model(reference(config), weights, torch), self.x.reshape(-1, 1, 28, 28)
            self.initial = [p.detach().clone() for p in self.model.parameters()]
            return
        layers = []
        for index, (W, b) in enumerate(weights):
            linear = torch.nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(weights) - 1:
                layers.append(torch.nn.Sigmoid() if config.activation == "sigmoid" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.initial = [p.detach().clone() for p in self.model.parameters()]

    def _optimizer(self):
        torch, config = self.torch, self.config
        parameters = self.model.parameters()
        if config.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=config.learning_rate)
        return torch.optim.SGD(parameters, lr=config.learning_rate, momentum=config.momentum or 0.0)

    def train(self, seed: int) -> None:
        torch = self.torch
        with torch.no_grad():
            for parameter, initial in zip(self.model.parameters(), self.initial):
                parameter.copy_(initial)
        self.epoch(self._optimizer(), seed=[seed, 0])

    def epoch(self, optimizer, seed) -> None:
        """One epoch in nnet's batch order for ``seed`` (nnet shuffles with default_rng(seed))."""
        torch = self.torch
        order = torch.from_numpy(np.random.default_rng(seed).permutation(len(self.x)))
        step, model, x, y = self.config.batch_size, self.model, self.x, self.y
        cross_entropy = torch.nn.functional.cross_entropy
        for start in range(0, len(x), step):
            rows = order[start : start + step]
            optimizer.zero_grad(set_to_none=True)
            loss = cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()

    def predict(self) -> None:
        torch, model, x, step = self.torch, self.model, self.x, self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(x), step):
                torch.softmax(model(x[start : start + step]), dim=1)


class SklearnRunner:
    name = "scikit-learn"

    def __init__(self, config: Config, weights, x, y):
        from sklearn.neural_network import MLPClassifier

        self.config = config
        self.x = floats(x)
        self.y = y
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(config.sizes[1:-1]),
            activation="logistic" if config.activation == "sigmoid" else "relu",
            solver="adam" if config.optimizer == "adam" else "sgd",
            learning_rate_init=config.learning_rate,
            momentum=config.momentum or 0.0,
            nesterovs_momentum=False,
            batch_size=config.batch_size,
            alpha=0.0,
            random_state=0,
        )
        self.classes = np.arange(config.sizes[-1])
        self.model.partial_fit(self.x[: config.batch_size], self.y[: config.batch_size], classes=self.classes)
        self.model.coefs_ = [W.T.astype(self.x.dtype).copy() for W, _ in weights]
        self.model.intercepts_ = [b.astype(self.x.dtype).copy() for _, b in weights]

    def train(self, seed: int) -> None:
        self.model.partial_fit(self.x, self.y)

    def predict(self) -> None:
        model, x, step = self.model, self.x, self.config.batch_size
        for start in range(0, len(x), step):
            model.predict_proba(x[start : start + step])


RUNNERS = {"nnet": NnetRunner, "pytorch": TorchRunner, "scikit-learn": SklearnRunner}


def available_libraries() -> list[str]:
    names = ["nnet"]
    for name, module in (("pytorch", "torch"), ("scikit-learn", "sklearn")):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(name)
    return names
