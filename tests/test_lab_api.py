"""The web lab's JSON API, through Starlette's TestClient (no socket, no browser)."""

from __future__ import annotations

import base64
import gc
import io
import json
import threading
import warnings
import weakref

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("PIL")

with warnings.catch_warnings():  # newer Starlette would rather TestClient ran on httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import nnet  # noqa: E402
from nnet.images import to_mnist  # noqa: E402
from nnet.lab import API, create_app  # noqa: E402
from nnet.lab.app import LOCAL_HOSTS  # noqa: E402
from nnet.lab.events import EventLog  # noqa: E402
from nnet.lab.payloads import MAX_BODY_BYTES  # noqa: E402

SIDE = 280
HIDDEN = [20, 12]  # two hidden layers: responses must list every layer, whatever the depth
#: TestClient addresses the app as "testserver", a name the lab refuses outside tests.
TEST_HOSTS = [*LOCAL_HOSTS, "testserver"]


def make_app(model, **options):
    return create_app(model, allowed_hosts=TEST_HOSTS, **options)


def finish(app) -> None:
    """Leave no training thread behind."""
    run = app.state.lab.latest_run()
    if run is not None:
        run.stop()
        run.join(10)


@pytest.fixture(scope="module")
def data():
    (x_train, y_train), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x_train[:1000], y_train[:1000]), (x_test[:300], y_test[:300])


