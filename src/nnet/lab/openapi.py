"""The lab's JSON API as an OpenAPI 3.1 document, served at ``GET /api/openapi.json``.

It is the contract of :mod:`nnet.lab.app`: every route, what it takes (bodies as JSON Schema, path
and query parameters, the ``Last-Event-ID`` header) and every status it may answer, errors always
as ``{"error": "..."}``. tests/test_lab_openapi.py holds the app to it with schemathesis: for any
request the document allows (and many it does not), the lab answers with a status listed here and
never with a 5xx. The prose is in :mod:`nnet.lab`'s docstring; the limits are those of
:mod:`nnet.lab.payloads` and :mod:`nnet.limits`, read from there.
"""

from __future__ import annotations

from nnet import activations, initializers, limits, losses, optimizers, schedules
from nnet._version import __version__

from .payloads import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_HIDDEN_LAYERS, MAX_HIDDEN_SIZE, MAX_LEARNING_RATE
from .payloads import TRAINABLE_ACTIVATIONS
from .learning_api import openapi_paths as _learning_paths
from .payloads import MAX_STEP_BATCHES
from .table_routes import openapi_paths as _table_paths

_ERROR = {"$ref": "#/components/schemas/Error"}
_OBJECT = {"type": "object"}


def _responses(ok: int | None, schema=None, *errors: int, media: str = "application/json") -> dict:
    """The responses of a route: ``ok`` with ``schema``, then each error status (and 400, which
    any request for another host name gets)."""
    text = {200: "OK", 202: "started", 204: "nothing more to send", 400: "not JSON, or a bad header or host",
            403: "a cross-site request", 404: "no such thing", 409: "not now (a run is going, none to stop, no --save)",
            410: "an earlier run's events, no longer kept", 413: "the body is too large",
            415: "the body is not sent as JSON", 422: "a field of the wrong type, shape or range"}
    answers = {}
    if ok is not None:
        answers[str(ok)] = {"description": text[ok], **({"content": {media: {"schema": schema}}} if schema else {})}
    for status in sorted({400, *errors}):
        answers[str(status)] = {"description": text[status], "content": {"application/json": {"schema": _ERROR}}}
    return answers


_POSTED = (403, 413, 415)  # what any POST with a body may get

_DRAWING = {
    "oneOf": [
        {"type": "object", "required": ["width", "height", "pixels"], "additionalProperties": False,
         "properties": {"width": {"type": "integer", "minimum": 1, "maximum": limits.MAX_SIDE},
                        "height": {"type": "integer", "minimum": 1, "maximum": limits.MAX_SIDE},
                        "channels": {"type": "integer", "minimum": 1, "maximum": 4},
                        "pixels": {"type": "string", "contentEncoding": "base64",
                                   "description": "width*height*channels bytes, 0 = black"}}},
        {"type": "object", "required": ["image"], "additionalProperties": False,
         "properties": {"image": {"type": "string", "description": "a data URL or bare base64 of a PNG, JPEG, ..."}}},
        {"type": "object", "required": ["input"], "additionalProperties": False,
         "properties": {"input": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                                  "description": "as many numbers as the model has inputs (784)"}}},
    ]
}

_SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "description": f"every key optional; together at most {limits.MAX_TRAINING_WORK:.0e} multiply-adds "
                   "(nnet.limits.training_work), else 422",
    "properties": {
        "hidden": {"type": "array", "maxItems": MAX_HIDDEN_LAYERS,
                   "items": {"type": "integer", "minimum": 1, "maximum": MAX_HIDDEN_SIZE}},
        "activation": {"enum": list(TRAINABLE_ACTIVATIONS)},
        "output": {"enum": list(activations.ACTIVATIONS)},
        "cost": {"enum": list(losses.COSTS), "description": "cross_entropy needs a softmax or sigmoid output, else 422"},
        "init": {"enum": ["auto", *initializers.INITIALIZERS]},
        "continue": {"type": "boolean", "description": "go on training (a copy of) the served model"},
        "optimizer": {"enum": list(optimizers.OPTIMIZERS)},
        "learning_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE},
        "epochs": {"type": "integer", "minimum": 1, "maximum": MAX_EPOCHS},
        "batch_size": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE},
        "lr_schedule": {"enum": list(schedules.SCHEDULES)},
        "train_size": {"type": "integer", "minimum": 1, "description": "at most the training images there are"},
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**32 - 1},
    },
}

_LAYERS = {"type": "array", "items": {"type": "object", "required": ["index", "name", "size", "activation"]}}
_FORWARD = {"type": "object", "required": ["input", "layers", "probabilities", "prediction", "label"],
            "properties": {"input": {"type": "array", "items": {"type": "number"}},
                           "layers": _LAYERS, "probabilities": {"type": "array", "items": {"type": "number"}},
                           "prediction": {"type": "integer"}, "label": {"type": "string"}}}

_EVENT = {"type": "object", "required": ["id", "event", "data"],
          "description": "one server-sent event; its data is a JSON object with the same id and type",
          "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"},
                         "event": {"enum": ["start", "progress", "epoch", "weights", "done", "stopped", "error"]},
                         "data": {"type": "string", "contentMediaType": "application/json"}}}


