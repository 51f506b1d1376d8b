"""nnet: a neural network you can read, run fast, and look inside.

The feed-forward network of the classic lessons, from scratch on NumPy::

    import nnet
    (x_train, y_train), (x_test, y_test) = nnet.datasets.load_mnist()
    net = nnet.Network([784, 128, 10], activation="relu", output="softmax",
                       cost="cross_entropy", seed=0)
    history = net.fit(x_train, y_train, epochs=5, batch_size=64, optimizer="adam",
                      learning_rate=1e-3, validation_data=(x_test, y_test), seed=0)
    net.predict(x_test[:5])
"""

import os as _os
import sys as _sys

if "numpy" not in _sys.modules:
    # Idle OpenBLAS worker threads spin for 2^28 cycles (about 0.1 s) after each matrix product
    # before they sleep, which on a 2-core machine takes the core that nnet's elementwise work
    # (the optimizer's second thread) wants. 2^20 cycles (~0.4 ms) still keeps them ready between
    # the products of one training step. Only a default (an explicit setting wins), and only
    # possible before NumPy loads OpenBLAS; see benchmarks/README.md for the measurements.
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")

from . import activations, initializers, losses, optimizers
from .layers import Dense, Dropout, Layer
from .network import Network, Scores, Trace
from .serialization import ModelFileError, load, save
from .training import Callback, DivergenceError, EpochRecord, History, Trainer, TrainingError, fit

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "Dense",
    "DivergenceError",
    "Dropout",
    "EpochRecord",
    "History",
    "Layer",
    "ModelFileError",
    "Network",
    "Scores",
    "Trace",
    "Trainer",
    "TrainingError",
    "activations",
    "fit",
    "initializers",
    "load",
    "losses",
    "optimizers",
    "save",
]


def __getattr__(name):
    # Submodules with optional dependencies or data load on first use: nnet.datasets, ...
    import importlib

    if name in {"datasets", "images", "plots", "metrics"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nnet' has no attribute {name!r}")
