"""The lab's JSON API as a contract (issue 9): ``GET /api/openapi.json`` describes every route, and
schemathesis, reading that document, sends the lab (a real server on 127.0.0.1, uvicorn in a
thread) requests the document allows and requests it does not; every answer must be a status the
document lists, with the content it promises, and never a 5xx.

Bounded for CI: ``LAB_EXAMPLES`` examples per operation and mode (raise it with the environment
variable NNET_SCHEMATHESIS_EXAMPLES for a longer run: see fuzz/README.md)."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import nnet  # noqa: E402
from nnet.lab import API, create_app, openapi  # noqa: E402
from nnet.lab.server import bind  # noqa: E402

LAB_EXAMPLES = int(os.environ.get("NNET_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """A lab on 127.0.0.1 (a free port), serving a small network, with a few images to train on
    (so a training run started by a generated request ends within a second or so)."""
    import uvicorn

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 784), dtype=np.uint8)
    y = np.arange(40) % 10
    network = nnet.Network([784, 6, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    app = create_app(network, train_data=(x, y), test_data=(x[:10], y[:10]),
                     save_path=tmp_path_factory.mktemp("lab") / "model.safetensors")
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    host, port = sock.getsockname()[:2]
    assert host == "127.0.0.1"
    yield f"http://127.0.0.1:{port}"
    run = app.state.lab.latest_run()
    if run is not None:
        run.stop()
        run.join(10)
    server.should_exit = True
    thread.join(10)


#: The document the lab serves (test_the_document_lists_every_route_and_no_other checks that it is
#: this one), loaded when the module is: schemathesis makes one test per operation from it.
schema = schemathesis.openapi.from_dict(openapi.DOCUMENT)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=LAB_EXAMPLES, database="none")


@schema.parametrize()
@settings(max_examples=LAB_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_lab_keeps_its_contract(case, lab_url):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.call_and_validate(
            base_url=lab_url,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            timeout=30,
        )


def test_the_document_lists_every_route_and_no_other(lab_url):
    import httpx

    served = httpx.get(f"{lab_url}/api/openapi.json").json()
    assert served == openapi.DOCUMENT
    documented = {(method.upper(), path) for path, item in served["paths"].items() for method in item}
    listed = {(route["method"], route["path"]) for route in API}
    assert documented == listed
    app_routes = create_app(nnet.Network([4, 2], seed=0)).routes
    served_paths = {route.path for route in app_routes if route.path.startswith("/api")}
    assert served_paths == {path for _, path in documented}
