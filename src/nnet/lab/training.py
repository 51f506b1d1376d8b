"""A training run in the background, watched through its events.

The Train view starts one run at a time. The run trains its own new network in a thread with a
:class:`~nnet.training.Trainer`; a :class:`~nnet.training.Callback` turns its progress into
events, kept in the run's :class:`~nnet.lab.events.EventLog` (bounded: thinned progress, the
latest weights), which ``GET /api/train/events`` streams to the page (server-sent events).
Predictions keep being served from the lab's current model meanwhile. A run can be paused,
stepped one minibatch at a time and given a new learning rate while it goes
(:class:`~nnet.lab.control.Controls`). When it ends (done, stopped by the user, or failed), the
lab keeps its network with a health verdict (:mod:`nnet.lab.shelf`); it never replaces the served
model unless the user chooses it (or the served one is the untrained default and the new one is
healthy).

Events, each a dict with ``id`` (0, 1, ... within the run, in order) and ``type``:

``start``     settings, sizes, batches per epoch, the training and test set sizes
``progress``  epoch (1-based), batch (1-based), batches, ``position`` (epochs done, fractional),
              cost and accuracy (means over the batches since the last progress event), seconds,
              ``learning_rate`` (of the latest step), ``gradient_sizes`` (per layer, the RMS of
              ∂C/∂W of the latest minibatch), ``paused``. While paused, every stepped minibatch
              sends one.
``epoch``     an :class:`~nnet.training.EpochRecord` (test = the held-out test digits)
``weights``   layer 0's weight tiles on one common scale (:func:`nnet.lab.weights.tiles`), and
              ``change``/``change_scale``: the same for the change since the run began
``done``      the run finished; ``stopped``: the user stopped it; ``error``: it failed
              (a diverging cost, ...). The last event of every run is one of these three; it
              carries ``kept``: the run as the lab keeps it (its verdict, whether it is served).
              For ``error``, the network kept is the one the trainer put back (the end of the
              last good epoch).
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from nnet import runs
from nnet.network import Network
from nnet.training import Callback, Trainer, TrainingError, TrainingState

from .control import Controls
from .events import MAX_PROGRESS, EventLog
from .weights import tiles

logger = logging.getLogger(__name__)

#: What the Train view offers, and its defaults: nnet train's (nnet.runs.DEFAULTS), but 3 epochs,
#: so that a run takes seconds; ``train_size`` None is all the training images.
OFFERED = ("hidden", "activation", "output", "cost", "init", "optimizer", "learning_rate", "epochs", "batch_size",
           "lr_schedule", "seed")
DEFAULT_SETTINGS = {**{name: runs.DEFAULTS[name] for name in OFFERED}, "epochs": 3, "train_size": None}
#: A progress event comes after this many seconds, or after 1/PROGRESS_PER_EPOCH of an epoch,
#: whichever is first (and one after every epoch).
PROGRESS_SECONDS = 0.1
PROGRESS_PER_EPOCH = 25
#: At most this often a weight-image snapshot (one comes after every epoch too).
WEIGHTS_SECONDS = 0.5
#: How many of layer 0's neurons the weight snapshots show.
WEIGHT_IMAGES = 64
#: What the lab sets of the settings it does not offer: no validation split (the lab watches the
#: test digits after each epoch), the optimizer's own momentum and weight decay.
NOT_OFFERED = {"validation": 0, "momentum": None, "weight_decay": None}


def run_settings(settings: dict, dataset: str) -> dict:
    """The full settings of a lab run (as nnet train would record them) from the offered ones."""
    full = {**runs.DEFAULTS, **{name: settings[name] for name in OFFERED}, **NOT_OFFERED, "dataset": dataset}
    full["preset"] = None
    return full


def build_network(settings: dict, n_inputs: int, n_outputs: int) -> Network:
    """A fresh network for the Train view's ``settings``."""
    return runs.build_network(run_settings(settings, "mnist"), n_inputs, n_outputs)


def shape_of(network: Network) -> dict:
    """The settings that describe an existing network's shape (to continue training it)."""
    hidden = [layer.activation.name for layer in network.layers[:-1]]
    return {
        "hidden": list(network.sizes[1:-1]),
        "activation": hidden[0] if hidden else runs.DEFAULTS["activation"],
        "output": network.layers[-1].activation.name,
        "cost": network.cost.name,
        "init": network.init,
    }


