"""What the training loop shows and lets steer: :class:`Callback` and the :class:`TrainingState`
it sees, and the errors that stop training. :mod:`nnet.training` runs the loop; these live apart
so that anything may watch a run (the CLI's progress bars, the lab's events, checkpoints,
:mod:`nnet.callbacks`) without the loop itself, and are all importable from nnet.training too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .history import EpochRecord, History

__all__ = ["Callback", "DivergenceError", "TrainingError", "TrainingState"]


class TrainingError(RuntimeError):
    """Training could not go on."""


class DivergenceError(TrainingError):
    """The cost stopped being a finite number: the learning rate is too large for this network."""

    def __init__(self, message: str, *, epoch: int, batch: int, cost: float):
        super().__init__(message)
        self.epoch, self.batch, self.cost = epoch, batch, cost


@dataclass
class TrainingState:
    """What callbacks see. ``epoch`` and ``batch`` count from 0 while training; set
    ``stop_training = True`` to stop after the current batch."""

    network: object
    trainer: object  # the nnet.training.Trainer running
    epochs: int
    batches: int
    history: History
    epoch: int = 0
    batch: int = 0
    batch_size: int = 0
    batch_cost: float = math.nan
    batch_accuracy: float = math.nan
    record: EpochRecord | None = None
    stop_training: bool = False


class Callback:
    """Override any of these to watch or steer training.

    ``on_train_end`` is called when training finishes its epochs or stops (early stopping, or a
    callback setting ``state.stop_training``), not when it raises (a DivergenceError, Ctrl-C).
    A run stopped in the middle of an epoch ends there: that epoch counts as done, and its record
    covers the batches it saw.
    """

    def on_train_begin(self, state: TrainingState) -> None: ...
    def on_epoch_begin(self, state: TrainingState) -> None: ...
    def on_gradients(self, state: TrainingState) -> None:
        """After backpropagation, before the optimizer's step: ``state.network.gradients`` (the
        flat array of ∂C/∂w) may be changed in place (clipping, an L1 penalty ...)."""

    def on_batch_end(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...