def _integer_in(name: str, where: str, low: int | None = None, required: bool = False, text: str = "") -> dict:
    schema = {"type": "integer"} if low is None else {"type": "integer", "minimum": low}
    return {"name": name, "in": where, "required": required, "schema": schema, "description": text}


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "nnet lab", "version": __version__,
             "description": "The web lab's JSON API, on 127.0.0.1 only. Errors are {\"error\": \"...\"} with a 4xx "
                            "status. See the docstring of nnet.lab."},
    "servers": [{"url": "/"}],
    "components": {"schemas": {"Error": {"type": "object", "required": ["error"],
                                         "properties": {"error": {"type": "string"}}}}},
    "paths": {
        "/api": {"get": {"summary": "the routes", "operationId": "routes", "responses": _responses(200, _OBJECT)}},
        "/api/openapi.json": {"get": {"summary": "this document", "operationId": "openapi",
                                      "responses": _responses(200, _OBJECT)}},
        "/api/model": {"get": {
            "summary": "the served model: version, source, input, layers, classes, cost, summary",
            "operationId": "model",
            "responses": _responses(200, {"type": "object", "required": ["version", "layers", "classes", "cost"],
                                          "properties": {"version": {"type": "integer"}, "layers": _LAYERS,
                                                         "classes": {"type": "array", "items": {"type": "string"}}}}),
        }},
        "/api/model/save": {"post": {
            "summary": "save the served model to the file given to `nnet lab --save PATH`",
            "operationId": "save",
            "responses": _responses(200, {"type": "object", "required": ["saved", "version"]}, 403, 409),
        }},
        "/api/predict": {"post": {
            "summary": "one drawing through the network, preprocessed as `nnet predict` does",
            "operationId": "predict",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _DRAWING}}},
            "responses": _responses(200, {"allOf": [_FORWARD, {"required": ["version", "ms"]}]}, *_POSTED, 409, 422),
        }},
        "/api/feature-maps": {"post": {
            "summary": "one drawing through a convolutional network's feature maps",
            "operationId": "feature_maps",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _DRAWING}}},
            "responses": _responses(200, {"type": "object", "required": ["version", "layers"],
                                          "properties": {"layers": {"type": "array", "items": {
                                              "type": "object", "required": ["index", "shape", "maps", "data"]}}}},
                                    *_POSTED, 409, 422),
        }},
        "/api/neuron/{layer}/{index}": {"get": {
            "summary": "neuron {index} of layer {layer}: its incoming weights and bias",
            "operationId": "neuron",
            "parameters": [_integer_in("layer", "path", 0, True, "0 = the first hidden layer"),
                           _integer_in("index", "path", 0, True)],
            "responses": _responses(200, {"type": "object", "required": ["layer", "index", "weights", "bias"]}, 404),
        }},
        "/api/digits": {"get": {
            "summary": "a test digit and the model's forward pass on it",
            "operationId": "digits",
            "parameters": [{"name": "mode", "in": "query", "required": False,
                            "schema": {"enum": ["random", "index", "class", "mistakes"]}},
                           _integer_in("index", "query", 0), _integer_in("class", "query", 0),
                           _integer_in("position", "query")],
            "responses": _responses(200, {"type": "object", "required": ["index", "label", "pixels", "prediction"],
                                          "properties": {"prediction": _FORWARD}}, 404, 409, 422),
        }},
        "/api/train": {
            "get": {"summary": "the training state, the default settings and their limits", "operationId": "training",
                    "responses": _responses(200, {"type": "object", "required": ["state", "defaults", "limits"]})},
            "post": {"summary": "start a training run", "operationId": "train",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _SETTINGS}}},
                     "responses": _responses(202, {"type": "object", "required": ["run", "events"]},
                                             *_POSTED, 409, 422)},
        },
        "/api/train/events": {"get": {
            "summary": "server-sent events of the latest run: start, progress, epoch, weights, then done, stopped or error",
            "operationId": "events",
            "parameters": [_integer_in("run", "query", 1),
                           {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"},
                            "description": "the id of the last event seen; anything else counts as none"}],
            "responses": {**_responses(200, _EVENT, 404, 410, 422, media="text/event-stream"),
                          "204": {"description": "the run is over and the client has seen its last event"}},
        }},
        "/api/train/stop": {"post": {
            "summary": "stop the running training run after its current batch", "operationId": "stop",
            "responses": _responses(200, {"type": "object", "required": ["run", "state"]}, 403, 409),
        }},
        **{f"/api/train/{action}": {"post": {
            "summary": summary, "operationId": f"train_{action}",
            **({"requestBody": {"required": action == "learning_rate", "content": {"application/json": {"schema": body}}}}
               if body else {}),
            "responses": _responses(200, {"type": "object", "required": ["run", "paused", "learning_rate"]},
                                    *(_POSTED if body else (403,)), 409, *((422,) if body else ())),
        }} for action, summary, body in (
            ("pause", "hold the running run after its current minibatch", None),
            ("resume", "let a paused run go on", None),
            ("step", "let n more minibatches through, then hold", {"type": "object", "additionalProperties": False,
                "properties": {"batches": {"type": "integer", "minimum": 1, "maximum": MAX_STEP_BATCHES}}}),
            ("learning_rate", "the run's learning rate from its next minibatch on", {
                "type": "object", "required": ["learning_rate"], "additionalProperties": False,
                "properties": {"learning_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE}}}),
        )},
        "/api/runs": {"get": {
            "summary": "the finished runs of this session, kept, with their verdicts", "operationId": "runs",
            "responses": _responses(200, {"type": "object", "required": ["runs", "served_run", "version"]}),
        }},
        "/api/runs/{run}/use": {"post": {
            "summary": "serve the network of a finished run", "operationId": "use_run",
            "parameters": [{"name": "run", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": _responses(200, {"type": "object", "required": ["version", "source", "served_run"]}, 403, 404),
        }},
        **_learning_paths(_responses, _POSTED, _DRAWING),
        **_table_paths(_responses, _POSTED, _FORWARD),
    },
}
