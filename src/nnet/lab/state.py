"""The lab's state, apart from HTTP: the served model, the data, the training runs, and the work
behind the routes (a prediction, a test digit, the training status).

The served model is a :class:`Served` record (network, version, where it came from), replaced
whole and never changed in place: a request reads ``lab.served`` once (one attribute read, which
never waits) and uses that record throughout, so a model swapped in by a training run never mixes
with the old one within a response. A training run trains its own new network; predictions go on
meanwhile.

Three locks, each held only briefly and only off the event loop: ``_model_lock`` (the swap, so
versions count up), ``_data_lock`` (the lazy MNIST load, which takes a second: nothing else waits
on it but the requests that need the data), ``_runs_lock`` (one run at a time).

Only the latest training run's events are kept (bounded, see :mod:`nnet.lab.events`); of the run
before it, a summary. Every finished run's network goes on the session's shelf
(:mod:`nnet.lab.shelf`) with its health verdict (:func:`nnet.lab.health.verdict`), and is served
only when the user chooses it (``use_run``), or at once when the served model is the untrained
default and the new one is healthy: a run never silently replaces a model someone is looking at.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnet import runs
from nnet.datasets import IMAGE_SIDE, MNIST_CLASS_NAMES
from nnet.network import Network

from . import explain, health, payloads
from .payloads import PayloadError
from .shelf import Kept, Shelf
from .training import (
    DEFAULT_SETTINGS,
    PROGRESS_SECONDS,
    WEIGHTS_SECONDS,
    TrainingRun,
    build_network,
)

INPUT_SHAPE = [IMAGE_SIDE, IMAGE_SIDE]
DIGIT_MODES = ("random", "index", "class", "mistakes")
#: The data, when create_app is given arrays and no description of them.
ARRAYS = {"name": "arrays given to create_app", "path": None, "kind": "arrays"}
MNIST = {"name": "mnist", "path": None, "kind": "registered"}


@dataclass(frozen=True)
class Served:
    """The model being served: replaced whole, never changed in place."""

    network: Network
    version: int
    source: str
    trained: bool
    classes: list


class Lab:
    """The lab's state; every method may be called from any thread.

    Parameters are those of :func:`nnet.lab.create_app`.
    """

    def __init__(self, model=None, *, train_data=None, test_data=None, class_names=None, save_path=None,
                 source=None, dataset=None, command=None, progress_seconds=PROGRESS_SECONDS,
                 weights_seconds=WEIGHTS_SECONDS):
        self._model_lock = threading.Lock()
        self._data_lock = threading.Lock()
        self._runs_lock = threading.Lock()
        self._train_data, self._test_data = train_data, test_data
        self._class_names = list(class_names) if class_names is not None else None
        self.save_path = Path(save_path) if save_path is not None else None
        given = train_data is not None or test_data is not None
        self.dataset = {**(ARRAYS if given else MNIST), **(dataset or {})}
        self.command = list(command) if command is not None else None
        self.progress_seconds, self.weights_seconds = progress_seconds, weights_seconds
        self._run: TrainingRun | None = None  # the latest run
        self.previous_run: dict | None = None  # the summary of the one before
        self._runs_started = 0
        self.shelf = Shelf()
        self.served_run: int | None = None  # the run whose network is served, if any
        self.saved: dict | None = None
        self._mistakes: tuple[int, np.ndarray] | None = None
        if model is None:
            n_outputs = len(self._class_names or MNIST_CLASS_NAMES)
            network = build_network(DEFAULT_SETTINGS, IMAGE_SIDE * IMAGE_SIDE, n_outputs)
            self.served = Served(network, 1, "the default network, untrained (random weights)", False,
                                 self.classes_for(network))
        elif isinstance(model, Network):
            self.served = Served(model, 1, source or "a network given to create_app", True, self.classes_for(model))
        else:
            raise TypeError(f"create_app takes an nnet.Network (or None); got {type(model).__name__}")
        from .table_routes import table_of

        self.table = None if model is None else table_of(model)  # a table model: the form, not the drawing

    def classes_for(self, network: Network) -> list[str]:
        """The names of the network's answers: its own (``metadata["classes"]``), else the
        data's, else "0", "1", ... (:attr:`Network.class_names`); a regression network's
        targets (``metadata["targets"]``, else "y0", "y1", ...)."""
        if network.task == "regression":
            targets = network.metadata.get("targets")
            if isinstance(targets, list) and len(targets) == network.n_outputs:
                return [str(name) for name in targets]
            return [f"y{j}" for j in range(network.n_outputs)]
        own = network.metadata.get("classes")
        count = len(network.class_names)
        if not (isinstance(own, (list, tuple)) and len(own) == count) and self._class_names \
                and len(self._class_names) == count:
            return [str(name) for name in self._class_names]
        return network.class_names

    # -- the served model -----------------------------------------------------------------------
    def current(self) -> Served:
        """The served model: one attribute read, safe from the event loop (it never waits)."""
        return self.served

    def swap(self, network: Network, source: str, run: int | None = None) -> Served:
        with self._model_lock:
            self.served = Served(network, self.served.version + 1, source, True, self.classes_for(network))
            self.served_run = run
            return self.served

    def describe(self) -> dict:
        served = self.current()
        return {
            "version": served.version,
            "source": served.source,
            "trained": served.trained,
            **explain.describe(served.network, served.classes,
                               INPUT_SHAPE if self.table is None else [served.network.n_inputs]),
            "table": self.table is not None,
        }

    def _images_only(self, what: str) -> None:
        """Refuse (409) what only a model of images does, for a table model."""
        if self.table is not None:
            raise PayloadError(f"this lab serves a table model: {what} are for models of images; "
                               f"send a row to POST /api/table/predict", 409)

    def predict(self, data) -> dict:
        """``POST /api/predict``: a checked drawing through the served network."""
        started = time.perf_counter()
        self._images_only("drawings")
        served = self.current()
        x = payloads.drawing(data, served.network.n_inputs)
        result = explain.forward_pass(served.network, x, served.classes)
        return {"version": served.version, **result, "ms": round((time.perf_counter() - started) * 1000, 3)}

    def feature_maps(self, data) -> dict:
        """``POST /api/feature-maps``: a checked drawing through the served network's feature maps."""
        self._images_only("feature maps")
        served = self.current()
        x = payloads.drawing(data, served.network.n_inputs)
        return {"version": served.version, **explain.feature_maps(served.network, x)}

    def save(self) -> dict:
        """``POST /api/model/save``: the served model to the server-side ``save_path``."""
        if self.save_path is None:
            raise PayloadError("this lab has nowhere to save: start it with `nnet lab --save PATH` to choose the file",
                               409)
        served = self.current()
        if not served.trained:
            raise PayloadError("the served network is untrained (random weights); train it first", 409)
        from nnet.serialization import save

        path = save(served.network, self.save_path)
        self.saved = {"version": served.version, "path": str(path), "at": time.strftime("%H:%M:%S")}
        return {"saved": str(path), "version": served.version}

    # -- data, loaded on first use (in the thread pool, under its own lock) ---------------------
    def train_data(self):
        if self._train_data is None:
            self._load_mnist()
        return self._train_data

    def test_data(self):
        if self._test_data is None:
            self._load_mnist()
        return self._test_data

    def _load_mnist(self) -> None:
        from nnet import datasets

        with self._data_lock:
            if self._train_data is not None and self._test_data is not None:
                return  # another thread loaded it while this one waited
            train, test = datasets.load_mnist()
            if self._class_names is None:
                self._class_names = list(MNIST_CLASS_NAMES)
            self._test_data = test if self._test_data is None else self._test_data
            self._train_data = train if self._train_data is None else self._train_data

    def mistakes(self, served: Served) -> np.ndarray:
        """The indices of the test digits the served model gets wrong (cached per model version)."""
        cached = self._mistakes
        if cached is not None and cached[0] == served.version:
            return cached[1]
        x, y = self.test_data()
        wrong = np.flatnonzero(served.network.predict(x) != y)
        self._mistakes = (served.version, wrong)
        return wrong

    def digit(self, params) -> dict:
        """``GET /api/digits``: a test digit chosen by the query ``params``, and its forward pass."""
        self._images_only("the test digits")
        served = self.current()
        mode = params.get("mode", "random")
        x, y = self.test_data()
        n = len(x)
        if mode == "random":
            chosen = np.arange(n)
        elif mode == "index":
            index = payloads.query_int(params, "index", 0, 2**31)
            if index is None:
                raise PayloadError("mode=index needs index=i, the test digit's number")
            if index >= n:
                raise PayloadError(f"there is no test digit {index}: the test set has digits 0..{n - 1}", 404)
            chosen = np.array([index])
        elif mode == "class":
            label = payloads.query_int(params, "class", 0, len(served.classes) - 1)
            if label is None:
                raise PayloadError(f"mode=class needs class=k, k in 0..{len(served.classes) - 1}")
            chosen = np.flatnonzero(y == label)
        elif mode == "mistakes":
            chosen = self.mistakes(served)
        else:
            raise PayloadError(f"mode must be one of {', '.join(DIGIT_MODES)}; got {mode!r}")
        if len(chosen) == 0:
            what = "the model gets every test digit right" if mode == "mistakes" else "no test digit of that class"
            raise PayloadError(f"nothing to show: {what}", 404)
        position = payloads.query_int(params, "position", -(2**31), 2**31)
        if position is None:
            position = int(np.random.default_rng().integers(len(chosen)))
        position %= len(chosen)
        index = int(chosen[position])
        label = int(y[index])
        forward = explain.forward_pass(served.network, x[index], served.classes)
        return {
            "version": served.version,
            "mode": mode,
            "index": index,
            "position": position,
            "count": int(len(chosen)),
            "label": label,
            "label_name": served.classes[label] if label < len(served.classes) else str(label),
            "pixels": x[index].astype(int).tolist(),
            "correct": forward["prediction"] == label,
            "prediction": forward,
        }

    # -- training -------------------------------------------------------------------------------
    def latest_run(self) -> TrainingRun | None:
        return self._run

    def run(self, run_id: int | None) -> TrainingRun:
        """Run ``run_id`` (counting from 1), or the latest one; PayloadError 404 if there is no such
        run, 410 for an earlier run (only the latest one's events are kept)."""
        run = self._run
        if run is None:
            raise PayloadError("no training run yet; start one with POST /api/train", 404)
        if run_id is None or run_id == run.id:
            return run
        if run_id > run.id:
            raise PayloadError(f"there is no training run {run_id}: runs so far: 1..{run.id}", 404)
        raise PayloadError(f"the events of run {run_id} are no longer kept: the lab keeps only the latest "
                           f"run's, run {run.id}", 410)

    def training_status(self) -> dict:
        run = self._run
        n_train = len(self.train_data()[0])
        return {
            "state": run.state if run else "idle",
            "running": bool(run and run.running),
            "run": run.status() if run else None,
            "previous": self.previous_run,
            "runs": self.shelf.summaries(),
            "served_run": self.served_run,
            "presets": {name: {key: value for key, value in preset.items() if key in DEFAULT_SETTINGS}
                        for name, preset in runs.PRESETS.items()},
            "defaults": {**DEFAULT_SETTINGS, "train_size": DEFAULT_SETTINGS["train_size"] or n_train},
            "limits": payloads.limits(n_train),
            "save": {"enabled": self.save_path is not None,
                     "path": None if self.save_path is None else str(self.save_path), "saved": self.saved},
        }

    def start_run(self, data) -> TrainingRun:
        """``POST /api/train``: check the settings and start a run; PayloadError 409 if one is going."""
        self._images_only("training runs on the digits")
        self._refuse_if_running()
        train, test = self.train_data(), self.test_data()
        n_outputs = max(len(self._class_names or MNIST_CLASS_NAMES), int(train[1].max()) + 1)
        carrying = data.get("continue") is True if isinstance(data, dict) else False
        start = self.current().network if carrying else None
        settings, carry_on = payloads.train_settings(
            data, DEFAULT_SETTINGS, len(train[0]), n_inputs=train[0].shape[1], n_outputs=n_outputs,
            served_hidden=None if start is None else list(start.sizes[1:-1]))
        start = start if carry_on else None
        if start is not None and (start.n_inputs, start.n_outputs) != (train[0].shape[1], n_outputs):
            raise PayloadError(f"the served model takes {start.n_inputs} inputs and gives {start.n_outputs} outputs; "
                               f"the data has {train[0].shape[1]} and {n_outputs}, so it cannot go on training on it")
        with self._runs_lock:
            self._refuse_if_running()
            self._runs_started += 1
            run = TrainingRun(self._runs_started, settings, train, test, n_outputs, self._finished,
                              dataset=self.dataset.get("path") or self.dataset["name"], start=start,
                              progress_seconds=self.progress_seconds, weights_seconds=self.weights_seconds)
            if self._run is not None:  # keep its summary; let its events and network go
                self.previous_run = self._run.status()
            self._run = run
            run.start()
        return run

    def _refuse_if_running(self) -> None:
        run = self._run
        if run is not None and run.running:
            raise PayloadError(f"training run {run.id} is still going; stop it first (POST /api/train/stop)", 409)

    def stop_run(self) -> TrainingRun:
        """``POST /api/train/stop``: stop the running run; PayloadError 409 if none is going. Never waits."""
        run = self._run
        if run is None or not run.running:
            raise PayloadError("no training run is going", 409)
        run.stop()
        return run

    def steer(self, action: str, data=None) -> dict:
        """``POST /api/train/pause|resume|step|learning_rate``: steer the running run
        (:class:`~nnet.lab.control.Controls`); PayloadError 409 if none is going."""
        run = self._run
        if run is None or not run.running:
            raise PayloadError("no training run is going", 409)
        controls = run.controls
        if action == "pause":
            controls.pause()
        elif action == "resume":
            controls.resume()
        elif action == "step":
            controls.step(payloads.step_count(data))
        else:
            try:
                controls.set_learning_rate(payloads.learning_rate(data))
            except ValueError as error:
                raise PayloadError(str(error)) from None
        return {"run": run.id, **controls.status()}

    def use_run(self, run_id: int) -> Served:
        """``POST /api/runs/{run}/use``: serve the network of a finished run; 404 if not kept."""
        try:
            kept = self.shelf.get(run_id)
        except KeyError as error:
            raise PayloadError(str(error).strip("'\""), 404) from None
        stopped = " (stopped early)" if kept.state == "stopped" else ""
        return self.swap(kept.network, f"trained in the lab, run {run_id}{stopped}", run=run_id)

    def _finished(self, network: Network, run: TrainingRun, error: str | None) -> dict:
        """Describe the run's network as ``nnet train`` does in its metadata, judge its health,
        keep it on the shelf, and serve it only if the served model is the untrained default and
        this one is healthy. Returns the kept run's summary with ``served``.

        The lab holds no training images out: it watches the test digits after each epoch, so
        the dataset's ``validation`` is 0 and the history's ``validation_*`` columns hold the
        test digits' numbers."""
        (x, y), n_train = run.train, int(run.settings["train_size"])
        dataset = {"name": self.dataset["name"], "path": self.dataset.get("path"), "kind": self.dataset.get("kind"),
                   "train": n_train, "validation": 0, "test": int(len(run.test[0]))}
        scores = runs.scores(network, train=(x[:n_train], y[:n_train]), validation=None, test=run.test)
        network.metadata = runs.metadata(run.full_settings, network, classes=self.classes_for(network),
                                         input_shape=INPUT_SHAPE, dataset=dataset, history=run.history,
                                         scores=scores, command=self.command)
        x_test, y_test = run.test
        verdict = health.verdict(network, x_test, y_test)
        if error is not None:
            verdict["healthy"] = False
            verdict["flags"].insert(0, {"kind": "failed", "layer": None,
                                        "why": f"{error} (the network kept is the one the run had then)"})
        state = "error" if error is not None else "stopped" if run.stop_requested else "done"
        kept = self.shelf.keep(Kept(run.id, state, dict(run.settings), network, verdict, scores, error,
                                    last_learning_rate=run.controls.base_learning_rate))
        served = not self.current().trained and verdict["healthy"]
        if served:
            stopped = " (stopped early)" if run.stop_requested else ""
            self.swap(network, f"trained in the lab, run {run.id}{stopped}", run=run.id)
        return {**kept.summary(), "served": served}
