"""Training: stochastic gradient descent over shuffled minibatches, epoch after epoch.

One epoch, as the lessons describe it: shuffle the training data, cut it into minibatches of
``batch_size`` samples, and for each minibatch backpropagate and let the optimizer take a step.
Around that loop this module adds what real training needs:

- a :class:`History` of every epoch (cost and accuracy on the training batches, on the
  validation data, the learning rate, the seconds it took);
- validation data, given or split off the end of the training data;
- early stopping, which restores the weights of the best epoch;
- callbacks, called per batch and per epoch (the CLI's progress bars hang on them; this module
  never prints, it only logs);
- a divergence guard: a cost that is not finite stops training, puts back the weights of the
  end of the last good epoch and raises :class:`DivergenceError`;
- speed: minibatches gathered into preallocated buffers, and denormal floats flushed to zero
  while training (:mod:`nnet._fpu`), which x86 processors otherwise handle very slowly;
- determinism: epoch e shuffles and draws its dropout masks from a generator seeded by
  ``(seed, e)``, so the same seed and data give bit-identical weights, and a run resumed from a
  checkpoint continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import optimizers
from ._fpu import flush_denormals
from .network import Network, count_correct

logger = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training could not go on."""


class DivergenceError(TrainingError):
    """The cost stopped being a finite number: the learning rate is too large for this network."""

    def __init__(self, message: str, *, epoch: int, batch: int, cost: float):
        super().__init__(message)
        self.epoch, self.batch, self.cost = epoch, batch, cost


@dataclass
class EpochRecord:
    """What one epoch did. ``epoch`` counts from 1. Training cost and accuracy are the means over
    the epoch's minibatches, each measured just before its update (as Keras reports them)."""

    epoch: int
    train_cost: float
    train_accuracy: float
    validation_cost: float | None
    validation_accuracy: float | None
    learning_rate: float
    seconds: float


