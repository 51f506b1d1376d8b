"""Training: stochastic gradient descent over shuffled minibatches, epoch after epoch.

One epoch, as the lessons describe it: shuffle the training examples, cut them into minibatches
of ``batch_size``, and for each minibatch backpropagate (the network's :meth:`backprop_batch`)
and let the optimizer take a step. Around that loop this module adds what real training needs:

- a :class:`~nnet.history.History` of every epoch;
- validation data, given or split off the training data (:func:`nnet.data.split_validation`);
- early stopping, which restores the weights of the best epoch;
- callbacks, called per batch and per epoch (the CLI's progress bars hang on them; this module
  never prints, it only logs);
- a divergence guard: a cost that is not finite stops training, puts back the weights and
  optimizer state of the end of the last good epoch and raises :class:`DivergenceError`;
- determinism: epoch e shuffles and draws its dropout masks from a generator seeded by
  ``(seed, e)``, and augmentation distorts batch b from one seeded by ``(seed, e, b)``
  (:mod:`nnet.minibatches`), so the same seed and data give bit-identical weights, and a run
  resumed from a checkpoint continues exactly as an uninterrupted one;
- augmentation (``augment=``, :class:`nnet.augment.Augmentation`): every training image
  distorted afresh at every batch, the next batch prepared in a background thread;
- data-parallel training (``comm=``, :mod:`nnet.distributed`): the steps of one process, taken by several.

The loop asks of the network only its public face: ``examples`` (the data path's checked
training set), ``backprop_batch``, ``evaluate``, and the flat ``parameters`` and ``gradients``
the optimizer moves. It runs inside :func:`nnet.speed.training`, which owns everything about
speed (the step's preallocated workspace, threads, denormals).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from . import checks, distributed, metrics, minibatches, optimizers, schedules, speed
from .augment import Augmentation
from .data import as_weights, split_validation
from .history import EpochRecord, History
from .hooks import Callback, DivergenceError, TrainingError, TrainingState  # noqa: F401 - all importable from here too

logger = logging.getLogger(__name__)


class Trainer:
    """Minibatch gradient descent on a network, resumable between epochs.

    :func:`fit` (``net.fit``) is the usual way in; the CLI and the lab build a Trainer so that
    they can checkpoint it (:meth:`checkpoint`) and continue it (:meth:`restore`).

    Parameters
    ----------
    network : Network
    optimizer : str or Optimizer
        ``sgd``, ``momentum``, ``nesterov``, ``adam``, ``adamw`` with their default settings, or
        an optimizer object (:func:`nnet.optimizers.get` builds one with settings).
    epochs, batch_size : int
    lr_schedule : str or Schedule, optional
        ``constant`` (default), ``step`` or ``cosine``, applied per epoch.
    early_stopping : int, optional
        Stop after this many epochs without a lower validation cost (training cost when there is
        no validation data), and restore the best epoch's weights.
    callbacks : list of Callback
    seed : int, optional
        Seeds the shuffling and dropout; chosen at random (and kept in the History) when None.
    shuffle : bool
        Shuffle the training examples every epoch (True, as the lessons do).
    comm : mpi4py communicator, optional
        Train data-parallel with its processes, each calling ``run`` alike (:mod:`nnet.distributed`).
    augment : Augmentation, optional
        Distort the training images afresh at every batch (:mod:`nnet.augment`).

    Attributes
    ----------
    optimizer, schedule, history, base_learning_rate, next_epoch, augment
    ahead : bool or None
        Prepare the next augmented batch in a background thread while a step runs (the same
        weights either way). None, the default: for networks with layers on feature maps, whose
        steps hide it; a fully connected step is too short, and on two cores the thread's
        contention with the BLAS's costs more than augmenting in line (784-1600-10 with elastic
        distortions: +145% ahead, +41% in line; the conv preset: +4% ahead, +13% in line;
        benchmarks/augment_training.py).
    """

    def __init__(self, network, optimizer="sgd", *, epochs: int = 10, batch_size: int = 32, lr_schedule=None,
                 early_stopping: int | None = None, callbacks=(), seed: int | None = None, shuffle: bool = True,
                 comm=None, augment: Augmentation | None = None):
        self.network = network
        self.group = distributed.group(comm)
        self.epochs = checks.positive_int("epochs", epochs)
        self.batch_size = checks.positive_int("batch_size", batch_size)
        self.early_stopping = None if early_stopping is None else checks.positive_int("early_stopping", early_stopping)
        self.optimizer = optimizers.get(optimizer)
        self.optimizer.bind(network.parameters, network.gradients, network.n_decayed)
        self.base_learning_rate = self.optimizer.learning_rate
        self.schedule = schedules.get(lr_schedule)
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be nnet.training.Callback objects; got {callback!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        self.seed = checks.integer("seed", seed, minimum=0)
        self.shuffle = shuffle
        self.threads: int | None = None  # at most this many threads while training (None: nnet.speed's choice)
        if augment is not None and not isinstance(augment, Augmentation):
            raise TypeError(f"augment must be an nnet.augment.Augmentation (or None); got {augment!r}")
        self.augment, self.ahead = augment, None
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
            "augment": None if self.augment is None else self.augment.settings(),
        }

    def restore(self, checkpoint: dict) -> None:
        """Continue from a :meth:`checkpoint` (the network must already hold its parameters)."""
        self.next_epoch = checks.integer("checkpoint next_epoch", checkpoint["next_epoch"], minimum=0)
        self.seed = checks.integer("checkpoint seed", checkpoint["seed"], minimum=0)
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.history = History.from_dict(checkpoint["history"])
        self.best_cost = float(checkpoint["best_cost"])
        best = checkpoint.get("best_parameters")
        self.best_parameters = None if best is None else np.array(best, dtype=self.network.dtype)
        self.epochs_without_improvement = checks.integer(
            "checkpoint epochs_without_improvement", checkpoint["epochs_without_improvement"], minimum=0)
        if checkpoint.get("augment") is not None:  # (checkpoints before augmentation have none)
            stored = Augmentation(**checkpoint["augment"])
            if self.augment is not None and self.augment != stored:
                raise ValueError(f"the checkpoint's run augments with {stored}, not {self.augment}: a resumed run "
                                 f"keeps its augmentation")
            self.augment = stored

    # -- the loop ---------------------------------------------------------------------------
    def run(self, x, y, validation_data=None, sample_weight=None) -> History:
        """Train on (x, y) for the remaining epochs (rows weighted by ``sample_weight`` (n,) if
        given); returns the History."""
        network, group = self.network, self.group
        with group.agreement():  # bad data on any process: every process stops, with that error
            examples = network.examples(x, y, sample_weight)  # checked once; uint8 pixels stay uint8 until a batch
            if validation_data is not None:
                network.examples(*validation_data)  # check once, before the first epoch
        batch_size = min(self.batch_size, len(examples))
        state = TrainingState(network, self, self.epochs, -(-len(examples) // batch_size), self.history)
        ahead = any(len(layer.input_shape) > 1 for layer in network.layers) if self.ahead is None else self.ahead
        ahead = ahead and self.augment is not None and not self.augment.is_identity
        space = speed.Workspace(network.layers, group.largest_shard(batch_size), network.n_outputs, network.dtype,
                                weighted=examples.weights is not None, spare=ahead)
        with group.agreement():  # augmenting samples that are not images: every process says so
            feeder = minibatches.Feeder(examples, space, group, augment=self.augment, seed=self.seed, ahead=ahead)
        step = distributed.shard_step(network, examples, group) if group.parallel else _step(network, examples)
        try:
            with group.ending_the_job(agreed=DivergenceError):  # (met by every process at the same batch)
                self._epochs(examples, feeder, step, space, validation_data, state, batch_size)
        finally:
            feeder.close()
        return self.history

    def _epochs(self, examples, feeder, step, space, validation_data, state: TrainingState, batch_size: int) -> None:
        network, group, n, batches = self.network, self.group, len(examples), state.batches
        # a regression network's R² over the epoch's batches, its sums centred on the targets' mean
        shift = None if examples.classifies else examples.targets.mean(axis=0, dtype=np.float64)
        last_good = np.empty_like(network.parameters)  # the end of the last good epoch
        for callback in self.callbacks:
            callback.on_train_begin(state)
        # Overflow is the divergence guard's business.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), \
                speed.training(self.threads) as threads:
            split = threads.split
            for epoch in range(self.next_epoch, self.epochs):
                state.epoch = epoch
                started = time.perf_counter()
                self.optimizer.learning_rate = self.base_learning_rate * self.schedule.factor(epoch, self.epochs)
                rng = np.random.default_rng([self.seed, epoch])
                order = rng.permutation(n) if self.shuffle else np.arange(n)
                feeder.epoch(epoch, order, batch_size)
                np.copyto(last_good, network.parameters)
                last_good_state = self.optimizer.state_dict()
                for callback in self.callbacks:
                    callback.on_epoch_begin(state)

                cost_sum, correct, seen, asked = 0.0, 0, 0, False
                r2 = None if examples.classifies else metrics.RunningR2(shift=shift)
                for batch in range(batches):
                    rows = order[batch * batch_size : (batch + 1) * batch_size]
                    cost, batch_correct, stopped = step(rows, feeder.batch(batch), rng, asked)
                    if stopped:  # a process's callback asked to stop after the previous batch
                        break
                    if not math.isfinite(cost):
                        self._restore(last_good, last_good_state)
                        raise _divergence(self, epoch, batch, batches, cost)
                    for callback in self.callbacks:
                        callback.on_gradients(state)
                    self.optimizer.step(split)
                    if r2 is not None:  # this process's rows of the batch, still in the workspace
                        start, stop = group.shard(len(rows))
                        if stop > start:
                            r2.add(space.targets[: stop - start], space.activations[-1][: stop - start])
                    cost_sum += cost * len(rows)
                    correct += batch_correct
                    seen += len(rows)
                    if self.callbacks:
                        state.batch, state.batch_size = batch, len(rows)
                        state.batch_cost = cost
                        state.batch_accuracy = batch_correct / len(rows) if examples.classifies else math.nan
                        for callback in self.callbacks:
                            callback.on_batch_end(state)
                        asked = state.stop_training
                        if asked and not group.parallel:
                            break  # (with several processes, the next step tells them all)

                if not np.isfinite(network.parameters).all():
                    self._restore(last_good, last_good_state)
                    raise _divergence(self, epoch, batches - 1, batches, math.inf)
                validation = None  # (cost, accuracy, r2), measured by rank 0 alone
                if validation_data is not None and group.rank == 0:
                    validation = network.evaluate(*validation_data)
                    validation = (validation.cost, validation.accuracy, validation.r2)
                if group.parallel:  # rank 0's validation, and a stop asked anywhere, for all
                    validation, state.stop_training = group.end_epoch(validation, state.stop_training)
                    if r2 is not None:  # every process's rows
                        r2 = metrics.RunningR2.from_state(group.sum(r2.state()), shift)
                record = EpochRecord(
                    epoch=epoch + 1,
                    train_cost=cost_sum / seen,
                    train_accuracy=correct / seen if examples.classifies else None,
                    validation_cost=None if validation is None else validation[0],
                    validation_accuracy=None if validation is None else validation[1],
                    learning_rate=self.optimizer.learning_rate,
                    seconds=time.perf_counter() - started,
                    train_r2=None if r2 is None else r2.value(),
                    validation_r2=None if validation is None else validation[2],
                )
                self.history.epochs.append(record)
                self.next_epoch = epoch + 1
                logger.info("epoch %d/%d: %s", epoch + 1, self.epochs, record)
                if self._early_stop(record):
                    state.stop_training = True
                state.record = record
                for callback in self.callbacks:
                    callback.on_epoch_end(state)
                if group.parallel:  # a callback's stop, wherever it was asked
                    state.stop_training = group.any(state.stop_training)
                if state.stop_training:
                    break

        if self.early_stopping and self.best_parameters is not None:
            np.copyto(network.parameters, self.best_parameters)
        for callback in self.callbacks:
            callback.on_train_end(state)

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


def fit(network, x, y, *, epochs: int = 10, batch_size: int = 32, optimizer="sgd", learning_rate: float | None = None,
        momentum: float | None = None, weight_decay: float | None = None, lr_schedule=None, validation_data=None,
        validation_split: int | float | None = None, early_stopping: int | None = None, callbacks=(),
        seed: int | None = None, shuffle: bool = True, resume: dict | None = None, sample_weight=None,
        comm=None, augment: Augmentation | None = None) -> History:
    """Train ``network`` on (x, y) by minibatch gradient descent; ``net.fit(x, y, ...)`` is this.

    Parameters
    ----------
    x : array of shape (n, n_inputs)
        Floats, or uint8 pixels (kept as uint8 and scaled to [0, 1] batch by batch).
    y : int labels of shape (n,), or targets of shape (n, n_outputs) (values for regression)
    epochs, batch_size, lr_schedule, early_stopping, callbacks, seed, shuffle, comm, augment
        As for :class:`Trainer`.
    optimizer : str or Optimizer
        ``sgd``, ``momentum``, ``nesterov``, ``adam``, ``adamw`` (see :mod:`nnet.optimizers`).
    learning_rate : float, optional
        η. Default: the optimizer's (sgd 0.1, adam 0.001).
    momentum : float, optional
        μ for ``momentum`` and ``nesterov`` (default 0.9).
    weight_decay : float, optional
        λ, the L2 penalty on the weights. Default: the optimizer's (0, but 0.01 for adamw).
    validation_data : (x_val, y_val), optional
    validation_split : int or float, optional
        Hold out this many rows (an int) or this fraction of them (a float in (0, 1)) of (x, y)
        as validation data instead: drawn at random from ``seed``, stratified by class for a
        classifier (:func:`nnet.data.split_validation`).
    resume : dict, optional
        A :meth:`Trainer.checkpoint`: continue that run after its last finished epoch.
    sample_weight : array of shape (n,), optional
        How much each row counts: the cost of a minibatch is the weighted mean of its rows'.

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
        if seed is None:  # chosen here (or the resumed run's), so that the History's seed tells the split
            seed = resume["seed"] if resume is not None else int(np.random.SeedSequence().generate_state(1)[0])
        x, y = np.asarray(x), np.asarray(y)
        if sample_weight is not None:
            sample_weight = as_weights(sample_weight, len(x), np.dtype(np.float64))
        (kept, y), (held, y_held) = split_validation(np.arange(len(x)), y, validation_split, seed=seed, task=network.task)
        x, validation_data = x[kept], (x[held], y_held)
        sample_weight = None if sample_weight is None else sample_weight[kept]
    if isinstance(optimizer, optimizers.Optimizer):
        given = {"learning_rate": learning_rate, "momentum": momentum, "weight_decay": weight_decay}
        clashing = [name for name, value in given.items() if value is not None]
        if clashing:
            raise ValueError(
                f"give {', '.join(clashing)} to the optimizer object itself; fit() takes them "
                f"only with an optimizer name such as optimizer='sgd'"
            )
    else:
        optimizer = optimizers.get(optimizer, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay)
    trainer = Trainer(network, optimizer, epochs=epochs, batch_size=batch_size, lr_schedule=lr_schedule,
                      early_stopping=early_stopping, callbacks=callbacks, seed=seed, shuffle=shuffle, comm=comm,
                      augment=augment)
    if resume is not None:
        trainer.restore(resume)
    return trainer.run(x, y, validation_data, sample_weight)


def _step(network, examples):
    """The training step of one process alone: ``step(rows, batch, rng, asked)`` backpropagates
    the batch ``rows``, gathered into the workspace ``batch`` (:mod:`nnet.minibatches`), into
    ``network.gradients`` and returns ``(cost, correct answers, False)``."""

    def step(rows, batch, rng, asked):
        cost = network.backprop_batch(batch, rng)
        return cost, examples.count_correct(batch.activations[-1], batch.labels), False

    return step


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
