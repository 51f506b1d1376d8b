"""The Train view in headless Chromium, at 1280x800 and on a 390x844 phone: a run paused and
stepped, its learning rate changed while it runs, its weights shown as their change since the
start; a run that kills its network flagged and not swapped in; a healthy run chosen by hand.

Each test saves screenshots under its tmp_path (and $NNET_LAB_SHOTS, to look at).
"""

from __future__ import annotations

import os
import warnings

import pytest

pytest.importorskip("playwright")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from _lab_pages import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    close_page,
    new_page,
    no_sideways_scroll,
    screenshot,
    served,
    wait_until,
)

import nnet  # noqa: E402
from nnet.lab import create_app  # noqa: E402

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def mnist():
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x[:4000], y[:4000]), (x_test[:1000], y_test[:1000])


@pytest.fixture
def lab(mnist):
    """A fresh lab per test (runs change what it serves), serving a small trained network."""
    (x, y), test = mnist
    net = nnet.Network([784, 16, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    net.fit(x, y, epochs=1, batch_size=32, optimizer="momentum", learning_rate=0.05, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(net, train_data=(x, y), test_data=test, source="the first model")
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def start_run(page, **settings):
    for field, value in settings.items():
        page.fill(f"#f-{field}", str(value))
    page.click("#train-start")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_run_that_kills_its_network_is_flagged_and_not_swapped_in(browser, lab, size, tmp_path):
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-train")
    start_run(page, **{"hidden": "32", "learning-rate": "10", "epochs": "1", "batch-size": "16", "train-size": "2000"})
    wait_until(page, "document.getElementById('train-status').textContent.includes('finished')", timeout=60)
    status = page.locator("#train-status").inner_text()
    assert "Look out" in status and "the current model stays" in status
    wait_until(page, "document.querySelectorAll('.run').length === 1")  # the list follows the status
    flagged = page.locator(".run.flagged")
    assert flagged.count() == 1 and ("dead" in flagged.inner_text() or "guessing" in flagged.inner_text())
    assert "the first model" in page.locator("#model-line").inner_text()  # not swapped in
    assert no_sideways_scroll(page)
    screenshot(page, tmp_path, f"train-flagged-{size}")
    close_page(page)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_pause_step_a_live_learning_rate_and_choosing_a_run(browser, lab, size, tmp_path):
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-train")
    page.select_option("#f-preset", "lesson")
    assert page.locator("#f-cost").input_value() == "quadratic" and page.locator("#f-output").input_value() == "sigmoid"
    start_run(page, **{"epochs": "30", "train-size": "4000"})
    wait_until(page, "!document.getElementById('steer').disabled")
    page.click("#train-pause")
    wait_until(page, "document.getElementById('train-status').textContent.includes('(paused)')")
    page.click("#train-step")
    wait_until(page, "document.getElementById('train-pause').textContent === 'Resume'")
    page.fill("#live-rate", "0.5")
    page.click("#live-rate-set")
    page.click("#train-step")
    wait_until(page, "document.getElementById('train-status').textContent.includes('η = 0.5')")
    wait_until(page, "+document.getElementById('chart-gradients').dataset.points > 0")
    page.click("#tile-modes [data-tiles='change']")
    wait_until(page, "document.getElementById('weight-grid').dataset.showing === 'change'")
    assert "since the run began" in page.locator("#tile-caption").inner_text()
    screenshot(page, tmp_path, f"train-paused-{size}")
    page.click("#train-stop")
    wait_until(page, "document.getElementById('train-status').textContent.includes('stopped')", timeout=60)
    wait_until(page, "document.querySelectorAll('.run').length === 1")
    run = page.locator(".run").first
    assert "η = 3 → 0.5" in run.inner_text()
    assert "the first model" in page.locator("#model-line").inner_text()
    run.locator("button.use").click()
    wait_until(page, "document.getElementById('model-line').textContent.includes('run 1')")
    assert "quadratic" in page.locator("#model-line").inner_text()
    assert page.locator(".run .served").count() == 1
    assert no_sideways_scroll(page)
    screenshot(page, tmp_path, f"train-chosen-{size}")
    close_page(page)
