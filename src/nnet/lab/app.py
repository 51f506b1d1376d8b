"""The lab's web app: :func:`create_app` builds a Starlette app serving the page and the JSON API.

The routes are listed in ``API`` (served at ``GET /api``) and documented in :mod:`nnet.lab`; the
work behind them is in :mod:`nnet.lab.state`. This module holds the HTTP side, safe by default:

- a JSON body over ``MAX_BODY_BYTES`` gets 413 before it is read in full, and one not sent as
  ``application/json`` gets 415 (a plain HTML form elsewhere cannot post to the lab);
- every field is checked (:mod:`nnet.lab.payloads`), and so is every number in a path, a query or
  a header (ASCII digits, at most ``nnet.limits.MAX_INTEGER_DIGITS``); errors are JSON
  ``{"error": "..."}`` with a 4xx status, whatever the request: a 5xx would be a bug (the API is
  published as an OpenAPI document, ``GET /api/openapi.json``, and tested with schemathesis);
  the client never names a file;
- requests for another host name (DNS rebinding) and cross-site POSTs are refused;
- CPU work (preprocessing, forward passes, loading data) runs in the thread pool, and the
  handlers that run on the event loop (the model's description, a neuron, the stop button, the
  event streams) take no lock: they read the served model or the run in one attribute read. So
  loading MNIST or a busy training run never stalls other requests and the event streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        f'the nnet lab needs Starlette and uvicorn ({missing}); install them with: pip install "nnet[lab]"'
    ) from missing

from nnet.network import Network

from . import explain, learning_routes, openapi, payloads, table_routes
from .events import FINAL_EVENTS, last_event_id
from .explain import NonFiniteError
from .payloads import MAX_BODY_BYTES, PayloadError, integer_text
from .state import INPUT_SHAPE, Lab
from .training import PROGRESS_SECONDS, WEIGHTS_SECONDS, TrainingRun

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: The names a request may use for the lab (its Host header): this machine's.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: The page loads nothing from elsewhere and runs no inline script.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
#: How often the event stream looks for new events, and how long it stays quiet before a keep-alive.
POLL_SECONDS = 0.05
KEEPALIVE_SECONDS = 15.0

#: The API, as ``GET /api`` lists it.
API = [
    {"method": "GET", "path": "/api", "summary": "this list"},
    {"method": "GET", "path": "/api/openapi.json", "summary": "the API as an OpenAPI 3.1 document"},
    {"method": "GET", "path": "/api/model",
     "summary": "the served model: version, source, trained, input, layers (index, name, size, inputs, "
                "activation, range, parameters), classes, cost, summary of its metadata"},
    {"method": "POST", "path": "/api/predict",
     "summary": "one drawing through the network, preprocessed as `nnet predict` does",
     "body": '{"width": W, "height": H, "pixels": base64 of W*H gray bytes (or W*H*C with "channels": C)} '
             '| {"image": "data:image/png;base64,..."} | {"input": [784 numbers in 0..1]}',
     "returns": "version, input (784 values in 0..1), layers [{index, name, size, activation, range, z, a}], "
                "probabilities, prediction, label, ms"},
    {"method": "POST", "path": "/api/feature-maps",
     "summary": "one drawing (as for /api/predict) through a convolutional network: the feature maps of every "
                "layer whose output is maps",
     "returns": "version, layers [{index, name, kind, shape [C, H, W], maps, low, high, data: base64 uint8 maps}]"},
    {"method": "GET", "path": "/api/neuron/{layer}/{index}",
     "summary": "neuron {index} of Dense layer {layer} (0 = the first hidden layer): incoming weights, shape, "
                "bias; 404 if there is no such neuron"},
    {"method": "GET", "path": "/api/digits",
     "summary": "a test digit and the model's forward pass on it",
     "query": "mode=random | index (&index=i) | class (&class=k) | mistakes; position=p picks the p-th digit "
              "of that set (wrapping), else a random one",
     "returns": "index, label, label_name, position, count, pixels (784 ints 0..255), correct, prediction"},
    {"method": "GET", "path": "/api/train", "summary": "the training state, the default settings and their limits"},
    {"method": "POST", "path": "/api/train",
     "summary": "start a training run (202); 409 while one is going",
     "body": '{"hidden": [128], "activation": "relu", "optimizer": "momentum", "learning_rate": 0.1, '
             '"epochs": 3, "batch_size": 64, "lr_schedule": "cosine", "train_size": 60000, "seed": 0} (all optional)'},
    {"method": "GET", "path": "/api/train/events",
     "summary": "server-sent events of the latest run (?run=id: 410 for an earlier one), from its start: start, "
                "progress (thinned on a long run), epoch, the latest weights, then done | stopped | error"},
    {"method": "POST", "path": "/api/train/stop", "summary": "stop the running training run after its current batch"},
    {"method": "POST", "path": "/api/train/pause", "summary": "pause the running run after its current minibatch"},
    {"method": "POST", "path": "/api/train/resume", "summary": "let a paused run go on"},
    {"method": "POST", "path": "/api/train/step", "summary": "let a paused run (or pause a running one and let it) "
                                                            "take n more minibatches", "body": '{"batches": n} (default 1)'},
    {"method": "POST", "path": "/api/train/learning_rate", "summary": "the running run's learning rate from its next "
                                                                     "minibatch on", "body": '{"learning_rate": eta}'},
    {"method": "GET", "path": "/api/runs",
     "summary": "the finished runs of this session, kept: settings, scores, verdict (healthy, flags with why), "
                "whether each network is still available, and which one is served"},
    {"method": "POST", "path": "/api/runs/{run}/use", "summary": "serve the network of a finished run (404 if not kept)"},
    {"method": "POST", "path": "/api/model/save",
     "summary": "save the served model to the file given to `nnet lab --save PATH` (409 without one)"},
    *table_routes.API,
    *learning_routes.API,
]


def create_app(
    model: Network | None = None,
    *,
    train_data=None,
    test_data=None,
    class_names=None,
    save_path=None,
    source: str | None = None,
    dataset: dict | None = None,
    command=None,
    train_on_start: bool = False,
    progress_seconds: float = PROGRESS_SECONDS,
    weights_seconds: float = WEIGHTS_SECONDS,
    allowed_hosts=LOCAL_HOSTS,
) -> Starlette:
    """Build the lab's web app around ``model``.

    Parameters
    ----------
    model : Network, optional
        The network to serve. None serves the default network ([784, 128, 10], relu, softmax)
        with random weights until a training run replaces it.
    train_data, test_data : (x, y), optional
        uint8 images (n, 784) and int labels (n,) for the Train and Browse views. Default: MNIST,
        loaded on first use. Tests pass a few hundred images to keep runs fast.
    class_names : list of str, optional
        The names of the outputs (default: the model's, else "0", "1", ...).
    save_path : path, optional
        Where ``POST /api/model/save`` writes the served model; chosen on the server only
        (``nnet lab --save PATH``). None disables saving.
    source : str, optional
        Where ``model`` came from, as the page shows it (e.g. its file name).
    dataset : dict, optional
        ``{"name", "path", "kind"}`` of the data, as ``nnet train`` writes them in a model's
        metadata, for the models trained in the lab (default: mnist, or "arrays given to
        create_app" when ``train_data`` is given). See :func:`nnet.runs.metadata`.
    command : list of str, optional
        The command that started the lab (``nnet lab ...``), kept in those models' metadata.
    train_on_start : bool
        Start a training run with the default settings when the app starts (``nnet lab`` with
        no model does this).
    progress_seconds, weights_seconds : float
        The most time between progress and weight-image events of a training run.
    allowed_hosts : iterable of str
        The host names requests may address (the Host header), against DNS rebinding: by
        default this machine's names (``LOCAL_HOSTS``); ``["*"]`` allows any. (Tests add
        TestClient's "testserver".)

    Returns
    -------
    starlette.applications.Starlette; ``app.state.lab`` is its :class:`~nnet.lab.state.Lab`.
    """
    lab = Lab(model, train_data=train_data, test_data=test_data, class_names=class_names, save_path=save_path,
              source=source, dataset=dataset, command=command, progress_seconds=progress_seconds,
              weights_seconds=weights_seconds)

    async def index(request: Request) -> Response:  # a table model gets its form (table_routes)
        return FileResponse(STATIC / ("table.html" if lab.table is not None else "index.html"), headers=PAGE_HEADERS)

    async def api_index(request: Request) -> Response:
        return _json({"routes": API, "docs": "the docstring of nnet.lab", "openapi": "/api/openapi.json",
                      "max_body_bytes": MAX_BODY_BYTES})

    async def api_document(request: Request) -> Response:
        return _json(openapi.DOCUMENT)

    async def model_info(request: Request) -> Response:
        return _json(lab.describe())  # no lock, no I/O: a few dicts

    async def predict(request: Request) -> Response:
        data = payloads.parse_json(await _read_body(request))
        return _json(await run_in_threadpool(lab.predict, data))

    async def feature_maps(request: Request) -> Response:
        data = payloads.parse_json(await _read_body(request))
        return _json(await run_in_threadpool(lab.feature_maps, data))

    async def neuron(request: Request) -> Response:
        served = lab.current()
        layer, index = (integer_text(request.path_params[key]) for key in ("layer", "index"))
        if layer is None or index is None or layer < 0 or index < 0:
            raise PayloadError("no such neuron: /api/neuron/{layer}/{index} takes two whole numbers, "
                               "such as /api/neuron/0/5", 404)
        try:
            body = explain.neuron(served.network, layer, index, INPUT_SHAPE)
        except IndexError as error:
            raise PayloadError(str(error), 404) from None
        return _json({"version": served.version, **body})

    async def digits(request: Request) -> Response:
        return _json(await run_in_threadpool(lab.digit, request.query_params))

    async def train_status(request: Request) -> Response:
        return _json(await run_in_threadpool(lab.training_status))

    async def train_start(request: Request) -> Response:
        data = payloads.parse_json(await _read_body(request))
        run = await run_in_threadpool(lab.start_run, data)
        return _json({"run": run.id, "state": run.state, "settings": run.settings,
                      "events": f"/api/train/events?run={run.id}"}, 202)

    async def train_stop(request: Request) -> Response:
        run = lab.stop_run()  # sets a flag; never waits
        return _json({"run": run.id, "state": "stopping"})

    def steer(action: str):
        async def handler(request: Request) -> Response:
            empty = request.headers.get("content-length") in (None, "0")
            body = b"" if empty or action in ("pause", "resume") else await _read_body(request)
            data = payloads.parse_json(body) if body.strip() else None
            return _json(lab.steer(action, data))  # sets a flag or a number; never waits
        return handler

    async def kept_runs(request: Request) -> Response:
        return _json({"runs": lab.shelf.summaries(), "served_run": lab.served_run, "version": lab.current().version})

    async def use_run(request: Request) -> Response:
        run = integer_text(request.path_params["run"])
        if run is None:
            raise PayloadError(f"no such run: {request.url.path} takes a run's number, such as /api/runs/1/use", 404)
        served = await run_in_threadpool(lab.use_run, run)
        return _json({"version": served.version, "source": served.source, "served_run": lab.served_run})

    async def train_events(request: Request) -> Response:
        run = lab.run(payloads.query_int(request.query_params, "run", 1, 2**31))
        last_id = last_event_id(request.headers.get("last-event-id"))
        final = run.events.final
        if final is not None and last_id >= final["id"]:
            return Response(status_code=204)  # a reconnect after the end: nothing more to say
        return StreamingResponse(_event_stream(run, last_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def save_model(request: Request) -> Response:
        try:
            return _json(await run_in_threadpool(lab.save))
        except OSError as error:  # a full disk, a folder gone: the model is still served, nothing lost
            reason = error.strerror or type(error).__name__
            raise PayloadError(f"cannot save to {lab.save_path}: {reason}; the served model is unchanged: "
                               f"make room (or fix the folder) and save again", 409) from None

    @asynccontextmanager
    async def lifespan(app):
        if train_on_start:
            await run_in_threadpool(lab.start_run, {})
        yield
        run = lab.latest_run()
        if run is not None and run.running:
            run.stop()

    routes = [
        Route("/", index),
        Route("/api", api_index),
        Route("/api/openapi.json", api_document),
        Route("/api/model", model_info),
        Route("/api/model/save", save_model, methods=["POST"]),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/feature-maps", feature_maps, methods=["POST"]),
        Route("/api/neuron/{layer}/{index}", neuron),
        Route("/api/digits", digits),
        Route("/api/train", train_status),
        Route("/api/train", train_start, methods=["POST"]),
        Route("/api/train/stop", train_stop, methods=["POST"]),
        *[Route(f"/api/train/{action}", steer(action), methods=["POST"]) for action in ("pause", "resume", "step",
                                                                                     "learning_rate")],
        Route("/api/runs", kept_runs),
        Route("/api/runs/{run}/use", use_run, methods=["POST"]),
        Route("/api/train/events", train_events),
        *table_routes.routes(lab, _read_body, _json),
        *learning_routes.routes(lab, _read_body, _json),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {PayloadError: _payload_error, NonFiniteError: _payload_error, HTTPException: _http_error,
                Exception: _server_error}
    middleware = [Middleware(_Guard, allowed_hosts=allowed_hosts)]
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan, middleware=middleware)
    app.state.lab = lab
    return app


# -- HTTP details ---------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The JSON request body, refusing (413) one over ``limit`` bytes before reading it all, and
    (415) one not sent as JSON."""
    declared = request.headers.get("content-length")
    if declared is not None:
        length = integer_text(declared)
        if length is None or length < 0:
            shown = declared if len(declared) <= 40 else f"{declared[:35]}..."
            raise PayloadError(f"Content-Length must be a number of bytes; got {shown!r}", 400)
        if length > limit:
            raise PayloadError(f"the body is {length:,} bytes; the limit is {limit:,}", 413)
    kind = request.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() != "application/json":
        raise PayloadError(f"send the body as JSON, with Content-Type: application/json; got {_shown(kind or 'none')}", 415)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(f"the body is over the limit of {limit:,} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _json(data, status: int = 200) -> Response:
    return Response(json.dumps(data, allow_nan=False, separators=(",", ":")), status, media_type="application/json")


async def _event_stream(run: TrainingRun, last_id: int):
    """Server-sent events: the run's events after id ``last_id`` (all it keeps, for -1), then each
    new one as it comes, until the final one."""
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        events = run.events.after(last_id)
        for event in events:
            data = json.dumps(explain.finite(event), allow_nan=False, separators=(",", ":"))
            yield f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"
            if event["type"] in FINAL_EVENTS:
                return
        if events:
            last_id = events[-1]["id"]
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


class _Guard:
    """ASGI middleware against web pages elsewhere that target a lab on this machine: refuses a
    Host header that is not one of ``allowed_hosts`` (DNS rebinding, 400) and a POST whose Origin
    is not the lab's own (a cross-site request, 403). ``"*"`` in ``allowed_hosts`` allows any host."""

    def __init__(self, app, allowed_hosts):
        self.app = app
        self.allowed = {host.lower() for host in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                await _json({"error": problem[1]}, problem[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope) -> tuple[int, str] | None:
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        host = headers.get("host", "")
        name = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":")[0]
        if "*" not in self.allowed and name.lower() not in self.allowed:
            return 400, f"the lab answers requests for {', '.join(sorted(self.allowed))}; got Host {_shown(host)}"
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD") and origin and origin.split("://", 1)[-1] != host:
            return 403, f"cross-site request refused: Origin {_shown(origin)} is not this lab ({_shown(host)})"
        return None


def _shown(text: str, limit: int = 80) -> str:
    """A client's text (a path, a header) for a message: its repr, cut to ``limit`` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 5]}...{shown[-2:]}"


async def _payload_error(request: Request, error: PayloadError | NonFiniteError) -> Response:
    return _json({"error": str(error)}, getattr(error, "status", 422))


async def _http_error(request: Request, error: HTTPException) -> Response:
    path = _shown(request.url.path)
    message = {404: f"no such page or API route: {path} (GET /api lists the routes)",
               405: f"{_shown(request.method)} is not allowed on {path} (GET /api lists the routes)"}
    return _json({"error": message.get(error.status_code, str(error.detail))}, error.status_code)


async def _server_error(request: Request, error: Exception) -> Response:
    logger.exception("error serving %s %s", request.method, request.url.path)
    return _json({"error": f"internal error: {type(error).__name__}: {error}"}, 500)
