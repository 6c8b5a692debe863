"""The Picasso tab in a real browser, on logs of real training.

Real Keras training writes logs through `PicassoCallback` (two normal runs and one whose
directory is named like an XSS payload); a real TensorBoard process serves them with each
of its loaders (`--load_fast=true`, the Rust data server, and `false`, the Python one);
headless Chromium opens the tab and checks what it draws against the HTTP API (canvas
pixels, predictions, quality metrics and their verdicts). The pictures' honesty on known
values is tested in test_tab_known_maps.py, the tab as part of TensorBoard in
test_tab_tensorboard.py.
"""

import re
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from tab_browser import (QUALITY_READY, VIEWPORT, act, plugin_frame, select, wait_ready)
from tensorboard_harness import get_json, tensorboard_process

XSS_DIR = "<img src=x onerror=alert(1)>"
RUNS = {"cnn_a": 4, "cnn_b": 5, XSS_DIR: 3}  # log dir -> epochs
PROBES = 6
CLASS_NAMES = ["left", "right", "<b>top</b>"]
ARTIFACTS = Path(__file__).parent / "artifacts"


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
                                   methods=["occlusion", "saliency", "gradcam"], budget=None,
                                   faithfulness_every=1, verbose=0)
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
def tab(browser, tensorboard):
    """TensorBoard opened at the Picasso tab; yields (page, plugin frame, dialogs, load_fast)."""
    base, load_fast = tensorboard
    page = browser.new_page(viewport=VIEWPORT)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    started = time.monotonic()
    page.goto(base + "#picasso")
    frame = plugin_frame(page)
    wait_ready(frame)
    print(f"\nload_fast={load_fast}: TensorBoard page to tab ready in {time.monotonic() - started:.2f} s, "
          f"tab iframe start to ready in {frame.evaluate('performance.now()'):.0f} ms")
    assert frame.evaluate("document.body.dataset.picassoState") == "ready"
    yield page, frame, dialogs, load_fast
    page.close()


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


def _set_slider(frame, index):
    act(frame, """(index) => {
        const slider = document.querySelector("#step-slider");
        slider.value = String(index);
        slider.dispatchEvent(new Event("input", {bubbles: true}));
      }""", index)


def _series(tensorboard, frame):
    """The `series` response of the run and method the tab shows, once its quality panel
    is drawn, and the slider's step."""
    base, _ = tensorboard
    frame.wait_for_function(QUALITY_READY, timeout=30000, polling=20)
    run, method = frame.input_value("#run"), frame.input_value("#method")
    status, series = get_json(f"{base}data/plugin/picasso/series?{urllib.parse.urlencode({'run': run, 'method': method})}")
    assert status == 200, series
    return series, int(frame.get_attribute("#picasso-grid .cell.focus", "data-step"))


def _value(series, name, step, image=None):
    """A metric's value at `step` for `image` (None: the mean), as the API has it."""
    values, i = series["metrics"][name], series["steps"].index(step)
    if image is None:
        return values["mean"][i]
    return (values["images"][i] or [None] * (image + 1))[image]


def _number(text):
    """The number in a badge or value text, or None for "–"."""
    found = re.search(r"[-+]?\d+\.\d+", text)
    return float(found.group()) if found else None


def _close(shown, expected, tolerance=0.0051):
    return shown is None if expected is None else shown is not None and abs(shown - expected) <= tolerance


def _cells(frame):
    """The drawn cells: [image, step, map drawn, badges text, flipped] each."""
    return frame.evaluate("""() => [...document.querySelectorAll("#picasso-grid .cell:not(.duplicate)")].map((c) =>
        [Number(c.dataset.image), Number(c.dataset.step), !c.querySelector("canvas").hidden,
         [...c.querySelectorAll(".badge")].map((b) => b.textContent), !c.querySelector(".flip").hidden])""")


