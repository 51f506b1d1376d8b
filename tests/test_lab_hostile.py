"""The lab under hostile requests (issue 9, findings 3, 6 and 11): every one gets a 4xx and one
sentence, never a 500; a full disk loses nothing; one click cannot start a twelve-hour run."""

from __future__ import annotations

import base64
import errno
import os
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
from nnet.lab import create_app  # noqa: E402
from nnet.lab.app import LOCAL_HOSTS  # noqa: E402

TEST_HOSTS = [*LOCAL_HOSTS, "testserver"]
HUGE = "9" * 5000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 784), dtype=np.uint8)
    y = np.arange(60) % 10
    return (x, y), (x[:20], y[:20])


@pytest.fixture(scope="module")
def network():
    return nnet.Network([784, 6, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)


def lab(network, data, **options):
    train, test = data
    app = create_app(network, train_data=train, test_data=test, allowed_hosts=TEST_HOSTS,
                     progress_seconds=0.0, weights_seconds=0.0, **options)
    return app, TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(network, data):
    app, client = lab(network, data)
    with client:
        yield client
    run = app.state.lab.latest_run()
    if run is not None:
        run.stop()
        run.join(10)


def post(client, path, body: bytes):
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def raw_get(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, str]:
    """GET ``path`` straight through ASGI with these header bytes, as a browser may send them
    (TestClient re-encodes header values): ``(status, body)``."""
    import asyncio

    sent, requested = [], []

    async def receive():  # the request once; then the client stays until the response is over
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        while not (sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body")):
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return status, body.decode("utf-8", "replace")


def refused(response, status: int, fragment: str = "") -> str:
    assert response.status_code == status, (response.status_code, response.text[:300])
    message = response.json()["error"]
    assert "\n" not in message and len(message) < 400 and fragment in message, message
    return message


# -- finding 6: no 5xx ------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/api/predict", "/api/train"])
def test_a_body_of_100000_nested_brackets_is_a_400(client, route):
    refused(post(client, route, b"[" * 100_000), 400, "not valid JSON")
    refused(post(client, route, b'{"a":' * 50_000 + b"1" + b"}" * 50_000), 400, "nested too deeply")


@pytest.mark.parametrize("body", [f'{{"epochs": {HUGE}}}', f'{{"input": [{HUGE}]}}', f'[-{HUGE}]'])
def test_a_5000_digit_integer_is_a_400(client, body):
    for route in ("/api/predict", "/api/train"):
        refused(post(client, route, body.encode()), 400, "at most 20 digits")


@pytest.mark.parametrize("path", [f"/api/neuron/0/{HUGE}", f"/api/neuron/{HUGE}/0", "/api/neuron/0/-1",
                                  "/api/neuron/٣/0", "/api/neuron/0/1_0", "/api/neuron/0/%20"])
def test_a_bad_neuron_path_is_a_404(client, path):
    refused(client.get(path), 404)


def test_bad_numbers_in_queries_and_headers_are_4xx(client):
    refused(client.get(f"/api/digits?mode=index&index={HUGE}"), 422, "must be an integer")
    refused(client.get("/api/digits?mode=index&index=٣"), 422, "must be an integer")
    refused(client.get(f"/api/train/events?run={HUGE}"), 422)
    response = client.post("/api/predict", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "²".encode("latin-1")})
    assert response.status_code == 400


@pytest.mark.parametrize("last_seen", ["²", HUGE, "-1", " 3", "1e3", "٣"])
def test_a_strange_last_event_id_starts_from_the_beginning(client, last_seen):
    started = client.post("/api/train", json={"epochs": 1, "train_size": 10, "batch_size": 10, "hidden": [4]})
    assert started.status_code == 202
    client.app.state.lab.latest_run().join(30)
    raw = last_seen.encode("latin-1" if last_seen.isascii() or last_seen == "²" else "utf-8")
    status, text = raw_get(client.app, "/api/train/events", [(b"last-event-id", raw)])
    assert status == 200, text[:300]
    events = [line for line in text.splitlines() if line.startswith("event: ")]
    assert events[0] == "event: start" and events[-1] in ("event: done", "event: error")


def test_saving_to_a_full_disk_is_a_409_and_loses_nothing(network, data, tmp_path, monkeypatch):
    target = tmp_path / "model.safetensors"
    nnet.save(network, target)
    app, client = lab(network, data, save_path=target)
    real_fsync = os.fsync

    def full(descriptor):
        if not os.path.isdir(f"/proc/self/fd/{descriptor}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    with client:
        monkeypatch.setattr(os, "fsync", full)
        message = refused(client.post("/api/model/save"), 409, f"cannot save to {target}: No space left on device")
        assert "the served model is unchanged" in message
        monkeypatch.undo()
        assert client.get("/api/model").status_code == 200
        assert client.post("/api/model/save").status_code == 200  # room again: it saves
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.safetensors"]  # no temporary left


# -- finding 3: the lab reads only raster formats ------------------------------------------------

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n0 0 moveto 28 28 lineto stroke\nshowpage\n"


def test_postscript_sent_as_an_image_never_reaches_ghostscript(client, monkeypatch):
    from PIL import EpsImagePlugin

    def no(*args, **kwargs):
        raise AssertionError("the EPS decoder was asked to read a drawing")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", no)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no, raising=False)
    image = "data:image/png;base64," + base64.b64encode(POSTSCRIPT).decode()
    refused(client.post("/api/predict", json={"image": image}), 422, "not an image in one of the formats")


# -- finding 11: the work of one run is bounded --------------------------------------------------


def test_one_click_cannot_start_a_twelve_hour_run(network):
    x = np.zeros((60_000, 784), np.uint8)
    y = np.arange(60_000) % 10
    app, client = lab(network, ((x, y), (x[:10], y[:10])))
    with client:
        limits = client.get("/api/train").json()["limits"]
        assert limits["work"][1] > 0
        twelve_hours = {"hidden": [1024] * 4, "batch_size": 1, "epochs": 100, "train_size": 60_000}
        response = client.post("/api/train", json=twelve_hours)
        run = app.state.lab.latest_run()
        if run is not None:  # the old lab started it
            run.stop()
            run.join(30)
        refused(response, 422, "too much work for the lab")
        assert client.post("/api/train", json={"train_size": 60_000, "epochs": 3}).status_code == 202  # the default run
        app.state.lab.latest_run().stop()
        app.state.lab.latest_run().join(30)


def test_the_form_says_that_a_run_is_bounded(client):
    page = client.get("/").text
    assert 'id="f-work"' in page and "One run may do only so much work" in page
    script = client.get("/static/train.js").text  # the Train view's module
    assert "limits.work" in script
