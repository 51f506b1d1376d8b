"""The Teach and look-inside routes (:mod:`nnet.lab.learning_routes`) as ``GET /api`` lists them
and as the OpenAPI document (:mod:`nnet.lab.openapi`) describes them: what each takes, what it
answers, and every status it may give."""

from __future__ import annotations

from . import maps, teach

#: The most examples one minibatch request may name, and the most neurons one backprop may ask for.
MAX_EXAMPLES = 20
MAX_NEURONS = 8
#: The largest learning rate a Teach step takes (the lessons' network learns at 3).
MAX_STEP_RATE = 100.0

#: These routes, as ``GET /api`` lists them.
API = [
    {"method": "POST", "path": "/api/backprop",
     "summary": "one example through the sandbox and back: cost, target, output, per layer z, a, delta (dC/dz) and "
                "nudge (the desired change of each activation), and the incoming weights' gradient of the neurons asked for",
     "body": 'a drawing as /api/predict takes it, or {"digit": i} (a test digit; "set": "train" for a training one); '
             '"label": the answer it should give (by default a digit\'s own label); "neurons": [[layer, index], ...]'},
    {"method": "POST", "path": "/api/backprop/step",
     "summary": "one step of gradient descent (w <- w - learning_rate * dC/dw) on the sandbox; returns the outputs and "
                "costs before and after",
     "body": 'the example(s) as /api/backprop or /api/backprop/batch take them, and "learning_rate"'},
    {"method": "POST", "path": "/api/backprop/batch",
     "summary": "each example's desired change of one neuron's incoming weights (-dC_x/dw) and their average, "
                "the negative gradient",
     "body": '{"examples": [{"set": "train"|"test", "index": i}, ...]} or {"count": 10, "seed": s} (random training '
             'digits); "layer" (0), "neuron" (left out: the one the examples most want changed)'},
    {"method": "GET", "path": "/api/sandbox", "summary": "the sandbox: version, based_on (the served version), steps, "
                                                         "edits, undo (what can be undone, latest first)"},
    {"method": "POST", "path": "/api/sandbox/weight",
     "summary": "set one weight of the sandbox",
     "body": '{"layer", "neuron", "source": the neuron of the layer below (null: the bias), "value"}'},
    {"method": "POST", "path": "/api/sandbox/undo", "summary": "take back the sandbox's last step or edit (409 if none)"},
    {"method": "POST", "path": "/api/sandbox/reset", "summary": "start the sandbox again from the served model"},
    {"method": "GET", "path": "/api/links/{layer}",
     "summary": "a small layer's weights and biases (at most 32 neurons a side), to draw its connections",
     "query": "model=served|sandbox"},
    {"method": "GET", "path": "/api/health",
     "summary": "the verdict (healthy, flags with why: diverged, dead, saturated, guessing) and per layer dead and "
                "saturated neurons, gradient size, histograms of weights, activations, gradients (1,000 test digits)",
     "query": "model=served|sandbox"},
    {"method": "GET", "path": "/api/map",
     "summary": "the test digits placed in 2-D by a layer's activations (PCA; t-SNE with scikit-learn), with labels "
                "and the share lying closest to their own class's centre",
     "query": "layer=l (-1: the pixels), count=n, method=pca|tsne, model=served|sandbox"},
    {"method": "GET", "path": "/api/neuron/{layer}/{index}/top",
     "summary": "the test digits that excite a neuron most", "query": "count=n, model=served|sandbox"},
    {"method": "GET", "path": "/api/calibration",
     "summary": "how sure against how right on the test digits, by bin, and how many it answers at each "
                "'I don't know' threshold", "query": "model=served|sandbox"},
]



_EXAMPLE = {"type": "object", "additionalProperties": False, "required": ["index"],
            "properties": {"set": {"enum": ["train", "test"]}, "index": {"type": "integer", "minimum": 0}}}
_DIGIT = {"digit": {"type": "integer", "minimum": 0, "description": "a test digit (or a training one, with set)"},
          "set": {"enum": ["train", "test"]}}
