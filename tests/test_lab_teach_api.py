"""The lab's Teach and look-inside routes (nnet.lab.learning_routes), through Starlette's
TestClient, their numbers checked against the library: ``net.backprop(..., record=True)`` for one
example, the batch gradient for ten, ``w - η ∂C/∂w`` for a step."""

from __future__ import annotations

import base64
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("PIL")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import nnet  # noqa: E402
from nnet.images import to_mnist  # noqa: E402
from nnet.lab import API, create_app  # noqa: E402
from nnet.lab.app import LOCAL_HOSTS  # noqa: E402

TEST_HOSTS = [*LOCAL_HOSTS, "testserver"]
SIDE = 280


@pytest.fixture(scope="module")
def data():
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x[:1000], y[:1000]), (x_test[:300], y_test[:300])


@pytest.fixture(scope="module")
def network(data):
    (x, y), _ = data
    net = nnet.Network([784, 20, 12, 10], activation="sigmoid", output="sigmoid", cost="quadratic", seed=0)
    net.fit(x, y, epochs=2, batch_size=10, optimizer="sgd", learning_rate=3.0, seed=0)
    return net


@pytest.fixture
def client(network, data):
    train, test = data
    app = create_app(network, train_data=train, test_data=test, allowed_hosts=TEST_HOSTS)
    with TestClient(app, raise_server_exceptions=True) as client:
        client.app_state = app.state
        yield client


def close(actual, expected, what=""):
    expected = np.asarray(expected, dtype=np.float64)
    top = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=0, atol=max(top * 1e-4, 1e-6),
                               err_msg=what)


def stroke_seven() -> np.ndarray:
    image = np.full((SIDE, SIDE), 255, np.uint8)
    image[50:72, 60:220] = 0
    for row in range(72, 240):
        column = 200 - (row - 72) // 2
        image[row, column - 11 : column + 11] = 0
    return image


def test_the_api_lists_the_new_routes(client):
    paths = {route["path"] for route in client.get("/api").json()["routes"]}
    assert {"/api/backprop", "/api/backprop/step", "/api/backprop/batch", "/api/sandbox", "/api/health", "/api/map",
            "/api/calibration", "/api/links/{layer}", "/api/neuron/{layer}/{index}/top"} <= paths
    assert all(route["summary"] for route in API) and len({(r["method"], r["path"]) for r in API}) == len(API)


def test_backprop_of_a_test_digit_is_the_librarys(client, network, data):
    _, (x, y) = data
    result = client.post("/api/backprop", json={"digit": 4, "neurons": [[0, 2], [2, 7]]}).json()
    trace = network.backprop(x[4:5], y[4:5], record=True)
    assert result["label"] == y[4] and result["cost_name"] == "quadratic"
    assert result["cost"] == pytest.approx(trace.cost, rel=1e-6)
    assert result["target"] == np.eye(10)[y[4]].tolist()
    close(result["output"], trace.output[0])
    for index, layer in enumerate(result["layers"]):
        close(layer["delta"], trace.deltas[index][0], f"delta {index}")
    close(result["gradients"][0]["weights"], trace.gradients[0][0][2])
    close(result["gradients"][1]["weights"], trace.gradients[2][0][7])
    assert result["gradients"][0]["shape"] == [28, 28]
    assert result["sandbox"]["steps"] == 0


def test_backprop_of_a_drawing_with_its_label(client, network):
    image = stroke_seven()
    body = {"width": SIDE, "height": SIDE, "pixels": base64.b64encode(image.tobytes()).decode(), "label": 7}
    result = client.post("/api/backprop", json=body).json()
    trace = network.backprop(to_mnist(image)[None], [7], record=True)
    assert result["cost"] == pytest.approx(trace.cost, rel=1e-6)
    close(result["layers"][0]["delta"], trace.deltas[0][0])