@pytest.fixture(scope="module")
def network(data):
    (x, y), _ = data
    net = nnet.Network([784, *HIDDEN, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    net.fit(x, y, epochs=2, batch_size=32, optimizer="momentum", learning_rate=0.05, seed=0)
    return net


@pytest.fixture
def client(network, data):
    train, test = data
    app = make_app(network, train_data=train, test_data=test, progress_seconds=0.0, weights_seconds=0.0)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client
    finish(app)


def stroke_one() -> np.ndarray:
    """A 280x280 gray drawing: a black vertical bar (a "1") on white."""
    image = np.full((SIDE, SIDE), 255, np.uint8)
    image[40:240, 130:152] = 0
    return image


def drawing_body(image: np.ndarray) -> dict:
    height, width = image.shape[:2]
    return {"width": width, "height": height, "pixels": base64.b64encode(image.tobytes()).decode()}


def read_events(client, run=None) -> list[dict]:
    """Every event of a run's stream, until its final event ends the stream."""
    url = "/api/train/events" + (f"?run={run}" if run else "")
    events = []
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
    return events


# -- the model and a prediction ------------------------------------------------------------------


def test_model_lists_every_layer(client):
    model = client.get("/api/model").json()
    assert model["input"] == {"size": 784, "shape": [28, 28]}
    assert [layer["size"] for layer in model["layers"]] == [*HIDDEN, 10]
    assert [layer["name"] for layer in model["layers"]] == ["hidden 1", "hidden 2", "output"]
    assert [layer["activation"] for layer in model["layers"]] == ["relu", "relu", "softmax"]
    assert model["classes"] == [str(k) for k in range(10)]
    assert model["trained"] is True and model["version"] == 1


def test_predict_from_a_drawing(client, network):
    response = client.post("/api/predict", json=drawing_body(stroke_one()))
    assert response.status_code == 200, response.text
    result = response.json()
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert len(result["probabilities"]) == 10
    assert [len(layer["a"]) for layer in result["layers"]] == [*HIDDEN, 10]
    assert [len(layer["z"]) for layer in result["layers"]] == [*HIDDEN, 10]
    assert len(result["input"]) == 784 and 0 <= min(result["input"]) and max(result["input"]) <= 1
    assert result["prediction"] == int(np.argmax(result["probabilities"]))
    assert result["label"] == str(result["prediction"])
    assert result["ms"] >= 0


def test_predict_preprocesses_as_nnet_predict_does(client, network):
    image = stroke_one()
    result = client.post("/api/predict", json=drawing_body(image)).json()
    x = to_mnist(image)  # what `nnet predict` does to an image
    trace = network.forward(x, record=True)
    np.testing.assert_allclose(result["input"], x / 255, atol=1e-3)
    for layer, a in zip(result["layers"], trace.activations[1:]):
        np.testing.assert_allclose(layer["a"], a[0], atol=1e-3)
    np.testing.assert_allclose(result["probabilities"], trace.output[0], atol=1e-5)


def test_predict_takes_rgba_a_png_data_url_and_a_ready_input(client, data):
    gray = stroke_one()
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., 3] = 255 - gray  # black ink on a transparent canvas
    expected = client.post("/api/predict", json=drawing_body(gray)).json()["prediction"]
    assert client.post("/api/predict", json=drawing_body(rgba)).json()["prediction"] == expected

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert client.post("/api/predict", json={"image": url}).json()["prediction"] == expected

    (_, _), (x_test, _) = data
    ready = (x_test[0] / 255).round(4).tolist()
    result = client.post("/api/predict", json={"input": ready}).json()
    assert len(result["layers"]) == 3


def _post(client, body, **kwargs):
    if isinstance(body, (bytes, str)):
        return client.post("/api/predict", content=body, headers={"content-type": "application/json"}, **kwargs)
    return client.post("/api/predict", json=body)


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"width": 280, "height": 280, "pixels": base64.b64encode(b"\0" * 1000).decode()}, 422, "width*height"),
        ({"width": 10, "height": 10, "pixels": base64.b64encode(b"\0" * 101).decode()}, 422, "got 101 bytes"),
        ({"width": 10, "height": 10, "pixels": "not base64!"}, 422, "base64"),
        ({"width": 10, "height": 10, "pixels": 12}, 422, "base64 string"),
        ({"width": 0, "height": 10, "pixels": ""}, 422, '"width" must be an integer in 1..1024'),
        ({"width": 5000, "height": 10, "pixels": ""}, 422, "got 5000"),
        ({"width": 2.5, "height": 10, "pixels": ""}, 422, "integer"),
        ({"width": 10, "height": 10}, 422, "expected one of"),
        ({"picture": "x"}, 422, "expected one of"),
        ([1, 2, 3], 422, "JSON object"),
        ({"image": "data:image/png;base64,aGVsbG8="}, 422, "not an image"),
        ({"input": [0.5] * 100}, 422, "784 numbers"),
        ({"input": [2.0] * 784}, 422, "in 0..1"),
        ({"input": ["a"] * 784}, 422, "only numbers"),
        (b'{"width": NaN, "height": 10, "pixels": ""}', 400, "finite"),
        (b'{"input": [Infinity]}', 400, "finite"),
        (b"this is not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
    ],
)
def test_bad_drawings_get_a_4xx_with_a_message(client, body, status, words):
    response = _post(client, body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_a_blank_drawing_is_refused(client):
    blank = np.full((SIDE, SIDE), 255, np.uint8)
    response = client.post("/api/predict", json=drawing_body(blank))
    assert response.status_code == 422
    assert "blank" in response.json()["error"]


def test_a_body_over_the_limit_gets_413_before_it_is_read(client):
    big = b'{"pixels": "' + b"A" * MAX_BODY_BYTES + b'"}'
    response = _post(client, big)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_json_bodies_must_say_so(client):
    response = client.post("/api/predict", content=json.dumps(drawing_body(stroke_one())),
                           headers={"content-type": "text/plain"})  # what a plain HTML form can send
    assert response.status_code == 415 and "application/json" in response.json()["error"]


def test_requests_forged_by_other_sites_are_refused(client):
    rebound = client.get("/api/model", headers={"host": "evil.example:8000"})
    assert rebound.status_code == 400 and "Host" in rebound.json()["error"]
    forged = client.post("/api/train", json={}, headers={"origin": "http://evil.example"})
    assert forged.status_code == 403 and "cross-site" in forged.json()["error"]
    assert client.get("/api/train").json()["state"] == "idle"
    same_site = client.post("/api/predict", json=drawing_body(stroke_one()), headers={"origin": "http://testserver"})
    assert same_site.status_code == 200


def test_only_this_machines_names_are_allowed_outside_tests(network, data):
    assert "testserver" not in LOCAL_HOSTS
    train, test = data
    with TestClient(create_app(network, train_data=train, test_data=test)) as client:  # the default hosts
        refused = client.get("/api/model")  # TestClient's Host: testserver
        assert refused.status_code == 400 and "testserver" in refused.json()["error"]
        assert client.get("/api/model", headers={"host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/api/model", headers={"host": "localhost"}).status_code == 200


def test_an_input_the_network_overflows_on_is_a_422(data):
    _, (x_test, _) = data
    huge = nnet.Network([784, 8, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    for layer in huge.layers:
        layer.W[...] = 3e38  # finite, but z = W a + b overflows to infinity (and then NaN)
    train, test = data
    with TestClient(make_app(huge, train_data=train, test_data=test)) as client:
        response = client.post("/api/predict", json=drawing_body(stroke_one()))
        assert response.status_code == 422, response.text
        assert "layer 0 (hidden 1)" in response.json()["error"] and "finite" in response.json()["error"]
        digit = client.get("/api/digits?mode=index&index=0")
        assert digit.status_code == 422 and "overflows" in digit.json()["error"]
        assert client.get("/api/neuron/0/0").status_code == 200  # its weights are still finite numbers


# -- neurons and digits ------------------------------------------------------------------------------


def test_neuron_weights_have_the_right_shapes(client, network):
    first = client.get("/api/neuron/0/3").json()
    assert first["shape"] == [28, 28] and len(first["weights"]) == 784
    np.testing.assert_allclose(first["weights"], network.layers[0].W[3], atol=1e-4)
    assert first["bias"] == pytest.approx(float(network.layers[0].b[3]), abs=1e-4)
    second = client.get("/api/neuron/1/0").json()
    assert second["shape"] == [HIDDEN[0]] and len(second["weights"]) == HIDDEN[0]
    assert second["inputs_from"] == "hidden 1"
    output = client.get("/api/neuron/2/9").json()
    assert output["shape"] == [HIDDEN[1]] and output["name"] == "output"


@pytest.mark.parametrize(
    "path", ["/api/neuron/3/0", f"/api/neuron/0/{HIDDEN[0]}", "/api/neuron/2/10", "/api/neuron/0/-1"]
)
def test_neurons_out_of_range_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]


def test_digits_modes(client, data, network):
    _, (x_test, y_test) = data
    random = client.get("/api/digits?mode=random").json()
    assert len(random["pixels"]) == 784 and random["count"] == len(y_test)
    assert random["label"] == int(y_test[random["index"]])
    assert len(random["prediction"]["layers"]) == 3

    chosen = client.get("/api/digits?mode=index&index=5").json()
    assert chosen["index"] == 5 and chosen["label"] == int(y_test[5])
    assert chosen["pixels"] == x_test[5].astype(int).tolist()

    threes = client.get("/api/digits?mode=class&class=3&position=0").json()
    assert threes["label"] == 3 and threes["count"] == int(np.sum(y_test == 3))
    assert threes["index"] == int(np.flatnonzero(y_test == 3)[0])
    wrapped = client.get(f"/api/digits?mode=class&class=3&position={threes['count']}").json()
    assert wrapped["index"] == threes["index"]

    wrong = np.flatnonzero(network.predict(x_test) != y_test)
    mistake = client.get("/api/digits?mode=mistakes&position=0").json()
    assert mistake["count"] == len(wrong) and mistake["index"] == int(wrong[0])
    assert mistake["correct"] is False and mistake["prediction"]["prediction"] != mistake["label"]


@pytest.mark.parametrize(
    "query, status",
    [("mode=sideways", 422), ("mode=class", 422), ("mode=class&class=10", 422), ("mode=index", 422),
     ("mode=index&index=300", 404), ("mode=index&index=x", 422)],
)
def test_bad_digit_queries(client, query, status):
    response = client.get(f"/api/digits?{query}")
    assert response.status_code == status
    assert response.json()["error"]


# -- training ------------------------------------------------------------------------------------------


def test_a_training_run_streams_progress_and_ends(client):
    before = client.get("/api/model").json()["version"]
    response = client.post("/api/train", json={"hidden": [8], "epochs": 2, "batch_size": 64, "train_size": 600})
    assert response.status_code == 202, response.text
    run = response.json()["run"]
    events = read_events(client, run)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    progress = [event for event in events if event["type"] == "progress"]
    assert len(progress) >= 2
    assert all(np.isfinite(event["cost"]) and 0 <= event["accuracy"] <= 1 for event in progress)
    assert [event["epoch"] for event in events if event["type"] == "epoch"] == [1, 2]
    weights = [event for event in events if event["type"] == "weights"]
    assert weights and len(base64.b64decode(weights[-1]["data"])) == weights[-1]["neurons"] * 784
    kept = events[-1]["kept"]  # the new network is kept, judged, and not served until chosen
    assert kept["run"] == run and kept["served"] is False and kept["available"] and kept["sizes"] == [784, 8, 10]
    assert set(kept["verdict"]) == {"healthy", "flags", "accuracy", "probe"}
    assert client.get("/api/model").json()["version"] == before
    listed = client.get("/api/runs").json()
    assert [entry["run"] for entry in listed["runs"]] == [run] and listed["served_run"] is None
    used = client.post(f"/api/runs/{run}/use").json()
    assert used["served_run"] == run and used["version"] == before + 1
    model = client.get("/api/model").json()
    assert model["version"] == before + 1 and [layer["size"] for layer in model["layers"]] == [8, 10]
    assert client.post("/api/runs/9/use").status_code == 404
    status = client.get("/api/train").json()
    assert status["state"] == "done" and not status["running"] and status["served_run"] == run
    assert client.get("/api/train/events", headers={"last-event-id": str(events[-1]["id"])}).status_code == 204


def test_one_run_at_a_time_stop_and_predictions_meanwhile(client):
    long_run = {"hidden": [32], "epochs": 100, "batch_size": 1, "train_size": 1000}
    response = client.post("/api/train", json=long_run)
    assert response.status_code == 202
    assert client.post("/api/train", json=long_run).status_code == 409
    assert "still going" in client.post("/api/train", json={}).json()["error"]
    served = client.post("/api/predict", json=drawing_body(stroke_one()))  # the old model answers
    assert served.status_code == 200 and served.json()["version"] == 1
    stop = client.post("/api/train/stop")
    assert stop.status_code == 200
    kinds = [event["type"] for event in read_events(client)]
    assert kinds[-1] == "stopped" and "done" not in kinds
    assert client.post("/api/train/stop").status_code == 409
    assert client.get("/api/model").json()["version"] == 1  # kept, not served
    client.post("/api/runs/1/use")
    assert "stopped" in client.get("/api/model").json()["source"]


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"hidden": [0]}, '"hidden"'),
        ({"hidden": [10000]}, '"hidden"'),
        ({"hidden": "128"}, '"hidden"'),
        ({"epochs": 0}, '"epochs"'),
        ({"learning_rate": 0}, '"learning_rate"'),
        ({"learning_rate": "fast"}, '"learning_rate"'),
        ({"optimizer": "magic"}, '"optimizer"'),
        ({"activation": "softmax"}, '"activation"'),
        ({"train_size": 5000}, '"train_size"'),
        ({"output": "magic"}, '"output"'),
        ({"cost": "hinge"}, '"cost"'),
        ({"cost": "cross_entropy", "output": "tanh"}, "needs a 'softmax' output"),
        ({"init": "zeros"}, '"init"'),
        ({"continue": "yes"}, '"continue"'),
        ({"path": "/etc/passwd"}, "unknown training settings"),
    ],
)
def test_bad_training_settings_are_422(client, settings, words):
    response = client.post("/api/train", json=settings)
    assert response.status_code == 422
    assert words in response.json()["error"]
    assert client.get("/api/train").json()["state"] == "idle"


