"""The lab's prediction round trip: a drawing POSTed to a running `nnet lab`, through a real socket.

Starts the real server (``python -m nnet.cli lab MODEL --port 0 --no-browser``) on 127.0.0.1,
then POSTs the drawing the page would send (a 280x280 gray canvas holding an MNIST test digit
drawn ten times larger, base64 in JSON, ~105 KB) over one keep-alive HTTP connection, as the
browser does, many times. Prints the median, p95 and max round trip in milliseconds and the
server's own share (preprocessing + forward pass + JSON, the response's ``ms``). The target:
a median under 50 ms, so the page can answer ~10 times a second while you draw.

With ``--page`` it also measures the whole way in the page itself, in headless Chromium
(Playwright, Debian's ``/usr/bin/chromium``): a test digit drawn on the pad stroke by stroke with
the mouse, and the time from the last stroke's pointer-up to the answer painted on the page (the
forward pass drawn on every neuron, the connections of small layers, the outputs), ``--drawings``
times. That includes waiting for a request still in flight when the pen lifts, as a person would.

    python benchmarks/lab_latency.py                    # a [784, 128, 10] network, 300 requests
    python benchmarks/lab_latency.py --page --lesson    # and in the page, for the lessons' 784-30-10
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


def default_model(folder: Path, lesson: bool = False) -> Path:
    (x_train, y_train), _ = datasets.load_mnist()
    if lesson:  # the lessons' network: its 30 x 10 connections are drawn on the page
        network = nnet.Network([784, 30, 10], seed=0)
        network.fit(x_train[:10_000], y_train[:10_000], epochs=1, batch_size=10, optimizer="sgd",
                    learning_rate=3.0, seed=0)
    else:
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


def strokes(digit: np.ndarray, side: float, ink: int = 100) -> list[tuple[float, float, float, float]]:
    """The digit as horizontal drags, one per run of ink in each row, on a pad ``side`` px wide."""
    image = digit.reshape(28, 28) > ink
    scale = side / 28
    lines = []
    for row in range(28):
        columns = np.flatnonzero(image[row])
        if columns.size:
            breaks = np.flatnonzero(np.diff(columns) > 1)
            for start, end in zip(np.r_[columns[0], columns[breaks + 1]], np.r_[columns[breaks], columns[-1]]):
                y = (row + 0.5) * scale
                lines.append(((start + 0.5) * scale, y, (end + 0.5) * scale, y))
    return lines


def measure_page(url: str, digits: np.ndarray, drawings: int) -> dict:
    """Pointer-up to painted answer in headless Chromium, for ``drawings`` digits drawn by mouse."""
    from playwright.sync_api import sync_playwright

    watch = """() => {  // the time of the last pointer-up, and of each answer painted after it
        const pad = document.getElementById('pad');
        window.lifted = 0; window.answered = [];
        pad.addEventListener('pointerup', () => { window.lifted = performance.now(); });
        new MutationObserver(() => window.answered.push(performance.now()))
            .observe(pad, {attributes: true, attributeFilter: ['data-answered']});
    }"""
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        page.wait_for_selector("#model-line b")
        page.evaluate(watch)
        box = page.locator("#pad").bounding_box()
        for drawing in range(drawings):
            page.click("#clear")
            lines = strokes(digits[drawing % len(digits)], box["width"])
            for x0, y0, x1, y1 in lines:
                page.mouse.move(box["x"] + x0, box["y"] + y0)
                page.mouse.down()
                page.mouse.move(box["x"] + x1, box["y"] + y1, steps=2)
                page.mouse.up()
            lifted = page.evaluate("window.lifted")
            deadline = time.monotonic() + 10
            while True:  # the answer to the finished drawing: the last one painted after the pen lifted
                answered = [t for t in page.evaluate("window.answered") if t > lifted]
                page.wait_for_timeout(120)
                settled = [t for t in page.evaluate("window.answered") if t > lifted]
                if answered and settled == answered or time.monotonic() > deadline:
                    break
            if answered:
                times.append(answered[-1] - lifted)
        browser.close()
    trips = np.array(times)
    return {"drawings": len(times), "median_ms": float(np.median(trips)), "p95_ms": float(np.percentile(trips, 95)),
            "max_ms": float(trips.max())}


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
    parser.add_argument("--page", action="store_true", help="also measure in headless Chromium: pen up to answer painted")
    parser.add_argument("--drawings", type=int, default=40, help="--page: how many digits to draw")
    parser.add_argument("--lesson", action="store_true", help="use the lessons' 784-30-10 network (connections drawn)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    _, (x_test, _) = datasets.load_mnist()
    body = drawing(x_test[0])
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or default_model(Path(folder), lesson=args.lesson)
        process, url = start_lab(model)
        try:
            results = {"idle": measure(url, body, args.repeats)}
            report("prediction round trip", results["idle"])
            if args.while_training:
                post(url, "/api/train", json.dumps({"epochs": 50, "hidden": [256]}).encode())
                results["training"] = measure(url, body, args.repeats)
                report("  ... while training", results["training"])
                post(url, "/api/train/stop")
            if args.page:
                results["page"] = measure_page(url, x_test[:100], args.drawings)
                page = results["page"]
                print(f"in the page, pen up to answer painted: median {page['median_ms']:.1f} ms, p95 "
                      f"{page['p95_ms']:.1f} ms, max {page['max_ms']:.1f} ms over {page['drawings']} drawings", flush=True)
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