@pytest.mark.parametrize("body, status, words", [
    ({"input": [0.5] * 784}, 422, '"label"'),
    ({"digit": 1, "label": 10}, 422, '"label" must be an integer in 0..9'),
    ({"digit": 300}, 422, '"digit" must be an integer in 0..299'),
    ({"digit": 1, "neurons": [[0, 20]]}, 404, "neurons 0..19"),
    ({"digit": 1, "neurons": [[5, 0]]}, 404, "layers 0..2"),
    ({"digit": 1, "neurons": "all"}, 422, "[layer, index] pairs"),
    ({"digit": 1, "set": "validation"}, 422, '"set" must be one of train, test'),
    ([1, 2], 422, "JSON object"),
])
def test_bad_backprop_requests(client, body, status, words):
    response = client.post("/api/backprop", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_one_step_raises_the_right_output_on_the_sandbox_only(client, network, data):
    _, (x, y) = data
    served = network.parameters.copy()
    wrong_label = (int(y[9]) + 1) % 10
    step = client.post("/api/backprop/step", json={"digit": 9, "label": wrong_label, "learning_rate": 3.0}).json()
    assert step["after"][0][wrong_label] > step["before"][0][wrong_label]
    assert step["cost_after"] < step["cost_before"] and step["steps"] == 1

    gradient = network.copy().backprop(x[9:10], [wrong_label])
    sandbox = client.app_state.lab.teaching.sandbox()[0].network
    for (dW, _), before, after in zip(gradient, network.layers, sandbox.layers):
        np.testing.assert_allclose(after.W, before.W - 3.0 * dW, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(network.parameters, served)  # the served model is untouched
    again = client.post("/api/backprop", json={"digit": 9, "label": wrong_label}).json()
    assert again["cost"] == pytest.approx(step["cost_after"], rel=1e-5)

    assert client.post("/api/sandbox/undo").json()["undone"].startswith("a step towards")
    assert client.post("/api/sandbox/undo").status_code == 409
    np.testing.assert_array_equal(sandbox.parameters, served)
    bad = client.post("/api/backprop/step", json={"digit": 9, "learning_rate": 0})
    assert bad.status_code == 422 and "learning_rate" in bad.json()["error"]


def test_ten_examples_average_to_the_negative_gradient_and_step_together(client, network, data):
    (x, y), _ = data
    result = client.post("/api/backprop/batch", json={"count": 10, "seed": 3, "layer": 0, "neuron": 5}).json()
    rows = [entry["index"] for entry in result["examples"]]
    assert len(set(rows)) == 10 and all(entry["set"] == "train" for entry in result["examples"])
    assert [entry["label"] for entry in result["examples"]] == y[rows].tolist()
    assert result["examples"][0]["pixels"] == x[rows[0]].tolist()
    gradient = network.copy().backprop(x[rows], y[rows])
    close(result["average"]["weights"], -gradient[0][0][5])

    examples = [{"set": "train", "index": row} for row in rows]
    step = client.post("/api/backprop/step", json={"examples": examples, "learning_rate": 1.0}).json()
    assert len(step["before"]) == 10 and step["cost_after"] < step["cost_before"]
    sandbox = client.app_state.lab.teaching.sandbox()[0].network
    np.testing.assert_allclose(sandbox.layers[0].W, network.layers[0].W - gradient[0][0], rtol=1e-5, atol=1e-6)
    bad = client.post("/api/backprop/batch", json={"examples": [], "layer": 0, "neuron": 0})
    assert bad.status_code == 422


def test_without_a_neuron_the_ten_examples_show_the_one_they_most_want_changed(client, network, data):
    (x, y), _ = data
    result = client.post("/api/backprop/batch", json={"count": 10, "seed": 3}).json()
    rows = [entry["index"] for entry in result["examples"]]
    each = [network.copy().backprop(x[row : row + 1], y[row : row + 1])[0][0] for row in rows]
    wanted = np.abs(np.array(each)).sum(axis=(0, 2))  # per neuron of layer 0, summed over examples
    assert result["layer"] == 0 and result["index"] == int(wanted.argmax())
    assert wanted.max() > 0 and result["abs_max"] > 0  # not a neuron that is off for all ten
    close(result["average"]["weights"], -np.mean(each, axis=0)[result["index"]])


def test_edit_a_weight_and_the_output_changes(client, network, data):
    _, (x, _) = data
    before = client.post("/api/backprop", json={"digit": 0}).json()["output"]
    edited = client.post("/api/sandbox/weight", json={"layer": 2, "neuron": 3, "source": 4, "value": 9.5}).json()
    assert edited["old"] == pytest.approx(float(network.layers[2].W[3, 4])) and edited["edits"] == 1
    after = client.post("/api/backprop", json={"digit": 0}).json()["output"]
    expected = network.copy()
    expected.layers[2].W[3, 4] = 9.5
    close(after, expected.forward(x[0])[0])
    assert after[3] != before[3]
    links = client.get("/api/links/2?model=sandbox").json()
    assert links["weights"][3][4] == 9.5 and links["model"] == "sandbox"
    assert client.get("/api/links/2").json()["weights"][3][4] != 9.5  # the served model is untouched
    bias = client.post("/api/sandbox/weight", json={"layer": 0, "neuron": 1, "source": None, "value": -1}).json()
    assert bias["new"] == -1.0
    assert client.post("/api/sandbox/weight", json={"layer": 0, "neuron": 1, "source": 900, "value": 1}).status_code == 404
    assert client.post("/api/sandbox/weight", json={"layer": 0, "neuron": 1, "value": 1e9}).status_code == 422
    status = client.post("/api/sandbox/reset").json()
    assert status["edits"] == 0 and client.get("/api/links/2?model=sandbox").json()["weights"][3][4] != 9.5


def test_the_sandbox_restarts_when_the_lab_serves_another_model(client, network):
    client.post("/api/backprop/step", json={"digit": 1, "learning_rate": 1.0})
    lab = client.app_state.lab
    lab.swap(network.copy(), "another")
    result = client.post("/api/backprop", json={"digit": 1}).json()
    assert "starts again" in result["sandbox"]["restarted"]
    assert result["sandbox"]["based_on"] == lab.current().version and result["sandbox"]["steps"] == 0


def test_links_health_maps_top_digits_and_calibration(client, network, data):
    _, (x, y) = data
    links = client.get("/api/links/1").json()
    close(links["weights"], network.layers[1].W)
    assert client.get("/api/links/0").status_code == 422  # 784 inputs: too many to draw
    assert client.get("/api/links/7").status_code == 404

    verdict = client.get("/api/health").json()
    assert verdict["probe"] == 300 and [layer["name"] for layer in verdict["layers"]] == ["hidden 1", "hidden 2", "output"]
    assert verdict["accuracy"] == pytest.approx(network.evaluate(x, y).accuracy)

    hidden = client.get("/api/map?layer=1&count=200").json()
    assert len(hidden["points"]) == 200 and hidden["name"] == "hidden 2" and hidden["labels"] == y[:200].tolist()
    assert client.get("/api/map?layer=-1&count=100").json()["name"] == "input"
    assert client.get("/api/map?layer=0&method=umap").status_code == 422
    assert client.get("/api/map?layer=5").status_code == 404

    top = client.get("/api/neuron/1/3/top?count=5").json()
    a = network.forward(x, record=True).activations[2][:, 3]
    assert top["indices"] == np.argsort(-a, kind="stable")[:5].tolist()
    assert client.get("/api/neuron/1/30/top").status_code == 404

    calibration = client.get("/api/calibration").json()
    assert sum(entry["count"] for entry in calibration["bins"]) == 300
    assert "as it is" in calibration["confidence_from"]
    assert client.get("/api/calibration?model=other").status_code == 422
