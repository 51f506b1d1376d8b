"""nnet: a neural network you can read, run fast, and look inside.

The feed-forward network of the classic lessons, from scratch on NumPy::

    import nnet
    (x_train, y_train), (x_test, y_test) = nnet.datasets.load_mnist()
    net = nnet.Network([784, 128, 10], activation="relu", output="softmax",
                       cost="cross_entropy", seed=0)
    history = net.fit(x_train, y_train, epochs=5, batch_size=64, optimizer="adam",
                      learning_rate=1e-3, validation_data=(x_test, y_test), seed=0)
    net.predict(x_test[:5])

Importing nnet changes nothing outside it (no environment variable, no thread, no processor
setting); what makes training fast is switched on while training runs (:mod:`nnet.speed`).
"""

from . import activations, initializers, losses, optimizers, schedules
from ._safetensors import ModelFileError
from ._version import __version__
from .history import EpochRecord, History
from .layers import Dense, Layer
from .network import Network, Scores, Trace
from .serialization import load, save
from .training import Callback, DivergenceError, Trainer, TrainingError, TrainingState, fit

__all__ = [
    "Callback",
    "Dense",
    "DivergenceError",
    "EpochRecord",
    "History",
    "Layer",
    "ModelFileError",
    "Network",
    "Scores",
    "Trace",
    "Trainer",
    "TrainingError",
    "TrainingState",
    "__version__",
    "activations",
    "fit",
    "initializers",
    "load",
    "losses",
    "optimizers",
    "save",
    "schedules",
]


def __getattr__(name):
    # Submodules with optional dependencies or data load on first use: nnet.datasets, ...
    import importlib

    if name in {"datasets", "images", "plots", "metrics", "data", "speed", "runs", "checkpoints", "callbacks",
                "tables", "preprocessing", "sklearn"}:
        return importlib.import_module(f".{name}", __name__)
    if name == "export_onnx":
        return importlib.import_module(".onnx_export", __name__).export_onnx
    raise AttributeError(f"module 'nnet' has no attribute {name!r}")
