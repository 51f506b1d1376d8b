"""Callbacks practitioners reach for, each on the training loop's hooks (:class:`nnet.Callback`).

``ReduceLROnPlateau(factor, patience)``
    Divide the learning rate when the monitored cost stops improving.
``GradientClipping(max_norm)``
    Rescale the whole gradient so its norm ‖∇C‖ is at most ``max_norm`` (before each step).
``L1(strength)``
    The penalty λ Σ|w| on the weights (not the biases): adds λ·sign(w) to their gradient, which
    pushes the weights that do not help towards zero (sparser networks). Weight decay is L2.
``MaxNorm(max_norm)``
    After each step, rescale every neuron's incoming weights (a row of W, a convolution's filter)
    to norm <= max_norm.
``CSVLogger(path)``
    One line per epoch (the :class:`nnet.EpochRecord`'s fields) in a CSV file, flushed as it goes.

    net.fit(x, y, callbacks=[nnet.callbacks.ReduceLROnPlateau(patience=3),
                             nnet.callbacks.GradientClipping(5.0),
                             nnet.callbacks.CSVLogger("log.csv")])
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

from . import checks
from .history import EpochRecord
from .training import Callback, TrainingState

__all__ = ["CSVLogger", "GradientClipping", "L1", "MaxNorm", "ReduceLROnPlateau"]


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs in a row in which the
    monitored cost did not fall below its best by more than ``min_delta``.

    Parameters
    ----------
    monitor : str
        ``"validation_cost"`` (the default; the training cost when there is no validation data)
        or ``"train_cost"``.
    factor : float in (0, 1)
    patience : int >= 1
    min_delta : float >= 0
    min_learning_rate : float >= 0
        Never go below this.

    The rate changes through the trainer's base learning rate, so a schedule (cosine, step)
    keeps acting on top. ``reductions`` counts how often it fell.
    """

    def __init__(self, monitor: str = "validation_cost", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, min_learning_rate: float = 0.0):
        self.monitor = checks.choice("monitor", monitor, ["validation_cost", "train_cost"])
        self.factor = checks.number("factor", factor, minimum=0.0, maximum=1.0, open_min=True, open_max=True)
        self.patience = checks.positive_int("patience", patience)
        self.min_delta = checks.number("min_delta", min_delta, minimum=0.0)
        self.min_learning_rate = checks.number("min_learning_rate", min_learning_rate, minimum=0.0)
        self.best, self.waited, self.reductions = math.inf, 0, 0

    def on_epoch_end(self, state: TrainingState) -> None:
        record = state.record
        cost = getattr(record, self.monitor)
        if cost is None:
            cost = record.train_cost
        if cost < self.best - self.min_delta:
            self.best, self.waited = cost, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            trainer = state.trainer
            trainer.base_learning_rate = max(trainer.base_learning_rate * self.factor, self.min_learning_rate)
            self.waited = 0
            self.reductions += 1


class GradientClipping(Callback):
    """Before each step, scale the gradient g of every parameter by ``min(1, max_norm / ‖g‖)``
    (``torch.nn.utils.clip_grad_norm_``'s rule): its direction kept, its length capped.
    ``clipped`` counts the steps it shortened."""

    def __init__(self, max_norm: float):
        self.max_norm = checks.number("max_norm", max_norm, minimum=0.0, open_min=True)
        self.clipped = 0

    def on_gradients(self, state: TrainingState) -> None:
        gradients = state.network.gradients
        norm = math.sqrt(float(np.dot(gradients, gradients)))
        if norm > self.max_norm:
            gradients *= gradients.dtype.type(self.max_norm / (norm + 1e-6))
            self.clipped += 1


class L1(Callback):
    """The L1 penalty ``C = C₀ + λ Σ_w |w|`` on the weights (not the biases): before each step
    ``∂C/∂w`` gains ``λ sign(w)``."""

    def __init__(self, strength: float):
        self.strength = checks.number("strength", strength, minimum=0.0)

    def on_gradients(self, state: TrainingState) -> None:
        network = state.network
        weights = network.parameters[: network.n_decayed]  # the weights come first, then the biases
        network.gradients[: network.n_decayed] += self.strength * np.sign(weights)


class MaxNorm(Callback):
    """After each step, every neuron's incoming weights are scaled down to norm ``max_norm`` if
    they are longer (the constraint of Srivastava et al. 2014, used with dropout): a row of a
    Dense layer's W, a filter ``W[f]`` (all its C x kh x kw weights) of a convolution
    (``torch.renorm(W, 2, 0, max_norm)``'s rule)."""

    def __init__(self, max_norm: float):
        self.max_norm = checks.number("max_norm", max_norm, minimum=0.0, open_min=True)

    def on_batch_end(self, state: TrainingState) -> None:
        for layer in state.network.layers:
            W = layer.parameters.get("W")
            if W is None:
                continue
            rows = W.reshape(len(W), -1)  # one neuron's (one filter's) weights per row: a view
            norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
            too_long = norms > self.max_norm
            if too_long.any():
                rows[too_long] *= (self.max_norm / norms[too_long])[:, None].astype(W.dtype)


class CSVLogger(Callback):
    """Write each epoch's record to ``path`` as CSV: a header line, then one line per epoch,
    flushed as soon as it is written (so a long run can be watched, and a crash loses nothing
    logged). ``append=True`` adds to an existing file (its header is not repeated)."""

    FIELDS = [field.name for field in dataclasses.fields(EpochRecord)]

    def __init__(self, path, append: bool = False):
        self.path = Path(path)
        self.append = bool(append)
        self._file = None
        self._writer = None

    def on_train_begin(self, state: TrainingState) -> None:
        header = not (self.append and self.path.exists() and self.path.stat().st_size > 0)
        self._file = open(self.path, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        if header:
            self._writer.writerow(self.FIELDS)
            self._file.flush()

    def on_epoch_end(self, state: TrainingState) -> None:
        record = dataclasses.asdict(state.record)
        self._writer.writerow(["" if record[name] is None else record[name] for name in self.FIELDS])
        self._file.flush()

    def on_train_end(self, state: TrainingState) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self):
        self.close()
