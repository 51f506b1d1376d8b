"""Training you can experiment with, safely, through the lab's API: pause, step, a live learning
rate, continuing the served model, the lessons' network, every run kept with its verdict, and a
run that kills its network flagged and never swapped in."""

from __future__ import annotations

import base64
import json
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
from nnet.lab import create_app  # noqa: E402
from nnet.lab.app import LOCAL_HOSTS  # noqa: E402

TEST_HOSTS = [*LOCAL_HOSTS, "testserver"]
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def data():
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x[:2000], y[:2000]), (x_test[:300], y_test[:300])


@pytest.fixture(scope="module")
def network(data):
    (x, y), _ = data
    net = nnet.Network([784, 16, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    net.fit(x, y, epochs=2, batch_size=32, optimizer="momentum", learning_rate=0.05, seed=0)
    return net


def client_for(model, data):
    train, test = data
    app = create_app(model, train_data=train, test_data=test, allowed_hosts=TEST_HOSTS, progress_seconds=0.0,
                     weights_seconds=0.0)
    return TestClient(app)


def read_events(client, run=None) -> list[dict]:
    url = "/api/train/events" + (f"?run={run}" if run else "")
    events = []
    with client.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
    return events


def wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_pause_step_a_live_learning_rate_and_resume(network, data):
    with client_for(network, data) as client:
        lab = client.app.state.lab
        run = client.post("/api/train", json={"hidden": [8], "epochs": 20, "batch_size": 10, "train_size": 2000,
                                             "optimizer": "sgd", "learning_rate": 0.1}).json()["run"]
        paused = client.post("/api/train/pause").json()
        assert paused["paused"] is True
        controls = lab.latest_run().controls
        wait_for(lambda: controls.waiting, "the run to wait")
        before = lab.latest_run().events.count
        time.sleep(0.2)
        assert lab.latest_run().events.count == before  # held: nothing new

        stepped = client.post("/api/train/step", json={"batches": 3}).json()
        assert stepped["paused"] is True
        wait_for(lambda: controls.waiting and controls._allowed == 0, "three minibatches")
        rate = client.post("/api/train/learning_rate", json={"learning_rate": 0.025}).json()
        assert rate["run"] == run
        client.post("/api/train/step")
        wait_for(lambda: controls.waiting and controls.learning_rate == 0.025, "a step at the new rate")
        status = client.get("/api/train").json()
        assert status["run"]["controls"]["paused"] and status["run"]["controls"]["learning_rate"] == 0.025

        assert client.post("/api/train/learning_rate", json={"learning_rate": -1}).status_code == 422
        assert client.post("/api/train/step", json={"batches": 0}).status_code == 422
        client.post("/api/train/resume")
        client.post("/api/train/stop")
        events = read_events(client)
        progress = [event for event in events if event["type"] == "progress"]
        stepped = [event for event in progress if event["paused"]]
        assert len(stepped) >= 4  # every stepped minibatch showed
        assert [event["batch"] for event in stepped[-4:]] == list(range(stepped[-4]["batch"], stepped[-4]["batch"] + 4))
        assert stepped[-1]["learning_rate"] == 0.025 and stepped[-2]["learning_rate"] == 0.1
        assert all(len(event["gradient_sizes"]) == 2 for event in progress)
        assert events[-1]["type"] == "stopped"
        assert client.post("/api/train/pause").status_code == 409  # no run going


def test_continue_training_the_served_model(network, data):
    with client_for(network, data) as client:
        run = client.post("/api/train", json={"continue": True, "epochs": 1, "train_size": 500, "optimizer": "sgd",
                                             "learning_rate": 0.01}).json()["run"]
        events = read_events(client, run)
        start = events[0]
        assert start["sizes"] == network.sizes and start["settings"]["hidden"] == [16]
        assert start["settings"]["cost"] == "cross_entropy" and start["settings"]["output"] == "softmax"
        kept = client.app.state.lab.shelf.get(run).network
        assert kept is not network and kept.sizes == network.sizes
        assert not np.array_equal(kept.parameters, network.parameters)
        latest = [event for event in events if event["type"] == "weights"][-1]  # the log keeps the latest
        n = latest["neurons"]
        change = np.frombuffer(base64.b64decode(latest["change"]), np.int8).reshape(n, 784) / 127 * latest["change_scale"]
        # the change since the run began is the change from the served model's own weights
        np.testing.assert_allclose(change, kept.layers[0].W[:n] - network.layers[0].W[:n], atol=latest["change_scale"] / 127)
        assert latest["scale"] == pytest.approx(float(np.abs(kept.layers[0].W[:n]).max()))
        trained_before = network.evaluate(*data[1]).cost
        assert kept.evaluate(*data[1]).cost < trained_before * 1.5  # it went on from there, not from scratch


def test_the_lessons_network_trains_in_the_lab(data):
    with client_for(None, data) as client:
        lesson = client.get("/api/train").json()["presets"]["lesson"]
        assert lesson["cost"] == "quadratic" and lesson["output"] == "sigmoid" and lesson["hidden"] == [30]
        body = {**lesson, "epochs": 1, "train_size": 2000}
        run = client.post("/api/train", json=body).json()["run"]
        events = read_events(client, run)
        assert events[-1]["type"] == "done"
        kept = events[-1]["kept"]
        assert kept["served"] is True  # the served model was the untrained default, and this one is healthy
        model = client.get("/api/model").json()
        assert model["cost"] == "quadratic" and [layer["activation"] for layer in model["layers"]] == ["sigmoid"] * 2
        weights = [event for event in events if event["type"] == "weights"][-1]
        change = np.frombuffer(base64.b64decode(weights["change"]), np.int8)
        assert weights["change_scale"] > 0 and change.size == weights["neurons"] * 784


def test_a_run_that_kills_its_network_is_flagged_and_not_swapped_in(network, data):
    with client_for(network, data) as client:
        run = client.post("/api/train", json={"hidden": [32], "learning_rate": 10, "epochs": 1, "batch_size": 16,
                                             "train_size": 1000}).json()["run"]
        final = read_events(client, run)[-1]
        kept = final["kept"]
        assert kept["served"] is False and kept["verdict"]["healthy"] is False
        kinds = {flag["kind"] for flag in kept["verdict"]["flags"]}
        assert kinds & {"dead", "guessing", "failed", "diverged"}
        assert any("dead" in flag["why"] or "guessing" in flag["why"] or "diverged" in flag["why"]
                   for flag in kept["verdict"]["flags"])
        model = client.get("/api/model").json()
        assert model["version"] == 1 and model["source"] == "a network given to create_app"
        listed = client.get("/api/runs").json()["runs"]
        assert listed[0]["verdict"]["flags"] == kept["verdict"]["flags"]


def test_gradient_sizes_show_the_vanishing_gradient_of_a_deep_sigmoid_network(data):
    with client_for(None, data) as client:
        body = {"hidden": [30, 30, 30], "activation": "sigmoid", "output": "sigmoid", "cost": "quadratic",
                "init": "normal", "optimizer": "sgd", "learning_rate": 1.0, "epochs": 1, "batch_size": 20,
                "train_size": 400}
        events = read_events(client, client.post("/api/train", json=body).json()["run"])
        sizes = [event["gradient_sizes"] for event in events if event["type"] == "progress"][0]
        assert len(sizes) == 4 and sizes[0] < sizes[1] < sizes[2] < sizes[3]  # smaller towards the input