@dataclass
class History:
    """The record of a training run: ``history.epochs[-1]`` is the last epoch."""

    epochs: list[EpochRecord] = field(default_factory=list)
    seed: int | None = None
    stopped_early: bool = False
    best_epoch: int | None = None

    def column(self, name: str) -> list:
        """One field over every epoch, e.g. ``history.column("validation_accuracy")``."""
        return [getattr(record, name) for record in self.epochs]

    @property
    def seconds(self) -> float:
        return sum(record.seconds for record in self.epochs)

    def to_dict(self) -> dict:
        return {
            "epochs": [asdict(record) for record in self.epochs],
            "seed": self.seed,
            "stopped_early": self.stopped_early,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(
            epochs=[EpochRecord(**record) for record in data.get("epochs", [])],
            seed=data.get("seed"),
            stopped_early=bool(data.get("stopped_early", False)),
            best_epoch=data.get("best_epoch"),
        )


@dataclass
class TrainingState:
    """What callbacks see. ``epoch`` and ``batch`` count from 0 while training; set
    ``stop_training = True`` to stop after the current batch."""

    network: Network
    trainer: "Trainer"
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
    def on_batch_end(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...


class Trainer:
    """Runs minibatch gradient descent on a network; :func:`fit` is the usual way in.

    The trainer owns the optimizer, the history and the early-stopping bookkeeping, so
    :meth:`checkpoint` can capture a run between epochs and ``fit(..., resume=checkpoint)``
    can continue it.
    """

    def __init__(
        self,
        network: Network,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer="sgd",
        learning_rate: float | None = None,
        momentum: float | None = None,
        weight_decay: float | None = None,
        lr_schedule=None,
        early_stopping: int | None = None,
        callbacks=(),
        seed: int | None = None,
        shuffle: bool = True,
    ):
        self.network = network
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        if early_stopping is not None:
            early_stopping = _positive_int("early_stopping", early_stopping)
        self.early_stopping = early_stopping
        if isinstance(optimizer, optimizers.Optimizer):
            given = {"learning_rate": learning_rate, "momentum": momentum, "weight_decay": weight_decay}
            clashing = [name for name, value in given.items() if value is not None]
            if clashing:
                raise ValueError(
                    f"give {', '.join(clashing)} to the optimizer object itself; fit() takes them "
                    f"only with an optimizer name such as optimizer='sgd'"
                )
        self.optimizer = optimizers.get(
            optimizer, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay
        )
        self.optimizer.bind(network.parameters, network.gradients, network.n_weights)
        self.base_learning_rate = self.optimizer.learning_rate
        self.schedule = optimizers.get_schedule(lr_schedule)
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be nnet.training.Callback objects; got {callback!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        self.seed = int(seed)
        self.shuffle = shuffle
        self.history = History(seed=self.seed)
        self.next_epoch = 0
        self.best_cost = math.inf
        self.best_parameters: np.ndarray | None = None
        self.epochs_without_improvement = 0

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """Everything needed to continue after the last finished epoch (but the network's own
        parameters): optimizer state, history, early-stopping state and the seed."""
        return {
            "next_epoch": self.next_epoch,
            "seed": self.seed,
            "optimizer": self.optimizer.state_dict(),
            "history": self.history.to_dict(),
            "best_cost": self.best_cost,
            "best_parameters": None if self.best_parameters is None else self.best_parameters.copy(),
            "epochs_without_improvement": self.epochs_without_improvement,
        }

    def restore(self, checkpoint: dict) -> None:
        """Continue from a :meth:`checkpoint` (the network must already hold its parameters)."""
        self.next_epoch = int(checkpoint["next_epoch"])
        self.seed = int(checkpoint["seed"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.history = History.from_dict(checkpoint["history"])
        self.best_cost = float(checkpoint["best_cost"])
        best = checkpoint.get("best_parameters")
        self.best_parameters = None if best is None else np.array(best, dtype=self.network.dtype)
        self.epochs_without_improvement = int(checkpoint["epochs_without_improvement"])

    # -- the loop ---------------------------------------------------------------------------
    def run(self, x, y, validation_data=None) -> History:
        """Train on (x, y) for the remaining epochs; returns the History."""
        network = self.network
        x = network._checked_inputs(x)  # uint8 pixels stay uint8, scaled batch by batch
        targets, labels = network.as_targets(y, len(x))
        if validation_data is not None:
            x_val, y_val = validation_data
            x_val = network._checked_inputs(x_val)
            network.as_targets(y_val, len(x_val))  # check once, before the first epoch
        n = len(x)
        batch_size = min(self.batch_size, n)
        batches = -(-n // batch_size)
        state = TrainingState(network, self, self.epochs, batches, self.history)
        gather = _BatchGatherer(x, targets, labels, batch_size, network.dtype)
        last_good = np.empty_like(network.parameters)  # the end of the last good epoch

        for callback in self.callbacks:
            callback.on_train_begin(state)
        # Overflow is the divergence guard's business; denormals only slow training down.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), flush_denormals():
            for epoch in range(self.next_epoch, self.epochs):
                state.epoch = epoch
                started = time.perf_counter()
                self.optimizer.learning_rate = self.base_learning_rate * self.schedule.factor(epoch, self.epochs)
                rng = np.random.default_rng([self.seed, epoch])
                order = rng.permutation(n) if self.shuffle else np.arange(n)
                np.copyto(last_good, network.parameters)
                last_good_state = self.optimizer.state_dict()
                for callback in self.callbacks:
                    callback.on_epoch_begin(state)

                cost_sum, correct = 0.0, 0
                for batch in range(batches):
                    xb, tb, lb = gather(order[batch * batch_size : (batch + 1) * batch_size])
                    cost, _ = network._backprop(xb, tb, rng)
                    if not math.isfinite(cost):
                        self._restore(last_good, last_good_state)
                        raise _divergence(self, epoch, batch, batches, cost)
                    self.optimizer.step()
                    batch_correct = count_correct(network.dense_layers[-1].a, lb)
                    cost_sum += cost * len(lb)
                    correct += batch_correct
                    if self.callbacks:
                        state.batch, state.batch_size = batch, len(lb)
                        state.batch_cost, state.batch_accuracy = cost, batch_correct / len(lb)
                        for callback in self.callbacks:
                            callback.on_batch_end(state)
                        if state.stop_training:
                            break

                if not np.isfinite(network.parameters).all():
                    self._restore(last_good, last_good_state)
                    raise _divergence(self, epoch, batches - 1, batches, math.inf)
                seen = (batch + 1) * batch_size if state.stop_training else n
                seen = min(seen, n)
                validation = None
                if validation_data is not None:
                    validation = network.evaluate(x_val, y_val)
                record = EpochRecord(
                    epoch=epoch + 1,
                    train_cost=cost_sum / seen,
                    train_accuracy=correct / seen,
                    validation_cost=None if validation is None else validation.cost,
                    validation_accuracy=None if validation is None else validation.accuracy,
                    learning_rate=self.optimizer.learning_rate,
                    seconds=time.perf_counter() - started,
                )
                self.history.epochs.append(record)
                self.next_epoch = epoch + 1
                logger.info("epoch %d/%d: %s", epoch + 1, self.epochs, record)
                if self._early_stop(record):
                    state.stop_training = True
                state.record = record
                for callback in self.callbacks:
                    callback.on_epoch_end(state)
                if state.stop_training:
                    break

        if self.early_stopping and self.best_parameters is not None:
            np.copyto(network.parameters, self.best_parameters)
        for callback in self.callbacks:
            callback.on_train_end(state)
        return self.history

    def _restore(self, parameters: np.ndarray, optimizer_state: dict) -> None:
        """Put back the parameters and optimizer state of the end of the last good epoch."""
        np.copyto(self.network.parameters, parameters)
        self.optimizer.load_state_dict(optimizer_state)

    def _early_stop(self, record: EpochRecord) -> bool:
        """Track the best epoch; True when ``early_stopping`` epochs in a row did not improve."""
        if not self.early_stopping:
            return False
        cost = record.validation_cost if record.validation_cost is not None else record.train_cost
        if cost < self.best_cost:
            self.best_cost = cost
            self.history.best_epoch = record.epoch
            if self.best_parameters is None:
                self.best_parameters = self.network.parameters.copy()
            else:
                np.copyto(self.best_parameters, self.network.parameters)
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        if self.epochs_without_improvement >= self.early_stopping:
            self.history.stopped_early = True
            return True
        return False


def fit(
    network: Network,
    x,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer="sgd",
    learning_rate: float | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
    lr_schedule=None,
    validation_data=None,
    validation_split: float | None = None,
    early_stopping: int | None = None,
    callbacks=(),
    seed: int | None = None,
    shuffle: bool = True,
    resume: dict | None = None,
) -> History:
    """Train ``network`` on (x, y) by minibatch gradient descent.

    Parameters
    ----------
    x : array of shape (n, n_inputs)
        Floats, or uint8 pixels (kept as uint8 and scaled to [0, 1] batch by batch).
    y : int labels of shape (n,), or targets of shape (n, n_outputs)
    epochs, batch_size : int
    optimizer : str or Optimizer
        ``sgd``, ``momentum``, ``nesterov``, ``adam``, ``adamw`` (see :mod:`nnet.optimizers`).
    learning_rate : float, optional
        η. Default: the optimizer's (sgd 0.1, adam 0.001).
    momentum : float, optional
        μ for ``momentum`` and ``nesterov`` (default 0.9).
    weight_decay : float, optional
        λ, the L2 penalty on the weights. Default: the optimizer's (0, but 0.01 for adamw).
    lr_schedule : str or Schedule, optional
        ``constant`` (default), ``step`` or ``cosine``, applied per epoch.
    validation_data : (x_val, y_val), optional
    validation_split : float, optional
        Hold out this fraction from the end of (x, y) as validation data instead.
    early_stopping : int, optional
        Stop after this many epochs without a lower validation cost (training cost when there is
        no validation data), and restore the best epoch's weights.
    callbacks : list of Callback
    seed : int, optional
        Seeds the shuffling and dropout; chosen at random (and kept in the History) when None.
    shuffle : bool
        Shuffle the training data every epoch (True, as the lessons do).
    resume : dict, optional
        A :meth:`Trainer.checkpoint`: continue that run after its last finished epoch.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        The cost became NaN or infinite; the weights are those at the end of the last good epoch.
    ValueError
        Bad settings or data, with what was expected and what came.
    """
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        if isinstance(validation_split, bool) or not 0.0 < float(validation_split) < 1.0:
            raise ValueError(f"validation_split must be a fraction in (0, 1); got {validation_split!r}")
        x, y = np.asarray(x), np.asarray(y)
        n_validation = int(round(len(x) * float(validation_split)))
        if not 0 < n_validation < len(x):
            raise ValueError(
                f"validation_split={validation_split} of {len(x)} samples leaves no training or "
                f"no validation data"
            )
        cut = len(x) - n_validation
        x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
    trainer = Trainer(
        network,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=momentum,
        weight_decay=weight_decay,
        lr_schedule=lr_schedule,
        early_stopping=early_stopping,
        callbacks=callbacks,
        seed=seed,
        shuffle=shuffle,
    )
    if resume is not None:
        trainer.restore(resume)
    return trainer.run(x, y, validation_data)


class _BatchGatherer:
    """Copies the rows of one minibatch into preallocated buffers, uint8 scaled to float."""

    def __init__(self, x, targets, labels, batch_size, dtype):
        self.x, self.targets, self.labels = x, targets, labels
        self.raw = np.empty((batch_size, x.shape[1]), x.dtype)
        self.inputs = np.empty((batch_size, x.shape[1]), dtype)
        self.target_buffer = np.empty((batch_size, targets.shape[1]), dtype)
        self.label_buffer = np.empty(batch_size, np.int64)
        self.scale = dtype.type(1.0 / 255.0) if x.dtype == np.uint8 else None

    def __call__(self, rows):
        n = len(rows)
        inputs = self.inputs[:n]
        # ndarray.take straight into the buffers ("clip": the rows are valid, and it spares
        # NumPy a bounds-checked copy)
        if self.scale is not None:
            raw = self.x.take(rows, axis=0, out=self.raw[:n], mode="clip")
            np.multiply(raw, self.scale, out=inputs)
        else:
            self.x.take(rows, axis=0, out=inputs, mode="clip")
        targets = self.targets.take(rows, axis=0, out=self.target_buffer[:n], mode="clip")
        labels = self.labels.take(rows, out=self.label_buffer[:n], mode="clip")
        return inputs, targets, labels


def _divergence(trainer: Trainer, epoch: int, batch: int, batches: int, cost: float) -> DivergenceError:
    rate = trainer.optimizer.learning_rate
    restored = f"the end of epoch {epoch}" if epoch else "their initial values"
    return DivergenceError(
        f"training diverged: the cost became {cost} at epoch {epoch + 1}, batch {batch + 1} of "
        f"{batches} (learning_rate={rate:g}). The weights are restored to {restored}. "
        f"Try a smaller learning rate, e.g. {trainer.base_learning_rate / 10:g}.",
        epoch=epoch + 1,
        batch=batch + 1,
        cost=cost,
    )


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
