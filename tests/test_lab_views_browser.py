"""The lab's views in headless Chromium, at 1280x800 and on a 390x844 phone: the lessons' network
drawn with its connections, honest sigmoid outputs and "I don't know", keyboard and screen-reader
access, Teach (one step raises the right output; an edited weight changes the output; ten
examples and their average), and Inside (health, the map, calibration).

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
    draw,
    new_page,
    no_sideways_scroll,
    screenshot,
    served,
    wait_until,
)

import nnet  # noqa: E402
from nnet.lab import create_app  # noqa: E402

pytestmark = pytest.mark.browser
SIZES = ["desktop", "phone"]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def mnist():
    return nnet.datasets.load_mnist()


@pytest.fixture(scope="module")
def lesson_network(mnist):
    """The lessons' network: 784-30-10, sigmoid everywhere, quadratic cost, SGD at η = 3."""
    (x, y), _ = mnist
    net = nnet.Network([784, 30, 10], seed=0)
    net.fit(x[:10_000], y[:10_000], epochs=1, batch_size=10, optimizer="sgd", learning_rate=3.0, seed=0)
    return net


@pytest.fixture(scope="module")
def lab(lesson_network, mnist):
    (x, y), (x_test, y_test) = mnist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(lesson_network, train_data=(x[:5000], y[:5000]), test_data=(x_test[:2000], y_test[:2000]),
                         source="the lessons' network")
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def output_values(page) -> list[float]:
    """The Teach view's output activations, unrounded (each value cell keeps its number)."""
    return page.evaluate("[...document.querySelectorAll('#view-teach .outputs .value')].map((v) => +v.dataset.a)")


# -- Draw ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_draw_shows_the_lessons_network_with_its_connections_and_honest_outputs(browser, lab, lesson_network,
                                                                               mnist, size, tmp_path):
    _, (x_test, y_test) = mnist
    index = next(i for i in range(50) if lesson_network.predict(x_test[i])[0] == y_test[i] and
                 lesson_network.forward(x_test[i]).max() > 0.8)
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    assert page.locator("#tab-draw").get_attribute("aria-selected") == "true"
    assert page.evaluate("getComputedStyle(document.getElementById('pad')).touchAction") == "none"  # a finger draws
    draw(page, x_test[index])
    label = str(y_test[index])
    wait_until(page, f"document.getElementById('answer').textContent === '{label}'")
    wait_until(page, "+document.querySelector('#layers canvas.links').dataset.links === 300")  # 30 x 10 connections
    note = page.locator("#answer-sure").inner_text()
    assert "need not add up to 1" in note and "%" not in page.locator("#outputs .value").first.inner_text()
    wait_until(page, f"document.getElementById('announce').textContent.includes('says {label}')")
    assert no_sideways_scroll(page)
    hidden = page.locator(".neuron[data-layer='0']")
    assert hidden.count() == 30
    if size == "phone":  # big enough for a finger
        box = hidden.first.bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24
    screenshot(page, tmp_path, f"draw-{size}")

    # the same answer is "I don't know" when the threshold is above its brightest output
    page.locator("#idk").fill("1")
    wait_until(page, "document.getElementById('answer').textContent === '?'")
    assert "I don't know" in page.locator("#answer-sure").inner_text()
    page.locator("#idk").fill("0.5")

    # keyboard: Tab into the hidden layer, arrows move, the neuron is inspected, focus is visible
    page.mouse.move(0, 0)  # no pointer resting on a neuron: the keyboard alone chooses
    hidden.first.focus()
    page.keyboard.press("ArrowDown" if size == "desktop" else "ArrowRight")
    focused = page.evaluate("document.activeElement.dataset.index")
    assert focused == "1"
    wait_until(page, "document.getElementById('neuron-title').textContent.includes('neuron 1')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    wait_until(page, "document.getElementById('input-grid') === null || "
                     "document.querySelector('.input-grid').dataset.showing === 'weights'")
    page.keyboard.press("Enter")
    wait_until(page, "!document.getElementById('top-digits').hidden")
    assert page.locator("#top-digit-row canvas").count() == 8
    wait_until(page, "!document.getElementById('contribution').hidden")
    screenshot(page, tmp_path, f"draw-neuron-{size}")
    close_page(page)


