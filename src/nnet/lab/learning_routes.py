"""The routes of the Teach view and of the looks inside: backpropagation you can do, and what a
network has learned. Documented in :mod:`nnet.lab` with the rest of the API; the numbers come
from :mod:`~nnet.lab.teach`, :mod:`~nnet.lab.weights`, :mod:`~nnet.lab.health` and
:mod:`~nnet.lab.maps`.

Teaching changes only the sandbox (:class:`~nnet.lab.teach.Sandbox`), a copy of the served
model. When the lab serves another model, the sandbox starts again from it at the next request,
and that response says so (``"sandbox": {..., "restarted": "..."}``).

GET routes that look inside take ``model=served`` (the default) or ``model=sandbox``.
"""

from __future__ import annotations

import threading

import numpy as np

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.routing import Route
except ImportError as missing:  # pragma: no cover - app.py says how to install the lab
    raise ImportError(f'the nnet lab needs Starlette ({missing}); install it with: pip install "nnet[lab]"') from missing

from nnet.layers import Dense

from . import health, maps, payloads, teach, weights
from .payloads import PayloadError, _choice, _integer, _object, _shown, integer_text
from .learning_api import API, MAX_EXAMPLES, MAX_NEURONS, MAX_STEP_RATE  # noqa: F401 - API: app.py lists it
from .teach import Sandbox

#: Map results kept, per model version and request.
CACHED = 16
MODELS = ("served", "sandbox")
SETS = ("train", "test")


