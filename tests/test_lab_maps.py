"""The lab with a convolutional network: POST /api/feature-maps gives every map layer's feature maps for a
drawing (decoded, they are the trace's activations scaled per map), a network without maps gives
none, a table model refuses; /api/predict and /api/model still answer for a conv network; and
the page's feature-maps.js draws the maps in headless Chromium."""

from __future__ import annotations

import base64
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import nnet  # noqa: E402
from nnet import layer_kinds  # noqa: E402
from nnet.lab import API  # noqa: E402
from nnet.lab.explain import MAX_MAPS, feature_maps  # noqa: E402
from test_lab_api import make_app  # noqa: E402


@pytest.fixture(scope="module")
def conv():
    entries = [{"kind": "conv2d", "out_channels": 6, "kernel_size": 5}, {"kind": "max_pool2d", "size": 2},
               {"kind": "flatten"}, {"kind": "dense", "n_out": 10, "activation": "softmax"}]
    net = nnet.Network(layer_kinds.build(entries, (1, 28, 28), seed=0), cost="cross_entropy")
    (x, y), (x_test, _) = nnet.datasets.load_mnist()
    net.fit(x[:500], y[:500], epochs=1, batch_size=50, seed=0)
    return net, x_test[:3]


def decoded(layer):
    channels, height, width = layer["shape"]
    return np.frombuffer(base64.b64decode(layer["data"]), np.uint8).reshape(layer["maps"], height, width)


def test_the_maps_are_the_traces_activations_scaled_per_map(conv):
    net, x = conv
    answer = feature_maps(net, x[0])
    assert [layer["index"] for layer in answer["layers"]] == [0, 1]
    assert [layer["shape"] for layer in answer["layers"]] == [[6, 24, 24], [6, 12, 12]]
    trace = net.forward(x[:1], record=True)
    for layer in answer["layers"]:
        maps = trace.activations[layer["index"] + 1][0].astype(np.float64)
        low, high = maps.min(axis=(1, 2)), maps.max(axis=(1, 2))
        np.testing.assert_allclose(layer["low"], low, atol=1e-4)
        np.testing.assert_allclose(layer["high"], high, atol=1e-4)
        expected = np.rint((maps - low[:, None, None]) / np.where(high > low, high - low, 1)[:, None, None] * 255)
        np.testing.assert_array_equal(decoded(layer), expected)
    assert MAX_MAPS >= 6


def test_post_maps_answers_for_a_drawing_and_predict_still_works(conv):
    net, x = conv
    client = TestClient(make_app(net))
    body = {"input": (x[1] / 255.0).tolist()}
    answer = client.post("/api/feature-maps", json=body)
    assert answer.status_code == 200
    assert len(answer.json()["layers"]) == 2 and answer.json()["version"] >= 1
    predicted = client.post("/api/predict", json=body)
    assert predicted.status_code == 200 and predicted.json()["prediction"] == int(net.predict(x[1:2])[0])
    assert client.get("/api/model").status_code == 200
    assert any(route["path"] == "/api/feature-maps" for route in API)
    assert client.post("/api/feature-maps", json={"input": [0.5]}).status_code == 422


def test_a_network_without_maps_has_none():
    net = nnet.Network([784, 16, 10], activation="relu", cost="cross_entropy", seed=0)
    answer = TestClient(make_app(net)).post("/api/feature-maps", json={"input": [0.0] * 784})
    assert answer.status_code == 200 and answer.json()["layers"] == []


@pytest.mark.browser
def test_the_page_draws_the_feature_maps_of_a_conv_network(conv, tmp_path):
    """feature-maps.js in headless Chromium: the drawn digit's maps appear, one canvas per map."""
    pytest.importorskip("playwright")
    browser = pytest.importorskip("test_lab_browser")  # (skips itself without Chromium)
    from playwright.sync_api import sync_playwright

    net, x = conv
    path = tmp_path / "conv.safetensors"
    nnet.save(net, path)
    process, url = browser.start_lab(str(path))
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1366, "height": 860})
            page.set_default_timeout(browser.TIMEOUT_MS)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url)
            page.wait_for_selector("#model-line b")
            box = page.locator("#pad").bounding_box()
            for x0, y0, x1, y1 in browser.strokes(x[0]):
                page.mouse.move(box["x"] + x0, box["y"] + y0)
                page.mouse.down()
                page.mouse.move(box["x"] + x1, box["y"] + y1, steps=3)
                page.mouse.up()
            browser.wait_until(page, "document.querySelectorAll('#maps-layers canvas').length === 12 "
                                     "&& !document.getElementById('feature-maps').hidden")
            assert "layer 0 (hidden 1, conv2d): 6 maps of 24×24" in page.locator("#maps-layers").inner_text()
            browser.screenshot(page, tmp_path, "maps")
            chromium.close()
            assert not errors, errors
    finally:
        browser.stop_lab(process)


def test_teach_and_inside_say_in_one_line_that_they_show_fully_connected_networks(conv):
    """A conv network's Teach and Inside views answer 409 with what the network has (they drew
    its layers neuron by neuron, and failed in ways of their own: a 500 for a weight edit)."""
    net, x = conv
    client = TestClient(make_app(net.copy()), raise_server_exceptions=False)
    drawing = {"input": (x[0] / 255.0).tolist()}
    answers = [client.post("/api/backprop", json=drawing),
               client.post("/api/backprop/step", json={**drawing, "label": 3, "learning_rate": 0.1}),
               client.post("/api/backprop/batch", json={"count": 10, "seed": 0}),
               client.post("/api/sandbox/weight", json={"layer": 0, "neuron": 0, "source": 0, "value": 0.5}),
               client.get("/api/health"), client.get("/api/map?layer=0")]
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"] == ("teaching and looking inside show a fully connected network neuron by "
                                          "neuron; this one has conv2d, flatten, max_pool2d layers (the Draw view "
                                          "shows its feature maps)")
    assert client.get("/api/calibration").status_code == 200  # the output layer's view works for any network
