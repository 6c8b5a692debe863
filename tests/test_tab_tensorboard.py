"""The tab as part of TensorBoard (issue 11), in a real TensorBoard page with each of its
loaders and headless Chromium: its view lives in TensorBoard's URL, it follows
TensorBoard's theme, run selector and reload, it is usable by keyboard alone, and an
automated accessibility audit (axe-core, vendored under tests/vendor/) finds no serious
or critical violation. Logs: tests/tab_logs.py's two runs of known maps.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest
from tab_browser import (VIEWPORT, act, open_tab, plugin_frame, select, tab_url, wait_ready)
from tab_logs import write_known_maps
from tensorboard_harness import tensorboard_process

CONFOUNDED, CLEAN = "confounded/picasso", "clean/picasso"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RELOAD_OFF = "localStorage.setItem('_tb_global_settings', JSON.stringify({autoReload: false}))"
QUIET_SECONDS = 15


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    return write_known_maps(tmp_path_factory.mktemp("tab_logs"))


@pytest.fixture(scope="module", params=["true", "false"], ids=lambda v: f"load_fast={v}")
def base(request, known):
    def loaded(index):
        return {r["run"] for r in index["runs"] if r.get("methods")} == set(known.runs)

    with tensorboard_process(known.root, request.param, ready=loaded) as url:
        yield url


@pytest.fixture
def context(browser):
    """A fresh browser profile (own storage) with TensorBoard's auto-reload off."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RELOAD_OFF)
    yield context
    context.close()


def url_state(page):
    """The tab's `p.picasso.*` entries of TensorBoard's URL."""
    pairs = page.url.split("#", 1)[1].split("&")[1:]
    return {urllib.parse.unquote(k)[len("p.picasso."):]: urllib.parse.unquote(v)
            for k, v in (pair.split("=", 1) for pair in pairs) if k.startswith("p.picasso.")}


def wait_url(page, key, value, timeout=5):
    deadline = time.monotonic() + timeout
    while url_state(page).get(key) != value:
        assert time.monotonic() < deadline, f"the URL did not get {key}={value}: {page.url}"
        page.wait_for_timeout(50)


def _count_within(page, requests, count, timeout=10):
    """Whether `requests` (appended to by a page listener) reaches `count` in time."""
    deadline = time.monotonic() + timeout
    while len(requests) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return len(requests) == count


def test_a_view_set_in_the_url_opens_as_set_and_changes_update_the_url(context, base):
    state = {"run": CLEAN, "method": "gradcam", "target": "true", "step": 1, "image": 2,
             "scale": "view", "clip": 100, "colormap": "inferno", "opacity": 0.3,
             "compare": "steps", "a": 0, "b": 2}
    page, frame = open_tab(context, tab_url(base, **state))
    assert frame.input_value("#run") == CLEAN and frame.input_value("#target") == "true"
    assert frame.text_content("#step-label") == "step 1"
    assert (frame.input_value("#scale"), frame.input_value("#clip")) == ("view", "100")
    assert (frame.input_value("#colormap"), frame.input_value("#opacity")) == ("inferno", "0.3")
    assert frame.get_attribute("#picasso-grid .row-head.selected", "data-image") == "2"
    assert frame.is_visible("#compare-view")
    assert (frame.input_value("#compare-step-a"), frame.input_value("#compare-step-b")) == ("0", "2")

    frame.focus("#step-slider")
    page.keyboard.press("ArrowRight")
    select(frame, "#colormap", "gray")
    wait_url(page, "step", "2")
    wait_url(page, "colormap", "gray")
    assert url_state(page)["compare"] == "steps" and url_state(page)["run"] == CLEAN
    page.reload()
    frame = plugin_frame(page)
    wait_ready(frame)
    assert frame.text_content("#step-label") == "step 2" and frame.input_value("#colormap") == "gray"
    assert frame.is_visible("#compare-view")
    page.close()
    # colormap and opacity are remembered: a link without them opens with the last ones
    page, frame = open_tab(context, tab_url(base, run=CLEAN))
    assert (frame.input_value("#colormap"), frame.input_value("#opacity")) == ("gray", "0.3")


def test_the_tab_lands_on_the_most_recently_written_run(context, base):
    _, frame = open_tab(context, tab_url(base))
    assert frame.input_value("#run") == CLEAN  # written after the confounded run