def test_tabs_follow_the_aria_tabs_pattern(browser, lab):
    page = new_page(browser, "desktop")
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    tabs = page.locator("[role=tab]")
    assert tabs.count() == 5
    assert [tabs.nth(i).get_attribute("tabindex") for i in range(5)] == ["0", "-1", "-1", "-1", "-1"]
    page.locator("#tab-draw").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-browse"
    assert page.locator("#tab-browse").get_attribute("aria-selected") == "true"
    assert page.locator("#view-look").get_attribute("aria-labelledby") == "tab-browse"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "tab-inside"
    assert page.locator("#view-inside").is_visible() and page.locator("#view-look").is_hidden()
    close_page(page)


# -- Teach -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_teach_a_digit_and_see_its_output_rise_after_one_step(browser, lab, mnist, size, tmp_path):
    _, (_, y_test) = mnist
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-browse")
    wait_until(page, "document.getElementById('digit-info').textContent.includes('Test digit')")
    page.click("#teach-this-digit")
    wait_until(page, "document.getElementById('teach-cost').textContent !== '–'")
    digit = int(page.locator("#teach-example-info").inner_text().split("#")[1].split(",")[0])
    wait_until(page, "document.querySelectorAll('#view-teach .outputs .value')[0].dataset.a !== undefined")
    values = output_values(page)
    # teach it the answer it finds likeliest after the true one (an output not yet flat at 0)
    wrong = max((k for k in range(10) if k != y_test[digit]), key=lambda k: values[k])
    page.click(f"#teach-labels [data-label='{wrong}']")
    wait_until(page, f"document.querySelector('#teach-labels [aria-checked=true]').dataset.label === '{wrong}'")
    wait_until(page, f"document.querySelectorAll('#view-teach .outputs .target')[{wrong}].textContent === '1'")
    before = output_values(page)[wrong]
    cost_before = float(page.locator("#teach-cost").inner_text())
    page.fill("#teach-rate", "3")
    page.click("#teach-step")
    wait_until(page, "document.getElementById('teach-step-result').textContent.startsWith('One step')")
    wait_until(page, f"+document.querySelectorAll('#view-teach .outputs .value')[{wrong}].dataset.a > {before}")
    assert float(page.locator("#teach-cost").inner_text()) < cost_before
    assert "1 step" in page.locator("#teach-sandbox").inner_text()
    assert no_sideways_scroll(page)
    screenshot(page, tmp_path, f"teach-step-{size}")

    # δ and the desired nudges on the same neurons; a pinned neuron's desired weight changes
    page.click("#teach-modes [data-mode='nudge']")
    assert page.locator("#teach-legend").get_attribute("data-mode") == "nudge"
    assert "hence backpropagation" in page.locator("#teach-mode-caption").inner_text()
    page.locator("#teach-layers .neuron[data-layer='0']").nth(4).click()
    wait_until(page, "!document.getElementById('teach-gradient-box').hidden")
    assert page.locator("#teach-gradient").get_attribute("width") == "28"
    wait_until(page, "document.getElementById('batch-neuron').textContent.includes('neuron 4')")
    wait_until(page, "document.querySelectorAll('#batch-row .batch-example').length === 10")
    assert page.locator("#batch-average").count() == 1
    page.click("#teach-modes [data-mode='delta']")
    screenshot(page, tmp_path, f"teach-delta-{size}")

    page.click("#batch-step")
    wait_until(page, "document.getElementById('batch-result').textContent.startsWith('One step on all ten')")
    page.click("#teach-undo")
    page.click("#teach-reset")
    wait_until(page, "document.getElementById('teach-sandbox').textContent.includes('unchanged')")
    close_page(page)


