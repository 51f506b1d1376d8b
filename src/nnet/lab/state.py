"""The lab's state, apart from HTTP: the served model, the data, the training runs, and the work
behind the routes (a prediction, a test digit, the training status).

The served model is a :class:`Served` record (network, version, where it came from), replaced
whole under a lock and never changed in place: a request takes the current record once and uses
it throughout, so a model swapped in by a training run never mixes with the old one within a
response. A training run trains its own new network; predictions go on meanwhile.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnet.network import Network

from . import explain, payloads
from .payloads import PayloadError
from .training import DEFAULT_SETTINGS, PROGRESS_SECONDS, WEIGHTS_SECONDS, TrainingRun, build_network

DIGIT_CLASSES = [str(digit) for digit in range(10)]
INPUT_SHAPE = [28, 28]
INPUT_PREPROCESSING = "uint8 pixels / 255, white ink on black (MNIST)"  # as `nnet train` writes it
DIGIT_MODES = ("random", "index", "class", "mistakes")


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
                 source=None, dataset_name=None, progress_seconds=PROGRESS_SECONDS, weights_seconds=WEIGHTS_SECONDS):
        self.lock = threading.Lock()
        self._train_data, self._test_data = train_data, test_data
        self._class_names = list(class_names) if class_names is not None else None
        self.save_path = Path(save_path) if save_path is not None else None
        self.dataset_name = dataset_name
        self.progress_seconds, self.weights_seconds = progress_seconds, weights_seconds
        self.runs: list[TrainingRun] = []
        self.saved: dict | None = None
        self._mistakes: tuple[int, np.ndarray] | None = None
        if model is None:
            n_outputs = len(self._class_names or DIGIT_CLASSES)
            network = build_network(DEFAULT_SETTINGS, INPUT_SHAPE[0] * INPUT_SHAPE[1], n_outputs)
            self.served = Served(network, 1, "the default network, untrained (random weights)", False,
                                 self.classes_for(n_outputs))
        elif isinstance(model, Network):
            self.served = Served(model, 1, source or "a network given to create_app", True,
                                 self.classes_for(model.n_outputs, model.metadata.get("classes")))
        else:
            raise TypeError(f"create_app takes an nnet.Network (or None); got {type(model).__name__}")

    def classes_for(self, n_outputs: int, from_model=None) -> list[str]:
        """The output names: the model's own, else the data's, else "0", "1", ..."""
        for names in (from_model, self._class_names):
            if isinstance(names, list) and len(names) == n_outputs and all(isinstance(n, str) for n in names):
                return names
        return [str(k) for k in range(n_outputs)]

    # -- the served model -----------------------------------------------------------------------
    def current(self) -> Served:
        with self.lock:
            return self.served

    def swap(self, network: Network, source: str) -> Served:
        with self.lock:
            self.served = Served(network, self.served.version + 1, source, True, self.classes_for(network.n_outputs))
            return self.served

    def describe(self) -> dict:
        served = self.current()
        return {
            "version": served.version,
            "source": served.source,
            "trained": served.trained,
            **explain.describe(served.network, served.classes, INPUT_SHAPE),
        }

    def predict(self, data) -> dict:
        """``POST /api/predict``: a checked drawing through the served network."""
        started = time.perf_counter()
        served = self.current()
        x = payloads.drawing(data, served.network.n_inputs)
        result = explain.forward_pass(served.network, x, served.classes)
        return {"version": served.version, **result, "ms": round((time.perf_counter() - started) * 1000, 3)}

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

    # -- data, loaded on first use --------------------------------------------------------------
    def train_data(self):
        with self.lock:
            if self._train_data is None:
                self._load_mnist()
            return self._train_data

    def test_data(self):
        with self.lock:
            if self._test_data is None:
                self._load_mnist()
            return self._test_data

    def _load_mnist(self) -> None:
        from nnet.datasets import MNIST_CLASS_NAMES, load_mnist

        train, test = load_mnist()
        self._train_data = train if self._train_data is None else self._train_data
        self._test_data = test if self._test_data is None else self._test_data
        self.dataset_name = self.dataset_name or "mnist"
        if self._class_names is None:
            self._class_names = list(MNIST_CLASS_NAMES)

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
        with self.lock:
            return self.runs[-1] if self.runs else None

    def run(self, run_id: int | None) -> TrainingRun:
        """Run ``run_id`` (counting from 1), or the latest one; PayloadError 404 if there is none."""
        with self.lock:
            runs = list(self.runs)
        if not runs:
            raise PayloadError("no training run yet; start one with POST /api/train", 404)
        if run_id is None:
            return runs[-1]
        if run_id > len(runs):
            raise PayloadError(f"there is no training run {run_id}: runs so far: 1..{len(runs)}", 404)
        return runs[run_id - 1]

    def training_status(self) -> dict:
        run = self.latest_run()
        n_train = len(self.train_data()[0])
        return {
            "state": run.state if run else "idle",
            "running": bool(run and run.running),
            "run": run.status() if run else None,
            "defaults": {**DEFAULT_SETTINGS, "train_size": DEFAULT_SETTINGS["train_size"] or n_train},
            "limits": payloads.limits(n_train),
            "save": {"enabled": self.save_path is not None,
                     "path": None if self.save_path is None else str(self.save_path), "saved": self.saved},
        }

    def start_run(self, data) -> TrainingRun:
        """``POST /api/train``: check the settings and start a run; PayloadError 409 if one is going."""
        self._refuse_if_running()
        train, test = self.train_data(), self.test_data()
        settings = payloads.train_settings(data, DEFAULT_SETTINGS, len(train[0]))
        n_outputs = max(len(self._class_names or DIGIT_CLASSES), int(train[1].max()) + 1)
        with self.lock:
            self._refuse_if_running(locked=True)
            run = TrainingRun(len(self.runs) + 1, settings, train, test, n_outputs, self._finished,
                              progress_seconds=self.progress_seconds, weights_seconds=self.weights_seconds)
            self.runs.append(run)
            run.start()
        return run

    def _refuse_if_running(self, locked: bool = False) -> None:
        run = (self.runs[-1] if self.runs else None) if locked else self.latest_run()
        if run is not None and run.running:
            raise PayloadError(f"training run {run.id} is still going; stop it first (POST /api/train/stop)", 409)

    def stop_run(self) -> TrainingRun:
        """``POST /api/train/stop``: stop the running run; PayloadError 409 if none is going."""
        run = self.latest_run()
        if run is None or not run.running:
            raise PayloadError("no training run is going", 409)
        run.stop()
        return run

    def _finished(self, network: Network, run: TrainingRun) -> None:
        """Describe the new network as ``nnet train`` does in its metadata, and serve it."""
        history = run.history
        last = history.epochs[-1] if history.epochs else None
        test = None if last is None or last.validation_accuracy is None else {
            "accuracy": last.validation_accuracy, "cost": last.validation_cost}
        network.metadata = {
            "classes": self.classes_for(network.n_outputs),
            "input": {"shape": INPUT_SHAPE, "preprocessing": INPUT_PREPROCESSING},
            "dataset": {"name": self.dataset_name or "mnist", "train": run.settings["train_size"],
                        "test": len(run.test[0])},
            "training": {**run.settings, "output": "softmax", "cost": "cross_entropy", "trained_in": "nnet lab"},
            "history": history.to_dict(),
            "scores": {"test": test},
        }
        stopped = " (stopped early)" if run.stop_requested else ""
        self.swap(network, f"trained in the lab, run {run.id}{stopped}")
