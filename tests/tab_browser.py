"""Browser plumbing shared by the tab's tests (tests/test_tab_*.py): headless Chromium
through Playwright, the tab's iframe inside a real TensorBoard page, its ready hooks, and
reading canvas pixels back as colormap entries.

Without Chromium at /usr/bin/chromium (or the playwright package) the tests skip
locally, and fail in CI.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = "['ready', 'empty', 'error'].includes(document.body?.dataset.picassoState)"
QUALITY_READY = "document.body?.dataset.picassoQuality === 'ready'"
VIEWPORT = {"width": 1440, "height": 900}
STATIC = Path(__file__).resolve().parent.parent / "tensorboard_picasso" / "static"
COLORMAPS = {name: np.array(rows) for name, rows in
             json.loads((STATIC / "colormaps.json").read_text()).items()}


def require_browser() -> None:
    """Skip (locally) or fail (in CI) when the browser or its driver is missing."""
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install playwright)"
    if problem and os.environ.get("CI"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


def launch(playwright):
    """Headless Chromium (Debian's, never a downloaded one)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def tab_url(base: str, **state) -> str:
    """TensorBoard's URL of the Picasso tab with the tab's state as `p.picasso.*` keys."""
    pairs = "".join(f"&{urllib.parse.quote('p.picasso.' + key)}={urllib.parse.quote(str(value), safe='')}"
                    for key, value in state.items())
    return f"{base}#picasso{pairs}"


def plugin_frame(page, timeout: float = 30):
    """The tab's iframe inside TensorBoard's page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "plugin_entry.html?name=picasso" in frame.url:
                return frame
        page.wait_for_timeout(50)
    raise AssertionError("TensorBoard did not load the Picasso tab's iframe")


def wait_ready(frame, timeout_ms: int = 30000) -> None:
    frame.wait_for_function(READY, timeout=timeout_ms, polling=20)


def open_tab(opener, url: str):
    """A new page (of a browser, or of a context with its own viewport) at `url`;
    returns (page, the tab's frame) once the tab has drawn."""
    page = opener.new_page(**({"viewport": VIEWPORT} if hasattr(opener, "new_context") else {}))
    page.goto(url)
    frame = plugin_frame(page)
    wait_ready(frame)
    return page, frame


def act(frame, script: str, arg=None) -> None:
    """Runs `script` in the tab, then waits until it has redrawn (a frame later)."""
    frame.evaluate(script, arg)
    frame.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
    wait_ready(frame)


def select(frame, selector: str, value: str) -> None:
    frame.select_option(selector, value)
    act(frame, "() => {}")


def canvas_rgb(frame, selector: str) -> np.ndarray:
    """The pixels of the first canvas matching `selector`: (H, W, 3) uint8."""
    width, height, data = frame.evaluate("""(selector) => {
        const canvas = document.querySelector(selector);
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return [canvas.width, canvas.height, Array.from(data)];
      }""", selector)
    return np.array(data, np.uint8).reshape(height, width, 4)[..., :3]


def colormap_index(rgb: np.ndarray, name: str) -> np.ndarray:
    """Per pixel of `rgb` (..., 3), the entry of colormap `name` nearest its colour."""
    table = COLORMAPS[name].astype(np.int32)
    distance = ((rgb[..., None, :].astype(np.int32) - table) ** 2).sum(axis=-1)
    return distance.argmin(axis=-1)


def point_at(page, frame, selector: str, x: float, y: float, width: int, height: int) -> None:
    """Moves the mouse over pixel (x, y) of a `width`×`height` map drawn by `selector`."""
    box = frame.locator(selector).first.bounding_box()
    page.mouse.move(box["x"] + (x + 0.5) / width * box["width"], box["y"] + (y + 0.5) / height * box["height"])