def test_saving_goes_only_to_the_server_side_path(network, data, tmp_path):
    train, test = data
    with TestClient(make_app(network, train_data=train, test_data=test)) as client:
        response = client.post("/api/model/save")
        assert response.status_code == 409 and "--save" in response.json()["error"]
    target = tmp_path / "lab.safetensors"
    with TestClient(make_app(None, train_data=train, test_data=test, save_path=target)) as client:
        assert client.post("/api/model/save").status_code == 409  # untrained: nothing worth saving
        client.post("/api/train", json={"hidden": [8], "epochs": 1, "train_size": 300})
        read_events(client)
        response = client.post("/api/model/save", json={"path": "/tmp/elsewhere"})  # a client path is ignored
        assert response.status_code == 200 and response.json()["saved"] == str(target)
    saved = nnet.load(target)
    assert saved.sizes == [784, 8, 10] and saved.metadata["classes"] == [str(k) for k in range(10)]
    assert saved.metadata["training"]["hidden"] == [8]


def test_the_event_log_stays_bounded_however_long_the_run():
    log = EventLog(max_progress=100)
    log.append("start", {})
    batches = 1000
    for epoch in range(50):
        for batch in range(batches):
            position = epoch + (batch + 1) / batches
            log.append("progress", {"position": position}, pinned=batch == batches - 1)
            if batch % 10 == 0:
                log.append("weights", {"data": "x" * 1000, "position": position})
        log.append("epoch", {"epoch": epoch + 1})
    log.append("done", {})
    stored = log.stored()
    progress = [event for event in stored if event["type"] == "progress"]
    assert log.count == 1 + 50 * (batches + batches // 10 + 1) + 1
    assert len(progress) <= 100 + 50 + 1  # at most max_progress, the epochs' last points, the latest
    assert [event["type"] for event in stored].count("weights") == 1  # only the latest snapshot
    assert [event["epoch"] for event in stored if event["type"] == "epoch"] == list(range(1, 51))
    assert stored[0]["type"] == "start" and stored[-1]["type"] == "done" and log.final is stored[-1]
    ids = [event["id"] for event in stored]
    assert ids == sorted(set(ids))
    ends = {event["position"] for event in progress}
    assert set(range(1, 51)) <= ends  # every epoch's last point is kept
    gaps = np.diff(sorted(event["position"] for event in progress))
    assert gaps.max() <= 4 * np.median(gaps)  # the kept points spread evenly over the run
    assert log.after(ids[-2]) == [stored[-1]]


def test_a_long_run_keeps_a_bounded_log_and_replays_only_the_latest_weights(client, monkeypatch):
    from nnet.lab import training

    monkeypatch.setattr(training, "MAX_PROGRESS", 40)
    client.post("/api/train", json={"hidden": [8], "epochs": 4, "batch_size": 4, "train_size": 600})
    live = read_events(client)  # watched from the start
    run = client.app.state.lab.latest_run()
    stored = run.events.stored()
    emitted = run.events.count
    progress = [event for event in stored if event["type"] == "progress"]
    assert emitted > 500  # ~150 progress and ~150 weights events per epoch were emitted ...
    assert len(progress) <= 40 + 4 + 1  # ... and few were kept
    assert [event["type"] for event in stored].count("weights") == 1
    assert len(json.dumps(stored)) < 64_000  # every weights event kept would be ~5 MB
    replay = read_events(client)  # a page loaded after the run: what the log kept, in order
    assert [event["id"] for event in replay] == [event["id"] for event in stored]
    assert [event["type"] for event in replay if event["type"] != "progress"] == \
        ["start", "epoch", "epoch", "epoch", "epoch", "weights", "done"]
    assert {event["position"] for event in replay if event["type"] == "progress"} >= {1.0, 2.0, 3.0, 4.0}
    assert live[-1]["type"] == "done" and [e["type"] for e in live].count("epoch") == 4


def test_only_the_latest_run_is_kept(client):
    settings = {"hidden": [8], "epochs": 1, "train_size": 300}
    client.post("/api/train", json=settings)
    read_events(client)
    first = client.app.state.lab.latest_run()
    gone = weakref.ref(first), weakref.ref(first.network)
    del first
    client.post("/api/train", json=settings)
    read_events(client)
    gc.collect()
    assert gone[0]() is None  # the first run's events were let go ...
    assert gone[1]() is client.app.state.lab.shelf.get(1).network  # ... its network is kept on the shelf
    status = client.get("/api/train").json()
    assert [entry["run"] for entry in status["runs"]] == [1, 2]
    assert status["run"]["run"] == 2 and status["previous"]["run"] == 1
    assert status["previous"]["state"] == "done" and status["previous"]["last_epoch"]["epoch"] == 1
    old = client.get("/api/train/events?run=1")
    assert old.status_code == 410 and "latest" in old.json()["error"]
    assert client.get("/api/train/events?run=3").status_code == 404


def test_loading_the_data_stalls_no_other_request(network, data, monkeypatch):
    entered, release = threading.Event(), threading.Event()

    def slow_load_mnist():
        entered.set()
        release.wait(30)
        return data

    monkeypatch.setattr(nnet.datasets, "load_mnist", slow_load_mnist)
    app = make_app(network)  # no data given: MNIST loads on first use
    with TestClient(app) as client:
        loading = threading.Thread(target=client.get, args=("/api/digits",))
        loading.start()
        try:
            assert entered.wait(10)
            answers = {}

            def others():
                answers["model"] = client.get("/api/model").status_code
                answers["neuron"] = client.get("/api/neuron/0/0").status_code
                answers["stop"] = client.post("/api/train/stop").status_code
                answers["predict"] = client.post("/api/predict", json=drawing_body(stroke_one())).status_code

            waiting = threading.Thread(target=others)
            waiting.start()
            waiting.join(10)
            assert not waiting.is_alive(), "a request waited for the data to load"
            assert answers == {"model": 200, "neuron": 200, "stop": 409, "predict": 200}
        finally:
            release.set()
            loading.join(10)
        assert client.get("/api/digits?mode=index&index=0").json()["label"] == int(data[1][1][0])


# -- a model trained in the lab describes itself as `nnet train` does -------------------------------


def test_a_model_saved_by_the_lab_has_the_metadata_of_nnet_train(network, data, tmp_path, capsys):
    from nnet.cli import main
    from nnet.runs import DEFAULTS

    train, test = data
    target = tmp_path / "lab.safetensors"
    command = ["nnet", "lab", "--save", str(target)]
    app = make_app(None, train_data=train, test_data=test, save_path=target, command=command,
                   dataset={"name": "mnist", "path": None, "kind": "registered"})
    with TestClient(app) as client:
        client.post("/api/train", json={"hidden": [8], "epochs": 2, "train_size": 500, "optimizer": "adam",
                                        "learning_rate": 0.01, "lr_schedule": "step"})
        assert read_events(client)[-1]["type"] == "done"
        assert client.post("/api/model/save").status_code == 200
    lab_meta = nnet.load(target).metadata

    # the same structure as a model `nnet train` writes
    archive = tmp_path / "tiny.npz"
    np.savez(archive, x_train=train[0][:200], y_train=train[1][:200], x_test=test[0][:50], y_test=test[1][:50])
    cli_model = tmp_path / "cli.safetensors"
    assert main(["train", "--dataset", str(archive), "--hidden", "8", "--epochs", "1", "--validation", "0",
                 "--quiet", "--out", str(cli_model)]) == 0
    cli_meta = nnet.load(cli_model).metadata
    assert set(lab_meta) == set(cli_meta)
    for key in ("input", "dataset", "training", "scores", "history"):
        assert set(lab_meta[key]) == set(cli_meta[key]), key
    assert set(lab_meta["training"]) - {"preset", "sizes"} == set(DEFAULTS)
    assert lab_meta["input"] == cli_meta["input"]
    assert {part: score is None for part, score in lab_meta["scores"].items()} == \
        {part: score is None for part, score in cli_meta["scores"].items()} == \
        {"train": False, "validation": True, "test": False}

    # and what it says is what happened
    training = lab_meta["training"]
    assert training["sizes"] == [784, 8, 10] and training["hidden"] == [8]
    assert training["optimizer"] == "adam" and training["learning_rate"] == pytest.approx(0.01)
    assert training["lr_schedule"] == "step" and training["momentum"] is None and training["validation"] == 0
    assert training["dataset"] == "mnist" and training["epochs"] == 2
    assert lab_meta["dataset"] == {"name": "mnist", "path": None, "kind": "registered", "train": 500,
                                   "validation": 0, "test": len(test[0])}
    assert lab_meta["classes"] == [str(k) for k in range(10)] and lab_meta["command"] == command
    assert len(lab_meta["history"]["epochs"]) == 2
    assert 0 < lab_meta["scores"]["test"]["accuracy"] <= 1

    capsys.readouterr()
    assert main(["info", str(target)]) == 0
    shown = capsys.readouterr().out
    assert "784-8-10" in shown and "lr_schedule" in shown and "nnet lab --save" in shown
    assert "mnist (500 train, 0 validation, 300 test)" in shown


# -- the rest of the surface ------------------------------------------------------------------------


def test_the_default_app_serves_an_untrained_network(data):
    train, test = data
    with TestClient(make_app(None, train_data=train, test_data=test)) as client:
        model = client.get("/api/model").json()
        assert model["trained"] is False and [layer["size"] for layer in model["layers"]] == [128, 10]
        status = client.get("/api/train").json()
        assert status["state"] == "idle"
        assert status["defaults"]["hidden"] == [128] and status["defaults"]["optimizer"] == "momentum"
        assert client.get("/api/train/events").status_code == 404


def test_api_listing_page_and_unknown_routes(client):
    listing = client.get("/api").json()
    assert {(route["method"], route["path"]) for route in listing["routes"]} == {
        (route["method"], route["path"]) for route in API
    }
    page = client.get("/")
    assert page.status_code == 200 and "nnet lab" in page.text
    for asset in ("lab.js", "lab.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and "GET /api" in missing.json()["error"]
    assert client.get("/api/predict").status_code == 405