def test_runs_unchecked_in_tensorboards_run_selector_disappear(context, base):
    page = context.new_page()
    page.goto(base + "#timeseries")
    row = f"tb-data-table-content-row[data-id$='/{CLEAN}']"
    page.wait_for_selector(row, timeout=30000)
    colour = page.eval_on_selector(f"{row} .run-color-swatch", "s => getComputedStyle(s).backgroundColor")
    page.click(f"tb-data-table-content-row[data-id$='/{CONFOUNDED}'] input[type=checkbox]")
    page.evaluate("location.hash = '#picasso'")
    frame = plugin_frame(page)
    wait_ready(frame)
    assert frame.eval_on_selector_all("#run option", "os => os.map(o => o.value)") == [CLEAN]
    assert frame.eval_on_selector(".run-swatch", "s => getComputedStyle(s).backgroundColor") == colour
    page.evaluate("location.hash = '#timeseries'")
    page.click(f"tb-data-table-content-row[data-id$='/{CONFOUNDED}'] input[type=checkbox]")
    page.click(f"{row} input[type=checkbox]")
    page.evaluate("location.hash = '#picasso'")
    frame.wait_for_function(f"[...document.querySelectorAll('#run option')].map(o => o.value).join() === '{CONFOUNDED}'")
    page.evaluate("location.hash = '#timeseries'")
    page.click(f"tb-data-table-content-row[data-id$='/{CONFOUNDED}'] input[type=checkbox]")
    page.evaluate("location.hash = '#picasso'")
    frame.wait_for_selector("#picasso-unselected")
    assert "unchecked in TensorBoard's run selector" in frame.text_content("#picasso-unselected")


def luminance(css_colour):
    r, g, b = (int(c) for c in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_tensorboards_dark_mode_turns_the_tab_dark(context, base):
    page, frame = open_tab(context, base + "?darkMode=true#picasso")
    assert frame.evaluate("document.documentElement.dataset.theme") == "dark"
    assert luminance(frame.evaluate("getComputedStyle(document.body).backgroundColor")) < 60
    # switched at run time with TensorBoard's own theme menu
    page.click("button[aria-label='Menu for changing light or dark theme']")
    page.click("button[role=menuitem]:has-text('Light')")
    frame.wait_for_function("document.documentElement.dataset.theme === 'light'")
    assert luminance(frame.evaluate("getComputedStyle(document.body).backgroundColor")) > 200
    page.click("button[aria-label='Menu for changing light or dark theme']")
    page.click("button[role=menuitem]:has-text('Dark')")
    frame.wait_for_function("document.documentElement.dataset.theme === 'dark'")


def test_reload_follows_tensorboard_and_never_polls(context, base):
    """With TensorBoard's auto-reload off the tab asks for nothing on its own; the reload
    button refreshes it; while another dashboard is shown it waits until it is shown."""
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(time.monotonic()) if re.search(r"/picasso/index(\?|$)", r.url) else None)
    page.goto(tab_url(base))
    wait_ready(plugin_frame(page))
    assert len(requests) == 1
    page.wait_for_timeout(QUIET_SECONDS * 1000)
    assert len(requests) == 1, "the tab polled TensorBoard on its own"
    page.click("button.reload-button")
    assert _count_within(page, requests, 2), "TensorBoard's reload button did not refresh the tab"
    page.evaluate("location.hash = '#timeseries'")
    page.click("button.reload-button")
    page.wait_for_timeout(1500)
    assert len(requests) == 2, "the hidden tab fetched its index"
    page.evaluate("location.hash = '#picasso'")
    assert _count_within(page, requests, 3), "shown again after a reload, the tab did not refresh"


