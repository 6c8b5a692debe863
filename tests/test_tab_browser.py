"""The Picasso tab in a real browser.

Real Keras training writes logs through `PicassoCallback` (two normal runs and one whose
directory is named like an XSS payload); a real TensorBoard process serves them with each
of its loaders (`--load_fast=true`, the Rust data server, and `false`, the Python one);
headless Chromium opens the tab and checks what it draws, reading canvas pixels.

Without Chromium at /usr/bin/chromium the tests skip locally, and fail in CI.
"""

import os
import re
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from tensorboard_harness import get_json, tensorboard_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS_DIR = "<img src=x onerror=alert(1)>"
RUNS = {"cnn_a": 4, "cnn_b": 5, XSS_DIR: 3}  # log dir -> epochs
PROBES = 6
CLASS_NAMES = ["left", "right", "<b>top</b>"]
ARTIFACTS = Path(__file__).parent / "artifacts"
READY = "['ready', 'empty', 'error'].includes(document.body.dataset.picassoState)"
QUALITY_READY = "document.body.dataset.picassoQuality === 'ready'"
# metric -> True when its high values are the worst (see METRICS in static/metrics.js)
WORST_HIGH = {"drift_previous": False, "drift_untrained": True, "deletion_auc": True,
              "insertion_auc": False, "shortcut_share": False}


def _require_browser():
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