class TrainingRun:
    """One training run in a daemon thread.

    Parameters
    ----------
    run_id : int
    settings : dict
        Checked settings (:func:`nnet.lab.payloads.train_settings`).
    train, test : (x, y) pairs
        uint8 images (n, n_inputs) and int labels (n,); the run uses the first
        ``settings["train_size"]`` training images and reports its accuracy on all of ``test``.
    n_outputs : int
    dataset : str
        What ``--dataset`` would take to find the data again (for the model's metadata).
    start : Network, optional
        Continue training a copy of this network instead of a fresh one (its shape replaces the
        shape settings).
    on_finish : callable(network, run, error) -> dict, optional
        Called in the training thread when the run ends (done, stopped, or failed with the error
        message), before the final event, which carries what it returns as ``kept``.
    progress_seconds, weights_seconds : float
        The most time between progress and weight events (0: every batch).
    max_progress : int, optional
        The most progress events the run keeps (default ``MAX_PROGRESS``; see
        :class:`~nnet.lab.events.EventLog`).

    Attributes
    ----------
    network, trainer, history : the run's network, its Trainer (optimizer settings in use) and
    History, once training has begun. ``events`` : EventLog.
    """

    def __init__(self, run_id, settings, train, test, n_outputs, on_finish=None, *, dataset="mnist", start=None,
                 progress_seconds=PROGRESS_SECONDS, weights_seconds=WEIGHTS_SECONDS, max_progress=None):
        self.id = run_id
        self.settings = dict(settings)
        self.start_network = start
        if start is not None:
            self.settings.update(shape_of(start))
        self.dataset = dataset
        self.full_settings: dict | None = None
        self.train, self.test = train, test
        self.n_outputs = n_outputs
        self.on_finish = on_finish
        self.progress_seconds, self.weights_seconds = progress_seconds, weights_seconds
        self.state = "created"  # then running, done, stopped or error
        self.network: Network | None = None
        self.trainer: Trainer | None = None
        self.history = None
        self.events = EventLog(max_progress or MAX_PROGRESS)
        self._stop = threading.Event()
        self.controls = Controls(stopped=self._stop.is_set)
        self.start_W: np.ndarray | None = None  # layer 0's weights when the run began
        self._thread = threading.Thread(target=self._main, name=f"nnet-lab-training-{run_id}", daemon=True)

    # -- control, from the server's threads -------------------------------------------------
    def start(self) -> None:
        self.state = "running"
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop after the current batch (a paused run too)."""
        self._stop.set()
        self.controls.wake()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def status(self) -> dict:
        """A summary: id, state, settings, how many events, the last progress (and, once ended,
        the last epoch's record)."""
        summary = {"run": self.id, "state": self.state, "settings": self.settings, "events": self.events.count,
                   "last_progress": self.events.last_progress, "controls": self.controls.status(),
                   "continued": self.start_network is not None}
        if self.history is not None and self.history.epochs and not self.running:
            summary["last_epoch"] = self.history.to_dict()["epochs"][-1]
        return summary

    # -- the thread -------------------------------------------------------------------------
    def _emit(self, kind: str, *, pinned: bool = False, **data) -> None:
        self.events.append(kind, data, pinned=pinned)

    def _main(self) -> None:
        settings = self.settings
        started = time.perf_counter()
        try:
            x, y = self.train
            n = settings["train_size"]
            x, y = x[:n], y[:n]
            self.full_settings = run_settings(settings, self.dataset)
            if self.start_network is not None:
                network = self.start_network.copy()
            else:
                network = runs.build_network(self.full_settings, x.shape[1], self.n_outputs)
            self.network = network
            self.start_W = network.layers[0].W.copy()
            self.trainer = runs.build_trainer(network, self.full_settings, [_Reporter(self, started)])
            self.history = self.trainer.history
            self.trainer.run(x, y, self.test)
            final = "stopped" if self.stop_requested else "done"
            kept = self.on_finish(network, self, None) if self.on_finish is not None else None
            self.state = final
            self._emit(final, seconds=round(time.perf_counter() - started, 3), history=self.history.to_dict(),
                       kept=kept)
        except (TrainingError, ValueError, MemoryError) as error:
            self._failed(str(error), started)
        except Exception as error:  # noqa: BLE001 - a bug; the page must still hear the run is over
            logger.exception("training run %s failed", self.id)
            self._failed(f"{type(error).__name__}: {error}", started)

    def _failed(self, message: str, started: float) -> None:
        """The run failed: keep what it had (flagged), then say so."""
        kept = None
        if self.on_finish is not None and self.network is not None and self.history is not None:
            try:
                kept = self.on_finish(self.network, self, message)
            except Exception:  # noqa: BLE001 - keeping is a courtesy; the error event must go out
                logger.exception("could not keep the network of failed run %s", self.id)
        self.state = "error"
        self._emit("error", error=message, seconds=round(time.perf_counter() - started, 3), kept=kept)


class _Reporter(Callback):
    """Turns the training loop's callbacks into the run's events; honours the stop button."""

    def __init__(self, run: TrainingRun, started: float):
        self.run, self.started = run, started
        self.last_progress = self.last_weights = -1.0
        self.cost_sum = self.correct = self.seen = 0.0

    def on_train_begin(self, state: TrainingState) -> None:
        run = self.run
        run.controls.on_train_begin(state)
        self.run._emit(
            "start",
            settings=run.settings,
            sizes=state.network.sizes,
            epochs=state.epochs,
            batches=state.batches,
            train_size=int(run.settings["train_size"]),
            test_size=int(len(run.test[0])),
        )
        self._weights(0.0)

    def on_batch_end(self, state: TrainingState) -> None:
        controls = self.run.controls
        controls.measure(state)
        self.cost_sum += state.batch_cost * state.batch_size
        self.correct += state.batch_accuracy * state.batch_size
        self.seen += state.batch_size
        now = time.perf_counter()
        first = state.epoch == 0 and state.batch == 0
        epoch_size = state.batches * state.batch_size
        due = self.seen >= epoch_size / PROGRESS_PER_EPOCH
        # the time trigger waits for a few batches, so no point of the curve is one noisy batch
        late = now - self.last_progress >= self.run.progress_seconds and self.seen >= epoch_size / 200
        stepping = controls.paused  # each stepped minibatch is shown
        if first or due or late or stepping:
            self._progress(state, now)
        if stepping or now - self.last_weights >= self.run.weights_seconds:
            self._weights(self._position(state), now)
        controls.hold(state)  # paused: wait here
        if self.run.stop_requested:
            state.stop_training = True

    def on_epoch_end(self, state: TrainingState) -> None:
        now = time.perf_counter()
        if self.seen:
            self._progress(state, now, pinned=True)  # the epoch's last point (stopped in the middle)
        record = state.record
        self.run._emit(
            "epoch",
            epoch=record.epoch,
            epochs=state.epochs,
            train_cost=record.train_cost,
            train_accuracy=record.train_accuracy,
            test_cost=record.validation_cost,
            test_accuracy=record.validation_accuracy,
            learning_rate=record.learning_rate,
            seconds=round(record.seconds, 3),
        )
        self._weights(self._position(state), now)

    def _position(self, state: TrainingState) -> float:
        return state.epoch + (state.batch + 1) / state.batches

    def _progress(self, state: TrainingState, now: float, pinned: bool = False) -> None:
        self.run._emit(
            "progress",
            pinned=pinned or state.batch + 1 == state.batches,  # an epoch's last point: always kept
            epoch=state.epoch + 1,
            epochs=state.epochs,
            batch=state.batch + 1,
            batches=state.batches,
            position=round(self._position(state), 4),
            cost=float(self.cost_sum / self.seen),
            accuracy=float(self.correct / self.seen),
            seconds=round(now - self.started, 3),
            learning_rate=self.run.controls.learning_rate,
            gradient_sizes=self.run.controls.sizes,
            paused=self.run.controls.paused,
        )
        self.cost_sum = self.correct = self.seen = 0.0
        self.last_progress = now

    def _weights(self, position: float, now: float | None = None) -> None:
        images = tiles(self.run.network, WEIGHT_IMAGES)
        change = tiles(self.run.network, WEIGHT_IMAGES, start=self.run.start_W)
        if images["scale"] is not None and change["scale"] is not None:
            self.run._emit("weights", position=round(position, 4), **images, change=change["data"],
                           change_scale=change["scale"])
        self.last_weights = time.perf_counter() if now is None else now