def test_grid_draws_maps_over_images(tab):
    _, frame, _, _ = tab
    cells = _pixels(frame, "#picasso-grid .cell:not(.duplicate) canvas.cell-map")
    assert len(cells) >= PROBES * 3, "expected a row per probe image and several columns"
    assert all(colours > 1 for colours, _ in cells), "a grid canvas is uniform (nothing drawn)"
    captions = frame.eval_on_selector_all("#picasso-grid .cell:not(.duplicate) .pred", "nodes => nodes.map(n => n.textContent)")
    assert captions and all(re.match(r"[✓✗] pred: ", text) for text in captions), captions
    classes = frame.eval_on_selector_all("#picasso-grid .cell:not(.duplicate) .cls", "nodes => nodes.map(n => n.textContent)")
    assert all(text.startswith("map: ") for text in classes)
    headers = frame.eval_on_selector_all("#picasso-grid .col-head", "nodes => nodes.map(n => n.textContent)")
    assert "before training" in headers


def test_step_slider_changes_the_canvases(tab):
    _, frame, _, _ = tab
    before = _pixels(frame, "#picasso-grid .cell.focus canvas")
    _set_slider(frame, 0)
    assert frame.text_content("#step-label") == "before training"
    assert frame.get_attribute("#step-slider", "aria-valuetext") == "before training"
    after = _pixels(frame, "#picasso-grid .cell.focus canvas")
    assert len(after) == len(before) and after != before
    _set_slider(frame, frame.evaluate("document.querySelector('#step-slider').max"))


def test_compare_shows_a_difference_map(tab):
    _, frame, _, _ = tab
    act(frame, "document.querySelector('#compare-open').click()")
    assert frame.is_visible("#compare-view")
    for panel in ("#compare-a", "#compare-b", "#compare-diff"):
        (colours, _), = _pixels(frame, f"{panel} canvas.compare-map")
        assert colours > 1, f"{panel} is uniform"
    assert "of mean |A|" in frame.text_content("#compare-change")
    assert frame.eval_on_selector_all("#compare-a .topk-row", "rows => rows.length") >= 1
    select(frame, "#compare-mode", "runs")
    assert frame.is_visible("#compare-run-b")
    (colours, _), = _pixels(frame, "#compare-diff canvas.compare-map")
    assert colours > 1, "the run-vs-run difference is uniform"
    act(frame, "document.querySelector('#compare-close').click()")


def test_flip_marks_match_the_logged_predictions(tab, tensorboard):
    """A cell is marked "flipped" exactly when its top-1 class differs from the previous
    logged checkpoint's."""
    _, frame, _, _ = tab
    base, _ = tensorboard
    run = frame.input_value("#run")
    api = base + "data/plugin/picasso/"
    steps = next(r for r in get_json(api + "index")[1]["runs"] if r["run"] == run)["prediction_steps"]
    query = urllib.parse.urlencode
    top1 = {step: [image["top"][0]["class"] for image in
                   get_json(api + "predictions?" + query({"run": run, "step": step}))[1]["images"]]
            for step in steps}
    cells = _cells(frame)
    assert len(cells) >= PROBES * 3
    for image, step, _, _, flipped in cells:
        i = steps.index(step)
        assert flipped == (i > 0 and top1[step][image] != top1[steps[i - 1]][image]), (image, step)


