"""The lab, given a table model: a form with one field per feature, and a row's forward pass.

A table model (trained with ``nnet train --target``, or an estimator's ``network_`` saved)
carries its preprocessing (:class:`nnet.preprocessing.Preprocessing`). The lab then serves the
page ``static/table.html`` (the form and the layers lit by the row) instead of the drawing
board, and these routes (409 for a model of images):

    GET  /api/table           the form: one field per feature, in order. A number:
                              {"name", "kind": "number", "median", "mean", "scale"}, the median
                              the value a missing cell gets. Text: {"name", "kind": "text",
                              "categories", "default"}, the default the most frequent category.
    POST /api/table/predict   {"row": {"feature": value, ...}}: a number (or a numeric string),
                              a category, or null (missing: filled as in training); features left
                              out are missing too. Returns the forward pass as /api/predict does
                              (every layer's z and a; probabilities and the answer, or a
                              regression's ``values`` in the target's units), the ``inputs``
                              the row became, and ``unseen``: the text features whose category
                              the training rows never held (encoded as all zeros).
"""

from __future__ import annotations

import math
import time

import numpy as np

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.routing import Route
except ImportError as missing:  # pragma: no cover - app.py says how to install the lab
    raise ImportError(f'the nnet lab needs Starlette ({missing}); install it with: pip install "nnet[lab]"') from missing

from nnet.preprocessing import Preprocessing
from nnet.tables import Column, Table
from nnet.tables.columns import number_text  # a number sent for a text feature reads as a CSV cell would

from . import explain, payloads
from .payloads import PayloadError

#: The longest text a client may send for one cell.
MAX_CELL_CHARS = 200

#: These routes, as ``GET /api`` lists them.
API = [
    {"method": "GET", "path": "/api/table",
     "summary": "a table model's form: one field per feature (number: median, mean, scale; text: categories, "
                "default), the task, and the classes or targets; 409 for a model of images"},
    {"method": "POST", "path": "/api/table/predict",
     "summary": "one row of a table through the network: every layer's z and a, and the answer",
     "body": '{"row": {"feature": number | "category" | null, ...}} (missing features are filled as in training)',
     "returns": "version, inputs, unseen, input, layers, probabilities, prediction, label (regression: values, "
                "targets), ms"},
]

_ROW = {"type": "object", "required": ["row"], "additionalProperties": False,
        "properties": {"row": {"type": "object", "additionalProperties": {
            "anyOf": [{"type": "number"}, {"type": "string", "maxLength": MAX_CELL_CHARS}, {"type": "null"}]}}}}


def openapi_paths(responses, posted, forward) -> dict:
    """These routes for the OpenAPI document (:mod:`nnet.lab.openapi` gives its helpers)."""
    return {
        "/api/table": {"get": {
            "summary": "a table model's form, one field per feature", "operationId": "table_form",
            "responses": responses(200, {"type": "object", "required": ["features", "task"]}, 409),
        }},
        "/api/table/predict": {"post": {
            "summary": "one row of a table through the network", "operationId": "table_predict",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ROW}}},
            "responses": responses(200, {"type": "object", "required": ["version", "inputs", "unseen", "layers"],
                                         "properties": {"layers": forward["properties"]["layers"]}},
                                   *posted, 409, 422),
        }},
    }


def table_of(network) -> Preprocessing | None:
    """The network's table preprocessing, or None for a model that takes no table. Raises
    ValueError for a description that cannot be read."""
    description = (network.metadata or {}).get("preprocessing")
    return None if description is None else Preprocessing.from_description(description)


def form(preprocessing: Preprocessing, network, classes: list[str]) -> dict:
    """``GET /api/table``: the features, in order, and what the model answers."""
    features = []
    for column in preprocessing.columns:
        if column["kind"] == "number":
            features.append({"name": column["name"], "kind": "number", "median": column["fill"],
                             "mean": column["mean"], "scale": column["scale"]})
        else:
            features.append({"name": column["name"], "kind": "text", "categories": list(column["categories"]),
                             "default": column["fill"]})
    answers = {"targets": classes} if network.task == "regression" else {"classes": classes}
    return {"features": features, "task": network.task, "inputs": preprocessing.input_names, **answers}


def row_table(preprocessing: Preprocessing, data) -> tuple[Table, list[str]]:
    """The request's row as a one-row Table of the model's feature columns, and the text features
    whose category the training rows never held. Raises PayloadError (422) naming the field."""
    if not isinstance(data, dict) or not isinstance(data.get("row"), dict) or set(data) != {"row"}:
        raise PayloadError('send {"row": {"feature": value, ...}}, one value per feature of the model')
    row = data["row"]
    names = [column["name"] for column in preprocessing.columns]
    unknown = [name for name in row if name not in names]
    if unknown:
        raise PayloadError(f"the model has no feature {payloads._shown(unknown[0])}; its features are {', '.join(names)}")
    columns, unseen = [], []
    for spec in preprocessing.columns:
        value = row.get(spec["name"])
        if spec["kind"] == "number":
            columns.append(Column(spec["name"], "number", np.array([_number(spec["name"], value)])))
            continue
        if value is not None and not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise PayloadError(f"feature {spec['name']!r} takes a category (text) or null; got {payloads._kind(value)}")
        text = None if value is None else str(value).strip() if isinstance(value, str) else number_text(value)
        if text is not None and len(text) > MAX_CELL_CHARS:
            raise PayloadError(f"feature {spec['name']!r}: at most {MAX_CELL_CHARS} characters; got {len(text)}")
        if text and text not in spec["categories"]:
            unseen.append(spec["name"])
        columns.append(Column(spec["name"], "text", np.array([0 if text else -1], np.int32), [text] if text else []))
    return Table(columns, "the row"), unseen


def _number(name: str, value) -> float:
    """A number cell: a finite number, a string that reads as one, or null / "" (missing: NaN)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise PayloadError(f"feature {name!r} takes a number or null; got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PayloadError(f"feature {name!r} takes a number or null; got {payloads._shown(value)}") from None
    if not math.isfinite(number):
        raise PayloadError(f"feature {name!r} takes a finite number; got {payloads._shown(value)}")
    return number


def routes(lab, read_body, respond) -> list[Route]:
    """The routes, for :func:`nnet.lab.create_app`: ``read_body(request)`` reads a checked JSON
    body, ``respond(data)`` writes the JSON response."""

    def table() -> Preprocessing:
        if lab.table is None:
            raise PayloadError("this lab serves a model of images: draw on the page, or POST /api/predict", 409)
        return lab.table

    async def table_form(request: Request) -> object:
        served = lab.current()
        return respond(form(table(), served.network, served.classes))

    def predict(data) -> dict:
        started = time.perf_counter()
        preprocessing, served = table(), lab.current()
        rows, unseen = row_table(preprocessing, data)
        x = preprocessing.inputs(rows, served.network.dtype)
        values = preprocessing.values if preprocessing.target is not None else None
        result = explain.forward_pass(served.network, x[0], served.classes, values=values)
        return {"version": served.version, "inputs": explain.rounded(x[0], 6), "unseen": unseen, **result,
                "ms": round((time.perf_counter() - started) * 1000, 3)}

    async def table_predict(request: Request) -> object:
        data = payloads.parse_json(await read_body(request))
        return respond(await run_in_threadpool(predict, data))

    return [Route("/api/table", table_form), Route("/api/table/predict", table_predict, methods=["POST"])]
