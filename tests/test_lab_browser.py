"""The web lab in headless Chromium, driven by Playwright, against the real `nnet lab` command.

Draws a known MNIST test digit with the mouse and expects the right answer on the page, points
at a hidden neuron and expects its weight image, starts a training run and watches the curves
grow. Each view is saved as a screenshot under the test's tmp_path; set NNET_LAB_SHOTS=folder
to get copies there too, to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("PIL")

import nnet  # noqa: E402
from nnet.images import to_mnist  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PAD = 280  # the drawing pad's size in CSS pixels (10 per MNIST pixel)
PEN = 22  # the page's pen width on the pad
INK = 100  # MNIST pixels above this are drawn
TIMEOUT_MS = 15_000

if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


# -- a digit as mouse strokes ----------------------------------------------------------------------


def strokes(digit: np.ndarray) -> list[tuple[float, float, float, float]]:
    """One horizontal drag per run of bright pixels in each row: (x0, y0, x1, y1) on the pad."""
    image = digit.reshape(28, 28) > INK
    scale = PAD / 28
    lines = []
    for row in range(28):
        columns = np.flatnonzero(image[row])
        if not columns.size:
            continue
        breaks = np.flatnonzero(np.diff(columns) > 1)
        for start, end in zip(np.r_[columns[0], columns[breaks + 1]], np.r_[columns[breaks], columns[-1]]):
            y = (row + 0.5) * scale
            lines.append(((start + 0.5) * scale, y, (end + 0.5) * scale, y))
    return lines


def render(lines) -> np.ndarray:
    """The pad as the page would paint those strokes: black round-capped lines on white."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (PAD, PAD), 255)
    draw = ImageDraw.Draw(image)
    r = PEN / 2
    for x0, y0, x1, y1 in lines:
        draw.line([(x0, y0), (x1, y1)], fill=0, width=PEN)
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=0)
    return np.asarray(image)