def test_quality_charts_per_metric(tab, tensorboard):
    """One chart per logged metric, drawn, with the mean at the slider's step; selecting
    an image by its row header adds its line and value."""
    _, frame, _, _ = tab
    series, focus = _series(tensorboard, frame)
    logged = {"drift_previous", "drift_untrained", "deletion_auc", "insertion_auc"}
    assert logged <= set(series["metrics"]) and logged <= set(series["verdicts"]["directions"])
    charts = frame.eval_on_selector_all("#quality figure.quality-chart", "nodes => nodes.map(n => n.dataset.metric)")
    assert set(charts) == logged
    before = _pixels(frame, "#quality canvas.chart-lines")
    assert len(before) == len(charts) and all(colours > 2 for colours, _ in before), "a chart is blank"
    for name in charts:
        shown = frame.text_content(f"#quality [data-metric={name}] .metric-value .mean")
        assert _close(_number(shown), _value(series, name, focus)), (name, shown)
        direction = series["verdicts"]["directions"][name]
        assert frame.text_content(f"#quality [data-metric={name}] .metric-caption") == f"{direction} is better"

    act(frame, "document.querySelector(\"#picasso-grid .row-head[data-image='1']\").click()")
    series, focus = _series(tensorboard, frame)
    assert frame.get_attribute("#picasso-grid .row-head.selected", "data-image") == "1"
    assert "image 1" in frame.text_content("#quality .legend")
    after = _pixels(frame, "#quality canvas.chart-lines")
    assert all(a != b for a, b in zip(after, before)), "the selected image's line is not drawn"
    for name in charts:
        shown = frame.text_content(f"#quality [data-metric={name}] .metric-value .image")
        assert _close(_number(shown), _value(series, name, focus, 1)), (name, shown)


def test_cell_badges_match_the_metrics(tab, tensorboard):
    """A cell showing an image's first map (the one the metrics score) carries its drift
    vs the previous checkpoint and insertion − deletion AUC as the series route has them;
    other maps carry none."""
    _, frame, _, _ = tab
    series, _ = _series(tensorboard, frame)
    cells = _cells(frame)
    assert len(cells) >= PROBES * 3
    numbers = 0
    for image, step, drawn, badges, _ in cells:
        s = series["steps"].index(step)
        shown = frame.text_content(f"#picasso-grid .cell[data-image='{image}'][data-step='{step}'] .cls")
        first = drawn and shown == f"map: {CLASS_NAMES[series['classes'][s][image][0]]}"
        if not first:
            assert badges == [], (image, step, badges)
            continue
        drift, faith = badges
        assert drift.startswith("ρ ") and faith.startswith("ins−del "), badges
        deletion, insertion = (_value(series, name, step, image) for name in ("deletion_auc", "insertion_auc"))
        faithful = None if None in (deletion, insertion) else insertion - deletion
        assert _close(_number(drift), _value(series, "drift_previous", step, image)), (image, step, drift)
        assert _close(_number(faith), faithful, 0.011), (image, step, faith)
        numbers += _number(drift) is not None and _number(faith) is not None
    assert numbers >= len(cells) // 3, "most badges should show numbers"


def test_sorting_by_a_metric_puts_the_worst_first(tab, tensorboard):
    """Sorting by a metric orders the rows by its values at the slider's step, worst
    first by the series' verdict directions (images without a value last, ties in probe
    order); "probe order" restores."""
    _, frame, _, _ = tab
    series, focus = _series(tensorboard, frame)
    rows = lambda: [int(i) for i in frame.evaluate(  # noqa: E731
        """() => [...document.querySelectorAll('#picasso-grid .grid-row')]
          .sort((a, b) => a.getAttribute('aria-rowindex') - b.getAttribute('aria-rowindex'))
          .map((row) => row.querySelector('.row-head').dataset.image)""")]
    probe_order = rows()  # the rows in view (the grid draws only those)
    assert probe_order == list(range(len(probe_order)))
    reordered = False
    for name in ("deletion_auc", "drift_previous", "insertion_auc"):
        select(frame, "select#sort", name)
        sign = 1 if series["verdicts"]["directions"][name] == "higher" else -1

        def key(image):
            value = _value(series, name, focus, image)
            return (value is None, 0 if value is None else sign * value, image)
        assert rows() == sorted(range(PROBES), key=key)[:len(rows())], name
        reordered |= rows() != probe_order
    assert reordered, "no metric changed the order: the test data do not exercise sorting"
    select(frame, "select#sort", "")
    assert rows() == probe_order


