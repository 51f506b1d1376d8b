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
setting), and loads nothing either: each name below is imported on first use, so ``import nnet``
is instant and a program may still set up NumPy's BLAS before NumPy loads (the ``nnet`` command
does: :mod:`nnet._program`). What makes training fast is switched on while training runs
(:mod:`nnet.speed`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

#: The names ``nnet`` offers, and the module each lives in.
_NAMES = {
    "Network": "network", "Trace": "network", "Scores": "network",
    "Dense": "layers", "Layer": "layers", "Conv2D": "convolution", "MaxPool2D": "pooling", "AvgPool2D": "pooling",
    "Flatten": "pooling", "Dropout": "dropout", "Augmentation": "augment",
    "fit": "training", "Trainer": "training", "Callback": "training", "TrainingState": "training",
    "TrainingError": "training", "DivergenceError": "training",
    "History": "history", "EpochRecord": "history",
    "save": "serialization", "load": "serialization", "ModelFileError": "_safetensors",
    "export_onnx": "onnx_export",
}
#: The submodules ``nnet.<name>`` gives without an import of its own.
_MODULES = (
    "activations", "losses", "initializers", "optimizers", "schedules", "metrics", "data", "speed", "runs",
    "checkpoints", "callbacks", "datasets", "images", "plots", "tables", "preprocessing", "sklearn",
)

__all__ = ["__version__", *_NAMES, *_MODULES]


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    elif name in _MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'nnet' has no attribute {name!r}")
    globals()[name] = value  # the next use finds it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_MODULES})


if TYPE_CHECKING:  # what static tools (editors, type checkers) see: the same names, imported
    from . import activations, initializers, losses, optimizers, schedules
    from ._safetensors import ModelFileError
    from .augment import Augmentation
    from .convolution import Conv2D
    from .dropout import Dropout
    from .history import EpochRecord, History
    from .layers import Dense, Layer
    from .network import Network, Scores, Trace
    from .pooling import AvgPool2D, Flatten, MaxPool2D
    from .onnx_export import export_onnx
    from .serialization import load, save
    from .training import Callback, DivergenceError, Trainer, TrainingError, TrainingState, fit