_LABEL = {"label": {"type": "integer", "minimum": 0, "description": "the answer it should give"}}
_NEURONS = {"neurons": {"type": "array", "maxItems": MAX_NEURONS,
                        "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "integer"}}}}
_MODEL = {"name": "model", "in": "query", "required": False, "schema": {"enum": ["served", "sandbox"]}}
_SANDBOX = {"type": "object", "required": ["version", "based_on", "steps", "edits", "undo"]}


def _one_example(drawing: dict, extra: dict) -> dict:
    """A body naming one example: a drawing (each form /api/predict takes) or a digit, with ``extra``."""
    drawings = [{**form, "properties": {**form["properties"], **extra}} for form in drawing["oneOf"]]
    return {"oneOf": [*drawings, {"type": "object", "additionalProperties": False, "required": ["digit"],
                                  "properties": {**_DIGIT, **extra}}]}


def _path(name: str, text: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": text}


def openapi_paths(responses, posted, drawing) -> dict:
    """These routes for the OpenAPI document (:mod:`nnet.lab.openapi` gives its helpers)."""
    rate = {"learning_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_STEP_RATE}}
    many = {"examples": {"type": "array", "minItems": 1, "maxItems": MAX_EXAMPLES, "items": _EXAMPLE},
            "count": {"type": "integer", "minimum": 1, "maximum": MAX_EXAMPLES},
            "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**32 - 1}}
    neuron = {"layer": {"type": "integer", "minimum": 0}, "neuron": {"type": "integer", "minimum": 0}}
    body = lambda schema: {"required": True, "content": {"application/json": {"schema": schema}}}  # noqa: E731
    looked = lambda summary, ident, required, *extra: {"get": {  # noqa: E731
        "summary": summary, "operationId": ident, "parameters": [_MODEL, *extra],
        "responses": responses(200, {"type": "object", "required": ["model", "version", *required]}, 404, 409, 422)}}
    return {
        "/api/backprop": {"post": {
            "summary": "one example through the sandbox and back", "operationId": "backprop",
            "requestBody": body(_one_example(drawing, {**_LABEL, **_NEURONS})),
            "responses": responses(200, {"type": "object", "required": ["sandbox", "cost", "target", "output", "layers",
                                                                        "gradients"]}, *posted, 404, 409, 422)}},
        "/api/backprop/step": {"post": {
            "summary": "one step of gradient descent on the sandbox", "operationId": "backprop_step",
            "requestBody": body({"oneOf": [_one_example(drawing, {**_LABEL, **rate}),
                                           {"type": "object", "required": ["learning_rate"],
                                            "additionalProperties": False, "properties": {**many, **rate}}]}),
            "responses": responses(200, {"allOf": [_SANDBOX, {"required": ["before", "after", "cost_before",
                                                                           "cost_after"]}]}, *posted, 409, 422)}},
        "/api/backprop/batch": {"post": {
            "summary": "each example's desired change of a neuron's incoming weights, and their average",
            "operationId": "backprop_batch",
            "requestBody": body({"type": "object", "properties": {**many, **neuron}}),
            "responses": responses(200, {"type": "object", "required": ["examples", "average", "shape", "layer", "index"]},
                                   *posted, 404, 409, 422)}},
        "/api/sandbox": {"get": {"summary": "the sandbox's state", "operationId": "sandbox",
                                 "responses": responses(200, _SANDBOX)}},
        "/api/sandbox/weight": {"post": {
            "summary": "set one weight (or bias) of the sandbox", "operationId": "sandbox_weight",
            "requestBody": body({"type": "object", "required": ["layer", "neuron", "value"],
                                 "properties": {**neuron, "source": {"type": ["integer", "null"], "minimum": 0},
                                                "value": {"type": "number", "minimum": -teach.MAX_EDIT,
                                                          "maximum": teach.MAX_EDIT}}}),
            "responses": responses(200, {"allOf": [_SANDBOX, {"required": ["old", "new"]}]}, *posted, 404, 409, 422)}},
        "/api/sandbox/undo": {"post": {"summary": "take back the sandbox's last step or edit",
                                       "operationId": "sandbox_undo", "responses": responses(200, _SANDBOX, 403, 409)}},
        "/api/sandbox/reset": {"post": {"summary": "start the sandbox again from the served model",
                                        "operationId": "sandbox_reset", "responses": responses(200, _SANDBOX, 403)}},
        "/api/links/{layer}": looked("a small layer's weights and biases, to draw its connections", "links",
                                     ["weights", "biases"], _path("layer", "0 = the first hidden layer")),
        "/api/health": looked("the network's health: flags, dead and saturated neurons, histograms", "health",
                              ["healthy", "flags", "layers"]),
        "/api/map": looked("the test digits placed in 2-D by a layer's activations", "map",
                           ["points", "labels", "separation"],
                           {"name": "layer", "in": "query", "required": False, "schema": {"type": "integer",
                                                                                          "minimum": -1}},
                           {"name": "count", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 2, "maximum": maps.MAX_MAP}},
                           {"name": "method", "in": "query", "required": False, "schema": {"enum": ["pca", "tsne"]}}),
        "/api/neuron/{layer}/{index}/top": looked(
            "the test digits that excite a neuron most", "top_digits", ["indices", "activations", "pixels"],
            _path("layer"), _path("index"),
            {"name": "count", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": maps.MAX_TOP}}),
        "/api/calibration": looked("how sure against how right on the test digits", "calibration",
                                   ["bins", "thresholds", "expected_error"]),
    }