class Teaching:
    """The state behind these routes: the sandbox, following the served model, and a small cache."""

    def __init__(self, lab):
        self.lab = lab
        self._lock = threading.Lock()
        self._sandbox: Sandbox | None = None
        self._cache: dict[tuple, dict] = {}

    def sandbox(self) -> tuple[Sandbox, str | None]:
        """The sandbox, restarted from the served model if that changed (then with a note why)."""
        served = self.lab.current()
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(served.network, served.version)
                return self._sandbox, None
            if self._sandbox.based_on != served.version:
                self._sandbox.reset(served.network, served.version)
                return self._sandbox, f"the lab now serves another model ({served.source}): the sandbox starts again from it"
        return self._sandbox, None

    def sandbox_status(self) -> dict:
        sandbox, note = self.sandbox()
        return {**sandbox.status(), **({"restarted": note} if note else {})}

    def model(self, params) -> tuple:
        """``(network, lock or None, key)`` for the query's ``model``: served or sandbox."""
        which = params.get("model", "served")
        if which not in MODELS:
            raise PayloadError(f"model must be one of {', '.join(MODELS)}; got {which!r}")
        if which == "served":
            served = self.lab.current()
            return served.network, None, ("served", served.version)
        sandbox, _ = self.sandbox()
        return sandbox.network, sandbox.lock, ("sandbox", sandbox.version)

    def cached(self, key: tuple, compute) -> dict:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        result = compute()
        with self._lock:
            self._cache[key] = result
            for old in list(self._cache)[:-CACHED]:
                del self._cache[old]
        return result

    # -- what a request names ---------------------------------------------------------------------
    def data(self, which: str):
        return self.lab.train_data() if which == "train" else self.lab.test_data()

    def example(self, data: dict, n_inputs: int) -> tuple[np.ndarray, int | None]:
        """The input of a body: a drawing (as /api/predict takes it) or ``"digit": i`` (a test
        digit; ``"set": "train"`` for a training one), and its label if the body gives one (a
        digit's own label otherwise)."""
        if "digit" in data:
            which = _choice(data, "set", SETS, "test")
            x, y = self.data(which)
            index = _integer(data, "digit", 0, len(x) - 1)
            label = y[index] if "label" not in data else None
            return x[index], (None if label is None else int(label))
        return payloads.drawing(data, n_inputs), None

    def examples(self, data: dict) -> list[tuple[str, int]]:
        """``"examples": [{"set", "index"}, ...]`` (1..MAX_EXAMPLES), or ``"count": n`` training
        digits drawn at random (``"seed"`` to repeat a draw)."""
        if "examples" in data:
            given = data["examples"]
            if not isinstance(given, list) or not 1 <= len(given) <= MAX_EXAMPLES:
                raise PayloadError(f'"examples" must be a list of 1 to {MAX_EXAMPLES} {{"set", "index"}} objects')
            chosen = []
            for entry in given:
                if not isinstance(entry, dict):
                    raise PayloadError('each of "examples" must be an object {"set": "train" or "test", "index": i}')
                which = _choice(entry, "set", SETS, "train")
                chosen.append((which, _integer(entry, "index", 0, len(self.data(which)[0]) - 1)))
            return chosen
        count = _integer(data, "count", 1, MAX_EXAMPLES, 10)
        seed = _integer(data, "seed", 0, 2**32 - 1, None) if data.get("seed") is not None else None
        n = len(self.data("train")[0])
        rows = np.random.default_rng(seed).choice(n, size=min(count, n), replace=False)
        return [("train", int(row)) for row in rows]

    def gather(self, chosen: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        xs, labels, described = [], [], []
        for which, index in chosen:
            x, y = self.data(which)
            xs.append(x[index])
            labels.append(int(y[index]))
            described.append({"set": which, "index": index, "label": int(y[index]),
                              "pixels": np.asarray(x[index]).astype(int).tolist()})
        return np.array(xs), np.array(labels), described


# -- checks of body fields -----------------------------------------------------------------------


def _number(data: dict, key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
        raise PayloadError(f'"{key}" must be a number in ({low:g}, {high:g}]; got {_shown(value)}')
    return float(value)


def _path_int(request: Request, key: str) -> int:
    """A path parameter's whole number; 404 for anything else (there is no such thing)."""
    value = integer_text(request.path_params[key])
    if value is None:
        raise PayloadError(f"no such {key}: {request.url.path} takes whole numbers", 404)
    return value


def _label(data: dict, network, fallback: int | None) -> int:
    k = len(network.class_names)
    if "label" not in data and fallback is not None:
        return fallback
    if "label" not in data:
        raise PayloadError(f'say which answer this input should give: "label", an integer in 0..{k - 1}')
    return _integer(data, "label", 0, k - 1)


def _neurons(data: dict) -> list[tuple[int, int]]:
    given = data.get("neurons", [])
    if not isinstance(given, list) or len(given) > MAX_NEURONS or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            for pair in given):
        raise PayloadError(f'"neurons" must be a list of up to {MAX_NEURONS} [layer, index] pairs; got {_shown(given)}')
    return [tuple(pair) for pair in given]


def _not_found(error: Exception) -> PayloadError:
    return PayloadError(str(error).strip("'\""), 404)


# -- the routes ----------------------------------------------------------------------------------


def routes(lab, read_body, respond) -> list[Route]:
    """The routes, for :func:`nnet.lab.create_app`: ``read_body(request)`` reads a checked JSON
    body, ``respond(data)`` writes the JSON response."""
    teaching = Teaching(lab)
    lab.teaching = teaching

    async def body(request: Request) -> dict:
        return _object(payloads.parse_json(await read_body(request)), "the body")

    def images_only() -> None:
        lab._images_only("teaching and looking inside")  # a table model: 409
        if getattr(lab.current().network, "task", "classification") != "classification":
            raise PayloadError("teaching and looking inside are for networks that classify (labels, answers); "
                               "this one predicts values", 409)

    def backprop(data: dict) -> dict:
        images_only()
        sandbox, note = teaching.sandbox()
        with sandbox.lock:
            network = _fully_connected(sandbox.network)
            x, own = teaching.example(data, network.n_inputs)
            label = _label(data, network, own)
            try:
                result = teach.backprop_one(network, x, label, neurons=_neurons(data), classes=lab.current().classes)
            except IndexError as error:
                raise _not_found(error) from None
            return {"sandbox": {**sandbox.status(), **({"restarted": note} if note else {})}, **result}

    def step(data: dict) -> dict:
        images_only()
        sandbox, _ = teaching.sandbox()
        rate = _number(data, "learning_rate", 0.0, MAX_STEP_RATE)
        if "examples" in data or "count" in data:
            x, labels, described = teaching.gather(teaching.examples(data))
            what = f"a step on {len(labels)} examples (η = {rate:g})"
        else:
            x, own = teaching.example(data, sandbox.network.n_inputs)
            labels = np.array([_label(data, sandbox.network, own)])
            described, what = None, f"a step towards {labels[0]} (η = {rate:g})"
        _fully_connected(sandbox.network)
        result = sandbox.step(x, labels, rate, what)
        return {**result, **({"examples": described} if described else {})}

    def batch(data: dict) -> dict:
        images_only()
        x, labels, described = teaching.gather(teaching.examples(data))
        sandbox, _ = teaching.sandbox()
        layer = _integer(data, "layer", 0, 2**31, 0)
        index = None if data.get("neuron") is None else _integer(data, "neuron", 0, 2**31)  # None: the busiest
        with sandbox.lock:
            try:
                result = teach.desired_changes(_fully_connected(sandbox.network), x, labels, layer, index)
            except IndexError as error:
                raise _not_found(error) from None
            for entry, example in zip(result["examples"], described):
                entry.update(example)
            return {"sandbox": sandbox.status(), **result}

    def edit(data: dict) -> dict:
        sandbox, _ = teaching.sandbox()
        _fully_connected(sandbox.network)
        source = data.get("source")
        if source is not None:
            source = _integer(data, "source", 0, 2**31)
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PayloadError(f'"value" must be a number; got {_shown(value)}')
        try:
            return sandbox.edit(_integer(data, "layer", 0, 2**31), _integer(data, "neuron", 0, 2**31), source, value)
        except IndexError as error:
            raise _not_found(error) from None
        except ValueError as error:
            raise PayloadError(str(error)) from None

    def undo() -> dict:
        sandbox, _ = teaching.sandbox()
        try:
            return sandbox.undo()
        except ValueError as error:
            raise PayloadError(str(error), 409) from None

    def reset() -> dict:
        served = lab.current()
        sandbox, _ = teaching.sandbox()
        return sandbox.reset(served.network, served.version)

    def looking(params, compute, cache: str | None = None, neurons: bool = True) -> dict:
        network, lock, key = teaching.model(params)
        if neurons:  # a view neuron by neuron
            _fully_connected(network)

        def run():
            try:
                if lock is None:
                    return compute(network)
                with lock:
                    return compute(network)
            except IndexError as error:
                raise _not_found(error) from None
            except ValueError as error:
                raise PayloadError(str(error)) from None

        result = teaching.cached((cache, *key), run) if cache else run()
        return {"model": key[0], "version": key[1], **result}

    def links(request: Request) -> dict:
        layer = _path_int(request, "layer")
        return looking(request.query_params, lambda net: weights.links(net, layer))

    def layer_health(request: Request) -> dict:
        images_only()
        x, y = lab.test_data()
        return looking(request.query_params, lambda net: health.verdict(net, x, y), "health")

    def activation_map(request: Request) -> dict:
        params = request.query_params
        layer = payloads.query_int(params, "layer", -1, 2**31, 0)
        count = payloads.query_int(params, "count", 2, maps.MAX_MAP, 2000)
        method = params.get("method", "pca")
        images_only()
        x, y = lab.test_data()
        return looking(params, lambda net: maps.activation_map(net, x, y, layer, count, method),
                       f"map {layer} {count} {method}")

    def top(request: Request) -> dict:
        count = payloads.query_int(request.query_params, "count", 1, maps.MAX_TOP, 12)
        layer, index = _path_int(request, "layer"), _path_int(request, "index")
        images_only()
        x, y = lab.test_data()
        return looking(request.query_params, lambda net: maps.top_digits(net, x, y, layer, index, count),
                       f"top {layer} {index} {count}")

    def calibration(request: Request) -> dict:
        images_only()
        x, y = lab.test_data()
        return looking(request.query_params, lambda net: maps.calibration(net, x, y), "calibration", neurons=False)

    def post(work):
        async def handler(request: Request):
            data = await body(request)
            return respond(await run_in_threadpool(work, data))
        return handler

    def plain(work, *, takes_request=True):
        async def handler(request: Request):
            result = await run_in_threadpool(work, request) if takes_request else await run_in_threadpool(work)
            return respond(result)
        return handler

    return [
        Route("/api/backprop", post(backprop), methods=["POST"]),
        Route("/api/backprop/step", post(step), methods=["POST"]),
        Route("/api/backprop/batch", post(batch), methods=["POST"]),
        Route("/api/sandbox", plain(teaching.sandbox_status, takes_request=False)),
        Route("/api/sandbox/weight", post(edit), methods=["POST"]),
        Route("/api/sandbox/undo", plain(undo, takes_request=False), methods=["POST"]),
        Route("/api/sandbox/reset", plain(reset, takes_request=False), methods=["POST"]),
        Route("/api/links/{layer}", plain(links)),
        Route("/api/health", plain(layer_health)),
        Route("/api/map", plain(activation_map)),
        Route("/api/neuron/{layer}/{index}/top", plain(top)),
        Route("/api/calibration", plain(calibration)),
    ]


def _fully_connected(network):
    """``network`` if every layer is a fully connected one, which the Teach and Inside views show
    neuron by neuron; else a 409 saying what the network has instead."""
    others = sorted({layer.kind for layer in network.layers if not isinstance(layer, Dense)})
    if others:
        raise PayloadError(f"teaching and looking inside show a fully connected network neuron by neuron; this "
                           f"one has {', '.join(others)} layers (the Draw view shows its feature maps)", 409)
    return network
