"""Helpers for driving the lab's page in headless Chromium: a lab served in this process, the
browser, digits drawn as strokes, polling, screenshots."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
INK = 100  # MNIST pixels above this are drawn
TIMEOUT_MS = 15_000


@contextlib.contextmanager
def served(app):
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread; yields its URL."""
    import uvicorn

    from nnet.lab.server import address, bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = address(sock)
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "api/model", timeout=2) as response:
                json.load(response)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def new_page(browser, size: str):
    """A page at one of SIZES (the phone one with touch), failing the test on any page error."""
    phone = size == "phone"
    context = browser.new_context(viewport=SIZES[size], has_touch=phone, is_mobile=phone,
                                  device_scale_factor=2 if phone else 1)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    return page


def close_page(page) -> None:
    errors = list(page.errors)
    page.context.close()
    assert not errors, f"the page logged errors: {errors}"


def wait_until(page, expression: str, timeout: float = TIMEOUT_MS / 1000):
    """Poll a JavaScript expression until it is truthy (the lab's Content-Security-Policy forbids
    the eval that page.wait_for_function uses)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {expression}")
        page.wait_for_timeout(50)


def strokes(digit: np.ndarray, side: float) -> list[tuple[float, float, float, float]]:
    """One horizontal drag per run of bright pixels in each row, on a pad ``side`` CSS px wide."""
    image = digit.reshape(28, 28) > INK
    scale = side / 28
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


def draw(page, digit: np.ndarray) -> None:
    """Draw an MNIST digit on the pad with the mouse, stroke by stroke."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    for x0, y0, x1, y1 in strokes(digit, box["width"]):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, box["y"] + y1, steps=3)
        page.mouse.up()


def screenshot(page, folder: Path, name: str) -> Path:
    """A full-page screenshot in ``folder``, copied to $NNET_LAB_SHOTS when set (to look at)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    copies = os.environ.get("NNET_LAB_SHOTS")
    if copies:
        Path(copies).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copies) / path.name)
    return path


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
