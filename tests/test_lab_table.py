"""The lab given a table model (issue 10): the form (GET /api/table), a row's forward pass (POST
/api/table/predict) against the model's own preprocessing and forward pass, the refusals of what
only an image model does, and the page in headless Chromium."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import nnet  # noqa: E402
from nnet.lab import API, create_app  # noqa: E402
from nnet.lab.app import LOCAL_HOSTS  # noqa: E402
from nnet.preprocessing import Preprocessing  # noqa: E402
from nnet.tables import Column, Table  # noqa: E402

TEST_HOSTS = [*LOCAL_HOSTS, "testserver"]


def table_model(task: str = "classification") -> nnet.Network:
    """A small trained table model, its preprocessing in its metadata, as `nnet train` saves it."""
    rng = np.random.default_rng(0)
    n = 200
    size = rng.normal(10, 3, n)
    size[::13] = np.nan
    colour = rng.integers(0, 3, n).astype(np.int32)
    table = Table([Column("size", "number", size), Column("colour", "text", colour, ["blue", "green", "red"])])
    big = np.nan_to_num(size, nan=10.0) + 2 * (colour == 2) > 11
    targets = None if task == "classification" else 100.0 + 5 * np.nan_to_num(size, nan=10.0)
    preprocessing = Preprocessing.learn(table, targets, ["price"])
    x = preprocessing.inputs(table)
    if task == "classification":
        net = nnet.Network([4, 8, 2], activation="relu", output="softmax", cost="cross_entropy", seed=0)
        net.fit(x, big.astype(int), epochs=30, batch_size=20, optimizer="adam", learning_rate=0.01, seed=0)
        answers = {"classes": ["small", "big"]}
    else:
        net = nnet.Network([4, 8, 1], activation="relu", output="identity", seed=0)
        net.fit(x, preprocessing.targets(targets), epochs=30, batch_size=20, optimizer="adam", learning_rate=0.01, seed=0)
        answers = {"targets": ["price"]}
    net.metadata = {"preprocessing": preprocessing.describe(), **answers,
                    "input": {"shape": [4], "preprocessing": "table", "features": preprocessing.input_names}}
    return net


@pytest.fixture(scope="module")
def classifier():
    return table_model()


def client(network) -> TestClient:
    return TestClient(create_app(network, allowed_hosts=TEST_HOSTS))


def test_the_form_has_one_field_per_feature(classifier):
    lab = client(classifier)
    form = lab.get("/api/table").json()
    preprocessing = Preprocessing.from_description(classifier.metadata["preprocessing"])
    size, colour = form["features"]
    assert size == {"name": "size", "kind": "number", "median": preprocessing.columns[0]["fill"],
                    "mean": preprocessing.columns[0]["mean"], "scale": preprocessing.columns[0]["scale"]}
    assert colour["kind"] == "text" and colour["categories"] == ["blue", "green", "red"]
    assert colour["default"] == preprocessing.columns[1]["fill"]
    assert form["classes"] == ["small", "big"] and form["task"] == "classification"
    page = lab.get("/")
    assert page.status_code == 200 and "/static/table.js" in page.text  # the form page, not the drawing board
    assert lab.get("/static/table.js").status_code == 200 and lab.get("/static/table.css").status_code == 200
    assert lab.get("/api/model").json()["input"] == {"size": 4, "shape": [4]}


@pytest.mark.parametrize("row", [{"size": 14.5, "colour": "red"}, {"size": "7", "colour": "blue"},
                                 {"size": None}, {}, {"colour": "purple", "size": 11}])
def test_a_row_goes_through_the_network_as_the_model_preprocesses_it(classifier, row):
    result = client(classifier).post("/api/table/predict", json={"row": row}).json()
    preprocessing = Preprocessing.from_description(classifier.metadata["preprocessing"])
    size = np.nan if row.get("size") is None else float(row["size"])
    colour = row.get("colour")
    categories = [colour] if colour else []
    table = Table([Column("size", "number", np.array([size])),
                   Column("colour", "text", np.array([0 if colour else -1], np.int32), categories)])
    x = preprocessing.inputs(table)
    np.testing.assert_allclose(result["inputs"], x[0], atol=1e-5)
    trace = classifier.forward(x, record=True)
    for layer, z, a in zip(result["layers"], trace.zs, trace.activations[1:]):
        np.testing.assert_allclose(layer["z"], z[0], atol=1e-3)
        np.testing.assert_allclose(layer["a"], a[0], atol=1e-3)
    np.testing.assert_allclose(result["probabilities"], trace.output[0], atol=1e-5)
    assert result["label"] == ["small", "big"][int(trace.output[0].argmax())]
    assert result["unseen"] == (["colour"] if colour == "purple" else [])


def test_a_regression_row_answers_in_the_targets_units():
    network = table_model("regression")
    lab = client(network)
    form = lab.get("/api/table").json()
    assert form["task"] == "regression" and form["targets"] == ["price"] and "classes" not in form
    result = lab.post("/api/table/predict", json={"row": {"size": 12, "colour": "green"}}).json()
    preprocessing = Preprocessing.from_description(network.metadata["preprocessing"])
    table = Table([Column("size", "number", np.array([12.0])), Column("colour", "text", np.array([0], np.int32), ["green"])])
    expected = preprocessing.values(network.forward(preprocessing.inputs(table)).astype(np.float64))
    assert result["targets"] == ["price"] and "probabilities" not in result
    np.testing.assert_allclose(result["values"], expected, rtol=1e-5)
    assert 130 < result["values"][0] < 190  # about 100 + 5 * 12, in the target's units


@pytest.mark.parametrize(("body", "message"), [
    ({"row": {"weight": 3}}, "the model has no feature \"weight\"; its features are size, colour"),
    ({"row": {"size": "big"}}, "feature 'size' takes a number or null; got \"big\""),
    ({"row": {"size": "inf"}}, "feature 'size' takes a finite number"),
    ({"row": {"colour": ["red"]}}, "feature 'colour' takes a category (text) or null"),
    ({"row": {"colour": "x" * 201}}, "at most 200 characters"),
    ({"size": 3}, 'send {"row": {"feature": value, ...}}'),
])
def test_a_bad_row_is_a_422_naming_the_field(classifier, body, message):
    response = client(classifier).post("/api/table/predict", json=body)
    assert response.status_code == 422 and message in response.json()["error"]


def test_what_only_an_image_model_does_is_refused_for_a_table_and_the_reverse(classifier):
    lab = client(classifier)
    for method, path, body in (("get", "/api/digits", None), ("post", "/api/predict", {"input": [0.0] * 4}),
                               ("post", "/api/train", {})):
        response = getattr(lab, method)(path, **({"json": body} if body is not None else {}))
        assert response.status_code == 409 and "table model" in response.json()["error"], path
    images = client(nnet.Network([784, 10], seed=0))
    assert images.get("/api/table").status_code == 409
    assert images.post("/api/table/predict", json={"row": {}}).status_code == 409
    assert "/static/table.js" not in images.get("/").text
    assert {("GET", "/api/table"), ("POST", "/api/table/predict")} <= {(r["method"], r["path"]) for r in API}


# -- the page ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_form_page_answers_as_the_fields_change(classifier):
    pytest.importorskip("playwright")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("no Chromium at /usr/bin/chromium")
    import uvicorn
    from playwright.sync_api import expect, sync_playwright

    from nnet.lab.server import bind

    app = create_app(classifier, source="sizes.safetensors")
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page()
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/")
            expect(page.locator("#model-line")).to_contain_text("2 features -> 4-8-2 network")
            page.fill("input[data-feature=size]", "20")
            expect(page.locator("#answer")).to_have_text("big")
            page.fill("input[data-feature=size]", "2")
            page.select_option("select[data-feature=colour]", "blue")
            expect(page.locator("#answer")).to_have_text("small")
            assert page.locator(".layer").count() == 3  # the inputs, then each layer lit
            assert page.locator(".cell").count() == 4 + 8 + 2
            browser.close()
        assert errors == []
    finally:
        server.should_exit = True
        thread.join(10)
