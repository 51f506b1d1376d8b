"""The lab's prediction round trip: a drawing POSTed to a running `nnet lab`, through a real socket.

Starts the real server (``python -m nnet.cli lab MODEL --port 0 --no-browser``) on 127.0.0.1,
then POSTs the drawing the page would send (a 280x280 gray canvas holding an MNIST test digit
drawn ten times larger, base64 in JSON, ~105 KB) over one keep-alive HTTP connection, as the
browser does, many times. Prints the median, p95 and max round trip in milliseconds and the
server's own share (preprocessing + forward pass + JSON, the response's ``ms``). The target:
a median under 50 ms, so the page can answer ~10 times a second while you draw.

    python benchmarks/lab_latency.py                    # a [784, 128, 10] network, 300 requests
    python benchmarks/lab_latency.py --model model.safetensors --repeats 1000
    python benchmarks/lab_latency.py --while-training   # again with a training run going
    python benchmarks/lab_latency.py --json benchmarks/results/lab_latency.json
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

import nnet
from nnet import datasets

TARGET_MS = 50.0
SIDE = 280


def drawing(digit: np.ndarray) -> bytes:
    """The page's request body for an MNIST digit drawn as black ink on a white 280x280 canvas."""
    big = np.kron(digit.reshape(28, 28), np.ones((SIDE // 28, SIDE // 28), np.uint8))
    canvas = (255 - big).astype(np.uint8)
    body = {"width": SIDE, "height": SIDE, "pixels": base64.b64encode(canvas.tobytes()).decode()}
    return json.dumps(body).encode()


def default_model(folder: Path) -> Path:
    (x_train, y_train), _ = datasets.load_mnist()
    network = nnet.Network([784, 128, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    network.fit(x_train[:10_000], y_train[:10_000], epochs=1, batch_size=64, optimizer="momentum",
                learning_rate=0.1, seed=0)
    return nnet.save(network, folder / "model.safetensors")


def start_lab(model: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nnet.cli", "lab", str(model), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"http://[\d.]+:\d+/", line)
    if not match:
        process.kill()
        raise SystemExit(f"nnet lab did not print its address: {line!r} {process.stderr.read()}")
    return process, match.group(0)


def measure(url: str, body: bytes, repeats: int, warmup: int = 20) -> dict:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    round_trips, server = [], []
    for attempt in range(warmup + repeats):
        started = time.perf_counter()
        connection.request("POST", "/api/predict", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"POST /api/predict answered {response.status}: {payload[:200]!r}")
        if attempt >= warmup:
            round_trips.append(elapsed)
            server.append(json.loads(payload)["ms"])
    connection.close()
    trips = np.array(round_trips)
    return {
        "repeats": repeats,
        "request_bytes": len(body),
        "response_bytes": len(payload),
        "median_ms": float(np.median(trips)),
        "p95_ms": float(np.percentile(trips, 95)),
        "max_ms": float(trips.max()),
        "server_median_ms": float(np.median(server)),
    }


def post(url: str, path: str, body: bytes = b"") -> None:
    """One POST on a connection of its own (the keep-alive one may have timed out meanwhile)."""
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    connection.getresponse().read()
    connection.close()


def report(title: str, result: dict) -> None:
    print(
        f"{title}: median {result['median_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, "
        f"max {result['max_ms']:.2f} ms over {result['repeats']} requests "
        f"(server side {result['server_median_ms']:.2f} ms; request {result['request_bytes'] / 1024:.0f} KB, "
        f"response {result['response_bytes'] / 1024:.0f} KB)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model file (default: train a [784, 128, 10] one briefly)")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--while-training", action="store_true", help="also measure with a training run going")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    _, (x_test, _) = datasets.load_mnist()
    body = drawing(x_test[0])
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or default_model(Path(folder))
        process, url = start_lab(model)
        try:
            results = {"idle": measure(url, body, args.repeats)}
            report("prediction round trip", results["idle"])
            if args.while_training:
                post(url, "/api/train", json.dumps({"epochs": 50, "hidden": [256]}).encode())
                results["training"] = measure(url, body, args.repeats)
                report("  ... while training", results["training"])
                post(url, "/api/train/stop")
        finally:
            process.terminate()
            process.wait(10)
    median = results["idle"]["median_ms"]
    verdict = "OK" if median < TARGET_MS else "TOO SLOW"
    print(f"{verdict}: median {median:.2f} ms against a target of {TARGET_MS:.0f} ms", flush=True)
    if args.json:
        results.update(machine=platform.platform(), python=platform.python_version(), target_ms=TARGET_MS)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