# -- fixtures: a trained model, the real server, a browser -------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return nnet.datasets.load_mnist()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, mnist):
    (x, y), (x_test, y_test) = mnist
    network = nnet.Network([784, 64, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    network.fit(x[:20_000], y[:20_000], epochs=2, batch_size=64, optimizer="momentum", learning_rate=0.1,
                lr_schedule="cosine", seed=0)
    scores = network.evaluate(x_test, y_test)
    path = tmp_path_factory.mktemp("lab") / "digits.safetensors"
    nnet.save(network, path, metadata={"scores": {"test": {"accuracy": scores.accuracy, "cost": scores.cost}}})
    return path, network


def start_lab(*arguments) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nnet.cli", "lab", *arguments, "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not match:
        process.kill()
        pytest.fail(f"nnet lab printed no address: {line!r}; stderr: {process.stderr.read()}")
    return process, match.group(0)


def stop_lab(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def lab(model_file):
    process, url = start_lab(str(model_file[0]))
    yield url
    stop_lab(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1366, "height": 860})
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    yield page
    page.close()
    assert not errors, f"the page logged errors: {errors}"


def wait_until(page, expression: str, timeout: float = TIMEOUT_MS / 1000):
    """Poll a JavaScript expression until it is truthy. (page.wait_for_function compiles its
    predicate with eval, which the lab's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {expression}")
        page.wait_for_timeout(50)


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    copies = os.environ.get("NNET_LAB_SHOTS")
    if copies:
        Path(copies).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copies) / path.name)
    return path


# -- the views ------------------------------------------------------------------------------------------


def test_draw_a_test_digit_and_look_at_a_neuron(page, lab, model_file, mnist, tmp_path):
    _, network = model_file
    _, (x_test, y_test) = mnist
    # the first test digit whose drawing (as the page will paint it) the model reads right, surely
    for index in range(100):
        lines = strokes(x_test[index])
        drawn = network.forward(to_mnist(render(lines)))[0]
        if drawn.argmax() == y_test[index] == network.predict(x_test[index])[0] and drawn.max() > 0.9:
            break
    label = str(y_test[index])

    page.goto(lab)
    page.wait_for_selector("#model-line b")
    assert page.locator("#tab-draw").get_attribute("aria-selected") == "true"
    box = page.locator("#pad").bounding_box()
    assert box["width"] == pytest.approx(PAD, abs=1)
    for x0, y0, x1, y1 in lines:
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, box["y"] + y1, steps=3)
        page.mouse.up()
    wait_until(page, f"document.getElementById('answer').textContent === '{label}' "
                     "&& document.querySelector('#outputs .name.best') !== null")
    assert page.locator("#outputs .name.best").inner_text() == label
    assert page.locator(".neuron[data-layer='0']").count() == 64  # the hidden layer, one square per neuron
    assert page.locator("#outputs .neuron").count() == 10
    screenshot(page, tmp_path, "draw")

    page.locator(".neuron[data-layer='0']").nth(7).click()
    page.wait_for_selector("#inspector-body:not([hidden])")
    wait_until(page, "document.getElementById('neuron-weights').dataset.index === '7'")
    weights = page.locator("#neuron-weights")
    assert weights.get_attribute("width") == "28" and weights.get_attribute("data-layer") == "0"
    assert "neuron 7" in page.locator("#neuron-title").inner_text()
    assert page.locator("#neuron-z").inner_text() != "–"
    screenshot(page, tmp_path, "draw-neuron")

    page.click("#undo")
    page.click("#clear")
    wait_until(page, "document.getElementById('answer').textContent === '–'")


def test_browse_the_test_digits(page, lab, tmp_path):
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-browse")
    wait_until(page, "document.getElementById('digit-info').textContent.includes('Test digit')")
    page.select_option("#browse-mode", "mistakes")
    wait_until(page, "document.getElementById('digit-info').textContent.includes('mistake 1 of')")
    assert page.locator("#digit-info .wrong").count() == 1
    page.click("#browse-next")
    wait_until(page, "document.getElementById('digit-info').textContent.includes('mistake 2 of')")
    screenshot(page, tmp_path, "browse")


def test_train_from_the_page_and_watch_the_curves(page, lab, tmp_path):
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-train")
    page.fill("#f-hidden", "32")
    page.fill("#f-epochs", "2")
    page.fill("#f-batch-size", "8")  # many small steps: many points on the curve ...
    page.fill("#f-learning-rate", "0.01")  # ... each small enough to learn (~95%, not ~30% at 0.1)
    page.fill("#f-train-size", "20000")
    page.evaluate("""() => {  // record every value the cost chart's point count takes
        window.pointCounts = [];
        const chart = document.getElementById('chart-cost');
        new MutationObserver(() => window.pointCounts.push(+chart.dataset.points))
            .observe(chart, {attributes: true, attributeFilter: ['data-points']});
    }""")
    page.click("#train-start")
    wait_until(page, "window.pointCounts.length >= 1")
    wait_until(page, "document.getElementById('train-status').textContent.includes('finished')", timeout=45)
    counts = page.evaluate("window.pointCounts")
    assert len(set(counts)) >= 2 and counts == sorted(counts) and counts[-1] > counts[0], counts  # it grew
    assert page.locator("#weight-grid canvas").count() == 32
    assert page.locator("#train-start").is_enabled() and page.locator("#train-stop").is_disabled()
    screenshot(page, tmp_path, "train")
    assert "trained in the lab" not in page.locator("#model-line").inner_text()  # kept, not swapped in ...
    wait_until(page, "document.querySelector('.run button.use') !== null")
    page.click(".run button.use")  # ... until chosen
    wait_until(page, "document.getElementById('model-line').textContent.includes('trained in the lab')")
    page.click("#tab-draw")
    assert page.locator("#view-train").is_hidden()


def test_with_no_model_the_lab_trains_the_default_network(page, tmp_path):
    process, url = start_lab()
    try:
        page.goto(url)
        page.wait_for_selector("#model-line b")
        assert page.locator("#tab-train").get_attribute("aria-selected") == "true"
        wait_until(page, "+document.getElementById('chart-cost').dataset.points >= 1")
        assert "not learned anything yet" in page.locator("#banner").inner_text()
        assert "default network" in page.locator("#train-intro").inner_text()
        screenshot(page, tmp_path, "train-default")
        page.goto("about:blank")  # leave before the server goes, so its event stream is not cut
    finally:
        stop_lab(process)