def test_new_checkpoints_appear_when_tensorboard_reloads(browser, tensorboard):
    """TensorBoard's reload button refreshes the tab: a checkpoint it had not seen becomes
    a column, and blocks already fetched are not fetched again."""
    base, _ = tensorboard
    page = browser.new_page(viewport=VIEWPORT)
    hide_last = [True]

    def index(route):
        body = route.fetch().json()
        if hide_last[0]:
            for run in body["runs"]:
                run["prediction_steps"] = run["prediction_steps"][:-1]
                run["prediction_versions"] = run["prediction_versions"][:-1]
                for method in run["methods"]:
                    method["steps"] = method["steps"][:-1]
                    method["versions"] = method["versions"][:-1]
        route.fulfill(json=body)

    page.route(re.compile(r"/data/plugin/picasso/index(\\?|$)"), index)
    page.goto(base + "#picasso&p.picasso.columns=all")
    frame = plugin_frame(page)
    wait_ready(frame)
    heads = lambda: frame.eval_on_selector_all(  # noqa: E731
        "#picasso-grid .col-head", "nodes => nodes.map(n => n.textContent.replace(' ◂ slider', ''))")
    before = heads()
    hide_last[0] = False
    page.click("button.reload-button")
    frame.wait_for_function(f"document.querySelectorAll('#picasso-grid .col-head').length > {len(before)}",
                            timeout=15000, polling=100)
    wait_ready(frame)
    after = heads()
    assert after[0] != before[0], "the slider's column follows the newest checkpoint"
    assert set(before[1:]) < set(after[1:])
    fetched = frame.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    blocks = [name for name in fetched if "/block?" in name]
    assert blocks and len(blocks) == len(set(blocks)), "a checkpoint's maps were fetched twice"
    page.close()


def test_sanity_check_failure_is_shown(browser, tensorboard):
    """When the series' verdict flags a method, the tab says so above the grid."""
    base, _ = tensorboard
    page = browser.new_page(viewport=VIEWPORT)

    def flagged(route):
        body = route.fetch().json()
        body["verdicts"]["sanity"] = {"threshold": 0.8, "latest_drift_untrained": 0.93, "flagged": True}
        route.fulfill(json=body)

    page.route(re.compile(r"/data/plugin/picasso/series\\?"), flagged)
    page.goto(base + "#picasso")
    frame = plugin_frame(page)
    wait_ready(frame)
    method = frame.input_value("select#method")
    warning = frame.wait_for_selector("#sanity-warning", timeout=30000).text_content()
    assert method in warning and "0.93" in warning
    page.close()


def test_empty_log_directory_shows_the_callback_snippet(browser, tmp_path):
    with tensorboard_process(tmp_path, "false", ready=lambda index: True) as base:
        page = browser.new_page()
        page.goto(base + "#picasso")
        frame = plugin_frame(page)
        wait_ready(frame)
        assert frame.evaluate("document.body.dataset.picassoState") == "empty"
        assert "PicassoCallback(log_dir, images=x_probe" in frame.text_content("#picasso-empty pre")
        page.close()


def test_untrusted_names_stay_text(tab):
    page, frame, dialogs, _ = tab
    run = f"{XSS_DIR}/picasso"
    options = frame.eval_on_selector_all("select#run option", "nodes => nodes.map(n => n.textContent)")
    assert run in options
    select(frame, "select#run", run)
    assert frame.evaluate("document.body.dataset.picassoState") == "ready"
    assert all(colours > 1 for colours, _ in _pixels(frame, "#picasso-grid .cell:not(.duplicate) canvas.cell-map"))
    assert "true: <b>top</b>" in frame.text_content("#picasso-grid")
    for where in (page, frame):
        assert where.query_selector("img[src='x']") is None
    assert frame.query_selector("b") is None, "a class name was parsed as HTML"
    assert dialogs == []


def test_screenshot(tab):
    """Saves what the user sees (grid and compare view) for review."""
    page, frame, dialogs, load_fast = tab
    select(frame, "select#run", "cnn_b/picasso")
    act(frame, "document.querySelector('#compare-open').click()")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"picasso_tab_{load_fast}.png"))
    assert dialogs == []