def _probe_data(count, side=16, seed=0):
    """Images with a bright square on the left, on the right, or at the top: 3 classes."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, size=(count, side, side, 3)).astype("float32")
    y = np.arange(count) % 3
    half, quarter = side // 2, side // 4
    for image, label in zip(x, y):
        top = half - quarter // 2 if label < 2 else 1
        left = (1, half + 1, half - quarter // 2)[label]
        image[top:top + quarter + 2, left:left + quarter + 2] = 1.0
    return x, y


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Trains a small CNN per run with the real callback; returns the log root."""
    import keras

    from tensorboard_picasso import PicassoCallback

    root = tmp_path_factory.mktemp("picasso_logs")
    x, y = _probe_data(192)
    for index, (name, epochs) in enumerate(RUNS.items()):
        keras.utils.set_random_seed(index)
        model = keras.Sequential([
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        callback = PicassoCallback(str(root / name), images=x[:PROBES], labels=y[:PROBES],
                                   class_names=CLASS_NAMES,
                                   methods=["occlusion", "saliency", "gradcam"], verbose=0)
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[callback])
    return root


@pytest.fixture(scope="module", params=["true", "false"], ids=lambda v: f"load_fast={v}")
def tensorboard(request, logdir):
    """A TensorBoard process serving every run with all of its checkpoints; yields
    (base URL, load_fast)."""
    def loaded(index):
        steps = {r["run"]: r["methods"][0]["steps"] for r in index["runs"] if r.get("methods")}
        return all(len(steps.get(f"{name}/picasso", [])) == epochs + 1 for name, epochs in RUNS.items())

    with tensorboard_process(logdir, request.param, ready=loaded,
                             log_path=logdir.parent / f"tensorboard_{request.param}.log") as base:
        yield base, request.param


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def tab(browser, tensorboard):
    """TensorBoard opened at the Picasso tab; yields (page, plugin frame, dialogs, load_fast)."""
    base, load_fast = tensorboard
    page = browser.new_page(viewport={"width": 1400, "height": 1050})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    started = time.monotonic()
    page.goto(base + "#picasso")
    frame = _plugin_frame(page)
    frame.wait_for_function(READY, timeout=30000, polling=20)
    print(f"\nload_fast={load_fast}: TensorBoard page to tab ready in {time.monotonic() - started:.2f} s, "
          f"tab iframe start to ready in {frame.evaluate('performance.now()'):.0f} ms")
    assert frame.evaluate("document.body.dataset.picassoState") == "ready"
    yield page, frame, dialogs, load_fast
    page.close()


def _plugin_frame(page, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "plugin_entry.html?name=picasso" in frame.url:
                return frame
        page.wait_for_timeout(100)
    raise AssertionError("TensorBoard did not load the Picasso tab's iframe")


def _pixels(frame, selector):
    """Per canvas matching `selector`: [number of distinct colours, checksum of pixels]."""
    return frame.evaluate("""(selector) => [...document.querySelectorAll(selector)].map((canvas) => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        let sum = 0;
        for (let i = 0; i < data.length; i += 4) {
          colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1000000007;
        }
        return [colours.size, sum];
      })""", selector)


def _act(frame, script, arg=None):
    """Runs `script` in the tab and waits until it has redrawn."""
    frame.evaluate(script, arg)
    frame.wait_for_function(READY, timeout=30000, polling=20)


def _set_slider(frame, index):
    _act(frame, """(index) => {
        const slider = document.querySelector("#step-slider");
        slider.value = String(index);
        slider.dispatchEvent(new Event("input", {bubbles: true}));
      }""", index)


def _select(frame, selector, value):
    frame.select_option(selector, value)
    frame.wait_for_function(READY, timeout=30000, polling=20)


def _metrics(tensorboard, frame):
    """The `metrics` response of the run and method the tab shows, once its quality panel
    is drawn, and the slider's step."""
    base, _ = tensorboard
    frame.wait_for_function(QUALITY_READY, timeout=30000, polling=20)
    run, method = (frame.eval_on_selector(s, "select => select.value") for s in ("select#run", "select#method"))
    query = urllib.parse.urlencode({"run": run, "method": method})
    status, metrics = get_json(f"{base}data/plugin/picasso/metrics?{query}")
    assert status == 200, metrics
    focus = int(frame.get_attribute("#picasso-grid .cell.focus", "data-step"))
    return metrics, focus


def _value(metrics, name, step, image=None):
    """A metric's value at `step` for `image` (None: the mean), as the tab reads it."""
    series, i = metrics["metrics"][name], metrics["steps"].index(step)
    if image is None:
        return series["mean"][i]
    return (series["images"][i] or [None] * (image + 1))[image]


def _number(text):
    """The number in a badge or value text, or None for "–"."""
    found = re.search(r"[-+]?\d+\.\d+", text)
    return float(found.group()) if found else None


def _close(shown, expected, tolerance=0.0051):
    return shown is None if expected is None else shown is not None and abs(shown - expected) <= tolerance


def test_grid_draws_maps_over_images(tab):
    _, frame, _, _ = tab
    cells = _pixels(frame, "#picasso-grid canvas.cell-map")
    assert len(cells) >= PROBES * 3, "expected a row per probe image and several columns"
    assert all(colours > 1 for colours, _ in cells), "a grid canvas is uniform (nothing drawn)"
    captions = frame.eval_on_selector_all("#picasso-grid .pred", "nodes => nodes.map(n => n.textContent)")
    assert captions and all(text.startswith("pred: ") for text in captions)
    headers = frame.eval_on_selector_all("#picasso-grid .col-head", "nodes => nodes.map(n => n.textContent)")
    assert "before training" in headers


def test_step_slider_changes_the_canvases(tab):
    _, frame, _, _ = tab
    before = _pixels(frame, "#picasso-grid .cell.focus canvas")
    _set_slider(frame, 0)
    assert frame.text_content("#step-label") == "before training"
    after = _pixels(frame, "#picasso-grid .cell.focus canvas")
    assert len(after) == len(before) and after != before
    _set_slider(frame, frame.evaluate("document.querySelector('#step-slider').max"))


def test_compare_shows_a_difference_map(tab):
    _, frame, _, _ = tab
    _act(frame, "document.querySelector('#compare-open').click()")
    assert frame.is_visible("#compare-view")
    for panel in ("#compare-a", "#compare-b", "#compare-diff"):
        (colours, _), = _pixels(frame, f"{panel} canvas.compare-map")
        assert colours > 1, f"{panel} is uniform"
    assert frame.eval_on_selector_all("#compare-a .topk-row", "rows => rows.length") >= 1
    _select(frame, "#compare-mode", "runs")
    assert frame.is_visible("#compare-run-b")
    (colours, _), = _pixels(frame, "#compare-diff canvas.compare-map")
    assert colours > 1, "the run-vs-run difference is uniform"


def test_flip_marks_match_the_logged_predictions(tab, tensorboard):
    """A cell is marked "flipped" exactly when its top-1 class differs from the previous
    logged checkpoint's."""
    _, frame, _, _ = tab
    base, _ = tensorboard
    run = frame.eval_on_selector("select#run", "select => select.value")
    api = base + "data/plugin/picasso/"
    steps = next(r for r in get_json(api + "index")[1]["runs"] if r["run"] == run)["prediction_steps"]
    query = urllib.parse.urlencode
    top1 = {step: [image["top"][0]["class"] for image in
                   get_json(api + "predictions?" + query({"run": run, "step": step}))[1]["images"]]
            for step in steps}
    cells = frame.evaluate("""() => [...document.querySelectorAll("#picasso-grid .cell")].map((cell, k) =>
        [Number(cell.dataset.step), !cell.querySelector(".flip").hidden])""")
    columns = len(cells) // PROBES
    for k, (step, flipped) in enumerate(cells):
        image, i = k // columns, steps.index(step)
        assert flipped == (i > 0 and top1[step][image] != top1[steps[i - 1]][image]), (image, step)


def test_quality_charts_per_metric(tab, tensorboard):
    """One chart per logged metric, drawn, with the mean at the slider's step; selecting
    an image by its row header adds its line and value."""
    _, frame, _, _ = tab
    metrics, focus = _metrics(tensorboard, frame)
    logged = {"drift_previous", "drift_untrained", "deletion_auc", "insertion_auc"}
    assert logged <= set(metrics["metrics"])
    charts = frame.eval_on_selector_all("#quality figure.quality-chart", "nodes => nodes.map(n => n.dataset.metric)")
    assert set(charts) == set(metrics["metrics"]) & set(WORST_HIGH)
    before = _pixels(frame, "#quality canvas.metric-chart")
    assert len(before) == len(charts) and all(colours > 2 for colours, _ in before), "a chart is blank"
    for name in charts:
        shown = frame.text_content(f"#quality [data-metric={name}] .metric-value .mean")
        assert _close(_number(shown), _value(metrics, name, focus)), (name, shown)

    _act(frame, "document.querySelector(\"#picasso-grid .row-head[data-image='1']\").click()")
    metrics, focus = _metrics(tensorboard, frame)
    assert frame.get_attribute("#picasso-grid .row-head.selected", "data-image") == "1"
    assert "image 1" in frame.text_content("#quality .legend")
    after = _pixels(frame, "#quality canvas.metric-chart")
    assert all(a != b for a, b in zip(after, before)), "the selected image's line is not drawn"
    for name in charts:
        shown = frame.text_content(f"#quality [data-metric={name}] .metric-value .image")
        assert _close(_number(shown), _value(metrics, name, focus, 1)), (name, shown)


def test_cell_badges_match_the_metrics(tab, tensorboard):
    """Each cell shows its map's drift vs the previous checkpoint and insertion − deletion
    AUC, as the metrics route has them."""
    _, frame, _, _ = tab
    metrics, _ = _metrics(tensorboard, frame)
    cells = frame.evaluate("""() => [...document.querySelectorAll("#picasso-grid .row-head")].flatMap((head) => {
        const cells = [];
        for (let node = head.nextElementSibling; node?.classList.contains("cell"); node = node.nextElementSibling) {
          cells.push([Number(head.dataset.image), Number(node.dataset.step),
            node.querySelector(".badge.drift").textContent, node.querySelector(".badge.faith").textContent]);
        }
        return cells;
      })""")
    assert len(cells) >= PROBES * 3
    numbers = 0
    for image, step, drift, faith in cells:
        assert drift.startswith("ρ ") and faith.startswith("ins−del "), (drift, faith)
        deletion, insertion = (_value(metrics, name, step, image) for name in ("deletion_auc", "insertion_auc"))
        faithful = None if None in (deletion, insertion) else insertion - deletion
        assert _close(_number(drift), _value(metrics, "drift_previous", step, image)), (image, step, drift)
        assert _close(_number(faith), faithful, 0.011), (image, step, faith)
        numbers += _number(drift) is not None and _number(faith) is not None
    assert numbers >= len(cells) // 2, "most badges should show numbers"


def test_sorting_by_a_metric_puts_the_worst_first(tab, tensorboard):
    """Sorting by a metric orders the rows by its values at the slider's step, worst
    first (images without a value last, ties in probe order); "probe order" restores."""
    _, frame, _, _ = tab
    metrics, focus = _metrics(tensorboard, frame)
    rows = lambda: [int(i) for i in frame.eval_on_selector_all(
        "#picasso-grid .row-head", "nodes => nodes.map(n => n.dataset.image)")]
    probe_order = rows()
    assert probe_order == sorted(probe_order)
    reordered = False
    for name in ("deletion_auc", "drift_previous", "insertion_auc"):
        _select(frame, "select#sort", name)
        frame.wait_for_function(QUALITY_READY, timeout=30000, polling=20)
        sign = -1 if WORST_HIGH[name] else 1

        def key(image):
            value = _value(metrics, name, focus, image)
            return (value is None, 0 if value is None else sign * value, image)
        assert rows() == sorted(probe_order, key=key), name
        reordered |= rows() != probe_order
        notes = frame.eval_on_selector_all("#picasso-grid .row-note", "nodes => nodes.map(n => n.textContent)")
        assert all(_close(_number(note), _value(metrics, name, focus, image))
                   for note, image in zip(notes, rows())), notes
    assert reordered, "no metric changed the order: the test data do not exercise sorting"
    _select(frame, "select#sort", "")
    assert rows() == probe_order


def test_new_checkpoints_appear_without_a_reload(browser, tensorboard):
    """The tab polls the index: a checkpoint it had not seen becomes a column, and maps
    already drawn are not fetched again."""
    base, _ = tensorboard
    page = browser.new_page(viewport={"width": 1400, "height": 1050})
    hide_last = [True]

    def index(route):
        body = route.fetch().json()
        if hide_last[0]:
            for run in body["runs"]:
                run["prediction_steps"] = run["prediction_steps"][:-1]
                for method in run["methods"]:
                    method["steps"] = method["steps"][:-1]
        route.fulfill(json=body)

    page.route(re.compile(r"/data/plugin/picasso/index(\?|$)"), index)
    page.goto(base + "#picasso")
    frame = _plugin_frame(page)
    frame.wait_for_function(READY, timeout=30000, polling=20)
    heads = lambda: frame.eval_on_selector_all("#picasso-grid .col-head", "nodes => nodes.map(n => n.textContent)")
    before = heads()
    hide_last[0] = False
    frame.wait_for_function(f"document.querySelectorAll('#picasso-grid .col-head').length > {len(before)}",
                            timeout=15000, polling=100)
    frame.wait_for_function(READY, timeout=30000, polling=20)
    after = heads()
    assert after[0] != before[0], "the slider's column follows the newest checkpoint"
    assert set(before[1:]) < set(after[1:])
    frame.wait_for_function(QUALITY_READY, timeout=30000, polling=20)
    badges = frame.eval_on_selector_all("#picasso-grid .cell.focus .badge.drift", "nodes => nodes.map(n => n.textContent)")
    assert len(badges) == PROBES and all(re.fullmatch(r"ρ -?\d\.\d\d", text) for text in badges), \
        "the new checkpoint's quality badges are missing"
    fetched = frame.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    mapsets = [name for name in fetched if "/mapset?" in name]
    assert mapsets and len(mapsets) == len(set(mapsets)), "a checkpoint's maps were fetched twice"
    assert not any("/map?" in name for name in fetched), "a grid column was fetched map by map"
    page.close()


def test_sanity_check_failure_is_shown(browser, tensorboard):
    """When the metrics route flags a method, the tab says so above the grid."""
    base, _ = tensorboard
    page = browser.new_page(viewport={"width": 1400, "height": 1050})

    def flagged(route):
        body = route.fetch().json()
        body["sanity"] = {"threshold": 0.8, "latest_drift_untrained": 0.93, "flagged": True}
        route.fulfill(json=body)

    page.route(re.compile(r"/data/plugin/picasso/metrics\?"), flagged)
    page.goto(base + "#picasso")
    frame = _plugin_frame(page)
    frame.wait_for_function(READY, timeout=30000, polling=20)
    method = frame.eval_on_selector("select#method", "select => select.value")
    warning = frame.wait_for_selector("#sanity-warning", timeout=30000).text_content()
    assert method in warning and "0.93" in warning
    page.close()


def test_empty_log_directory_shows_the_callback_snippet(browser, tmp_path):
    with tensorboard_process(tmp_path, "false", ready=lambda index: True) as base:
        page = browser.new_page()
        page.goto(base + "#picasso")
        frame = _plugin_frame(page)
        frame.wait_for_function(READY, timeout=30000, polling=20)
        assert frame.evaluate("document.body.dataset.picassoState") == "empty"
        assert "PicassoCallback(log_dir, images=x_probe" in frame.text_content("#picasso-empty pre")
        page.close()


def test_untrusted_names_stay_text(tab):
    page, frame, dialogs, _ = tab
    run = f"{XSS_DIR}/picasso"
    options = frame.eval_on_selector_all("select#run option", "nodes => nodes.map(n => n.textContent)")
    assert run in options
    _select(frame, "select#run", run)
    assert frame.evaluate("document.body.dataset.picassoState") == "ready"
    assert all(colours > 1 for colours, _ in _pixels(frame, "#picasso-grid canvas.cell-map"))
    assert "true: <b>top</b>" in frame.text_content("#picasso-grid")
    for where in (page, frame):
        assert where.query_selector("img[src='x']") is None
    assert frame.query_selector("b") is None, "a class name was parsed as HTML"
    assert dialogs == []


def test_screenshot(tab):
    """Saves what the user sees (grid and compare view) for review and the README."""
    page, frame, dialogs, load_fast = tab
    _select(frame, "select#run", "cnn_b/picasso")
    _act(frame, "document.querySelector('#compare-open').click()")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"picasso_tab_{load_fast}.png"))
    assert dialogs == []