@pytest.mark.parametrize("size", SIZES)
def test_edit_a_weight_and_see_the_output_change(browser, lab, size, tmp_path):
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-teach")
    wait_until(page, "document.getElementById('teach-cost').textContent !== '–'")
    wait_until(page, "+document.querySelector('#teach-layers canvas.links').dataset.links === 300")
    wait_until(page, "document.querySelectorAll('#batch-row .batch-example').length === 10")  # the page laid out
    before = output_values(page)
    # the most active hidden neuron: its weights matter most for this digit
    source = page.evaluate("""() => {
        const a = [...document.querySelectorAll('#teach-layers .neuron[data-layer="0"]')]
            .map((cell) => +cell.getAttribute('aria-label').match(/a = (\\S+?),/)[1]);
        return a.indexOf(Math.max(...a));
    }""")
    # click a connection from it to an output neuron at a point where no other line is near
    # (the clearest of the ten: a point within a pixel of another line may take that one's click)
    target, point = page.evaluate("""(source) => {
        const layers = document.getElementById('teach-layers');
        layers.querySelector(`.neuron[data-layer="0"][data-index="${source}"]`).scrollIntoView({block: "center"});
        const centre = (l, j) => {
            const r = layers.querySelector(`.neuron[data-layer="${l}"][data-index="${j}"]`).getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        };
        const lines = [];
        for (let j = 0; j < 30; j++) for (let k = 0; k < 10; k++) lines.push([centre(0, j), centre(1, k), j, k]);
        const apart = (x, y, [a, b]) => {
            const dx = b[0] - a[0], dy = b[1] - a[1];
            const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy)));
            return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
        };
        let best = null;
        for (const [a, b, j, k] of lines.filter((line) => line[2] === source)) {
            for (let t = 0.05; t < 0.96; t += 0.01) {
                const x = a[0] + t * (b[0] - a[0]), y = a[1] + t * (b[1] - a[1]);
                const over = document.elementFromPoint(x, y);
                if (over && over.closest('.neuron')) continue;  // a neuron there takes the click
                const gap = Math.min(...lines.filter((line) => line[2] !== j || line[3] !== k).map((line) => apart(x, y, line)));
                if (!best || gap > best[1][2]) best = [k, [x, y, gap]];
            }
        }
        return best;
    }""", source)
    assert point[2] > 1.0, point  # a point of that line a pixel nearer to it than to any other
    middle = point[:2]
    page.mouse.click(*middle)
    wait_until(page, f"document.querySelector('#teach-weights input[data-from=\"{source}\"]') === document.activeElement")
    assert page.locator("#teach-neuron-title").inner_text().startswith(f"Output neuron {target}")
    page.keyboard.type("8")  # the value is selected: typing replaces it
    page.keyboard.press("Enter")  # the number input commits: one change, one edit
    wait_until(page, "document.getElementById('teach-step-result').textContent.startsWith('Weight set')")
    after = output_values(page)
    assert after[target] != before[target]
    assert "1 edited weight" in page.locator("#teach-sandbox").inner_text()
    screenshot(page, tmp_path, f"teach-edit-{size}")
    page.click("#teach-reset")
    wait_until(page, "document.getElementById('teach-sandbox').textContent.includes('unchanged')")
    close_page(page)


# -- Inside ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_inside_shows_health_a_map_and_calibration(browser, lab, size, tmp_path):
    page = new_page(browser, size)
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    page.click("#tab-inside")
    wait_until(page, "document.getElementById('health-verdict').textContent.length > 0")
    assert page.locator(".health-layer").count() == 2
    wait_until(page, "+document.getElementById('map').dataset.points === 2000")
    assert "lie closest to the centre of their own kind" in page.locator("#map-info").inner_text()
    wait_until(page, "+document.getElementById('calibration').dataset.bins > 0")
    page.select_option("#map-layer", "-1")
    wait_until(page, "document.getElementById('map-info').textContent.includes('the pixels') || "
                     "document.getElementById('map-info').textContent.includes('input')")
    canvas = page.locator("#map").bounding_box()
    page.mouse.click(canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2)
    assert no_sideways_scroll(page)
    screenshot(page, tmp_path, f"inside-{size}")
    close_page(page)


def test_no_view_scrolls_sideways_on_a_phone(browser, lab):
    page = new_page(browser, "phone")
    page.goto(lab)
    page.wait_for_selector("#model-line b")
    for view in ("draw", "browse", "teach", "train", "inside"):
        page.click(f"#tab-{view}")
        page.wait_for_timeout(300)
        assert no_sideways_scroll(page), view
    close_page(page)