def test_keyboard_reaches_a_cell_with_arrows_and_esc_closes_compare(context, base):
    page, frame = open_tab(context, tab_url(base, run=CLEAN, columns="all"))
    active = lambda: frame.evaluate("""() => { const a = document.activeElement;
        return [a.getAttribute('role'), a.dataset.image ?? null, a.dataset.step ?? null]; }""")  # noqa: E731
    frame.focus("#run")
    controls = frame.eval_on_selector_all("#controls select, #controls input, #controls button, #controls summary",
                                          "nodes => nodes.length")
    presses = 0
    while active()[0] not in ("gridcell", "rowheader"):
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= controls + 8, "Tab never reaches the grid"
    assert frame.eval_on_selector_all("#picasso-grid [tabindex='0']", "nodes => nodes.length") == 1
    assert active() == ["gridcell", "0", "3"]          # the slider's column, first image
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    assert active() == ["gridcell", "1", "0"]          # columns -1, 0, ...: the second one
    page.keyboard.press("Tab")
    assert active()[0] not in ("gridcell", "rowheader"), "the grid has more than one Tab stop"
    page.keyboard.press("Shift+Tab")
    assert active() == ["gridcell", "1", "0"]
    page.keyboard.press("Enter")
    act(frame, "() => {}")
    assert frame.is_visible("#compare-view") and frame.input_value("#compare-step-b") == "0"
    page.keyboard.press("Escape")
    frame.wait_for_function("document.querySelector('#compare-view').hidden")
    frame.wait_for_function("document.activeElement?.dataset.step === '0'")
    assert active() == ["gridcell", "1", "0"]
    assert frame.get_attribute("#step-slider", "aria-valuetext") == "step 3"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_accessibility_audit_finds_no_serious_violation(browser, base, theme):
    """axe-core over the tab with the grid, the quality panel and the compare view."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)  # to inject axe
    query = "?darkMode=true" if theme == "dark" else ""
    _, frame = open_tab(context, tab_url(base.rstrip("/") + "/" + query, run=CLEAN, image=0, compare="steps"))
    frame.add_script_tag(path=str(AXE))
    violations = frame.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .filter((v) => ["serious", "critical"].includes(v.impact))
        .map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`)""")
    context.close()
    assert violations == []


def test_column_picker_and_image_filters(context, base):
    """Columns: a range every N, all, none (the slider's column stays); images: wrongly
    predicted at the slider's step, or of one true class."""
    page, frame = open_tab(context, tab_url(base, run=CLEAN))
    heads = lambda: frame.eval_on_selector_all("#picasso-grid .col-head", "ns => ns.map(n => n.textContent)")  # noqa: E731
    frame.click("#columns-summary")
    frame.select_option("#columns-from", "-1")
    frame.select_option("#columns-to", "3")
    frame.fill("#columns-every", "2")
    frame.click("#columns-range")
    act(frame, "() => {}")
    assert heads() == ["▸ step 3", "before training", "step 1", "step 3 ◂ slider"]
    assert frame.text_content("#columns-summary") == "Columns: 3 of 5"
    frame.click("#columns-summary")
    frame.click("#columns-none")
    act(frame, "() => {}")
    assert heads() == ["▸ step 3"] and frame.text_content("#columns-summary") == "Columns: the slider's only"
    frame.click("#columns-summary")
    frame.click("#columns-all")
    act(frame, "() => {}")
    assert len(heads()) == 6
    rows = lambda: sorted(int(i) for i in frame.eval_on_selector_all(".row-head", "ns => ns.map(n => n.dataset.image)"))  # noqa: E731
    assert rows() == [0, 1, 2, 3]
    select(frame, "#filter", "class0")  # true class "no tank": images 1 and 3
    assert rows() == [1, 3]
    select(frame, "#filter", "wrong")   # every image is predicted right at step 3
    assert rows() == [] and "predicted right" in frame.text_content("#picasso-grid .grid-message")
    wait_url(page, "filter", "wrong")


def test_new_maps_show_a_loading_state(context, base):
    """While a checkpoint's maps are on their way its cells say so and the grid is
    aria-busy; the slider and its column do not move."""
    page = context.new_page()
    held = []
    page.route(re.compile(r"/data/plugin/picasso/block\?.*step=1(&|$)"), lambda route: held.append(route))
    page.goto(tab_url(base, run=CLEAN, columns="none"))
    frame = plugin_frame(page)
    wait_ready(frame)
    slider = frame.locator("#step-slider").bounding_box()
    frame.evaluate("""() => { const s = document.querySelector('#step-slider'); s.value = '2';
        s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    frame.wait_for_function("document.querySelector('#picasso-grid').getAttribute('aria-busy') === 'true'")
    assert "loading step 1" in frame.text_content("#picasso-grid .cell.focus .cell-note")
    assert frame.locator("#step-slider").bounding_box() == slider
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    held[0].continue_()
    wait_ready(frame)
    assert frame.get_attribute("#picasso-grid", "aria-busy") == "false"
    assert frame.is_hidden("#picasso-grid .cell.focus .cell-note")
