"""The tab's pictures are honest (issue 10), checked on logs with known maps.

tests/tab_logs.py writes Grad-CAM maps through the project's own summary builders: an
untrained step with maps below 1e-4, trained steps of 0.02 on a known region, a second run
whose maps sit on another region, a step pair differing by 6%, a class mapped at one step
only, a zero map and a step whose model ignored its input. A real TensorBoard serves them
with each of its loaders, headless Chromium opens the tab, and the tests read canvas
pixels back as colormap entries.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from tab_browser import (QUALITY_READY, act, canvas_rgb, colormap_index, open_tab, point_at,
                         select, tab_url)
from tab_logs import GROWTH, PEAK, SIDE, write_known_maps
from tensorboard_harness import tensorboard_process

CONFOUNDED, CLEAN = "confounded/picasso", "clean/picasso"


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    return write_known_maps(tmp_path_factory.mktemp("known_maps"))


@pytest.fixture(scope="module", params=["true", "false"], ids=lambda v: f"load_fast={v}")
def base(request, known):
    def loaded(index):
        steps = {r["run"]: r["methods"][0]["steps"] for r in index["runs"] if r.get("methods")}
        return all(steps.get(run) == list(known.steps) for run in known.runs)

    with tensorboard_process(known.root, request.param, ready=loaded) as url:
        yield url


@pytest.fixture
def page_at(browser, base):
    """Opens the tab at a state ({key: value} of p.picasso.* URL keys); returns (page, frame)."""
    pages = []

    def open_at(**state):
        page, frame = open_tab(browser, tab_url(base, **state))
        pages.append(page)
        return page, frame

    yield open_at
    for page in pages:
        page.close()


def cell(image, step):
    return f"#picasso-grid .cell[data-image='{image}'][data-step='{step}']"


def test_an_untrained_map_is_drawn_near_zero_on_the_default_scale(page_at, known):
    """Peak 1e-4 against 0.02 when trained: within a few levels of the colormap's zero by
    default; stretched over the whole colormap only per map, which says it exaggerates."""
    _, frame = page_at(run=CONFOUNDED, target="true", columns="list:-1,2")
    assert frame.input_value("#scale") == "image"
    untrained = colormap_index(canvas_rgb(frame, f"{cell(0, -1)} canvas"), "viridis")
    assert untrained.max() <= 3, "the untrained model's weak map is drawn as if it were strong"
    trained = colormap_index(canvas_rgb(frame, f"{cell(0, 2)} canvas"), "viridis")
    rows, cols = known.regions["A"]
    assert trained[rows, cols].min() >= 240 and np.delete(trained, np.s_[rows], axis=0).max() == 0
    assert "0.02" in frame.text_content("#picasso-grid .row-head[data-image='0'] .row-scale")

    select(frame, "#scale", "map")
    stretched = colormap_index(canvas_rgb(frame, f"{cell(0, -1)} canvas"), "viridis")
    assert stretched.max() == 255
    assert "exaggerates" in frame.eval_on_selector("#scale", "s => s.selectedOptions[0].textContent")
    assert "1.0e-4" in frame.text_content(f"{cell(0, -1)} .cls")


def test_run_vs_run_difference_has_the_sign_of_each_run(page_at, known):
    """Run A maps the sky, run B the tank (same image, same class, same step): B − A is
    negative (blue) on A's region and positive (red) on B's, white elsewhere."""
    _, frame = page_at(run=CONFOUNDED, image=0, compare="runs", a=CONFOUNDED, b=CLEAN, at=2)
    assert "tank" in frame.eval_on_selector("#compare-class", "s => s.selectedOptions[0].textContent")
    diff = colormap_index(canvas_rgb(frame, "#compare-diff canvas"), "rdbu_r")
    (a_rows, a_cols), (b_rows, b_cols) = known.regions["A"], known.regions["B"]
    assert diff[a_rows, a_cols].max() < 20, "A's region should read as strongly negative"
    assert diff[b_rows, b_cols].min() > 235, "B's region should read as strongly positive"
    outside = np.ones((SIDE, SIDE), bool)
    outside[a_rows, a_cols] = outside[b_rows, b_cols] = False
    assert np.abs(diff[outside] - 127.5).max() <= 1
    # both panels and the difference on one scale, stated in the maps' units
    bars = [frame.text_content(f"{panel} .colorbar-labels") for panel in ("#compare-a", "#compare-b")]
    assert bars[0] == bars[1] and "0.02" in bars[0]


def test_a_small_change_is_painted_faint_with_its_size_as_a_number(page_at, known):
    """Steps 2 -> 3 grow the region by 6% of the map: the difference, on the panels'
    scale, stays within 10% of the diverging colormap's half; its size is given."""
    _, frame = page_at(run=CLEAN, image=0, compare="steps", a=2, b=3)
    diff = colormap_index(canvas_rgb(frame, "#compare-diff canvas"), "rdbu_r")
    rows, cols = known.regions["B"]
    assert np.abs(diff - 127.5).max() <= 0.1 * 128
    assert diff[rows, cols].min() >= 130, "the growth is not drawn at all"
    change = frame.text_content("#compare-change")
    assert re.search(r"\b6\.0% of mean \|A\|", change), change
    act(frame, "document.querySelector('#compare-stretch').click()")
    stretched = colormap_index(canvas_rgb(frame, "#compare-diff canvas"), "rdbu_r")
    assert stretched[rows, cols].min() >= 250
    assert "exaggerates" in frame.text_content("#compare-diff")


def test_maps_of_different_classes_are_not_subtracted(page_at):
    """At step 3 image 0 is mapped for 'tank' and '<b>sky</b>', at step 2 for 'tank' and
    'no tank': comparing 'no tank' draws no difference and says why."""
    _, frame = page_at(run=CLEAN, image=0, compare="steps", a=2, b=3, **{"class": 0})
    assert frame.query_selector("#compare-diff canvas") is None
    assert "both sides must have a map of class no tank" in frame.text_content("#compare-no-diff")
    assert "has no map of class no tank (mapped there: tank, <b>sky</b>)" in frame.text_content("#compare-b")
    assert frame.query_selector("#compare-a canvas") is not None


def test_the_pointer_reads_out_stored_values(page_at, known):
    """Hovering a compare panel reads A, B and B − A at that pixel; hovering a grid cell
    reads its map's value; both as stored (16-bit quantisation error at most)."""
    page, frame = page_at(run=CONFOUNDED, image=0, compare="runs", a=CONFOUNDED, b=CLEAN, at=2)
    point_at(page, frame, "#compare-a canvas", 20, 3, SIDE, SIDE)  # in A's region only
    text = frame.text_content("#compare-readout")
    numbers = dict(re.findall(r"(A|B|B − A) ([-+]?[0-9.e-]+)", text))
    tolerance = PEAK / 65535
    assert abs(float(numbers["A"]) - PEAK) <= tolerance and abs(float(numbers["B"])) <= tolerance
    assert abs(float(numbers["B − A"]) + PEAK) <= 2 * tolerance
    assert "(20, 3)" in text and "class tank" in text

    select(frame, "#compare-mode", "steps")
    act(frame, "document.querySelector('#compare-close').click()")
    point_at(page, frame, f"{cell(0, 3)} canvas", 5, 2, SIDE, SIDE)
    tip = frame.text_content("#picasso-grid .map-tip")
    value = float(re.search(r": ([-+]?[0-9.e-]+) at \(5, 2\)", tip).group(1))
    assert abs(value - PEAK * (1 + GROWTH)) <= tolerance and "class tank" in tip


def test_cells_say_in_words_why_there_is_no_map(page_at):
    """A model that ignored its input, a map that is zero everywhere, and a class without
    a map are said in words, never drawn as a blank map."""
    _, frame = page_at(run=CLEAN, target="true", columns="list:0,1")
    assert "does not change with the input" in frame.text_content(f"{cell(1, 0)} .cell-note")
    assert "typical of BatchNorm statistics" in frame.text_content(f"{cell(1, 0)} .cell-note")
    assert frame.text_content(f"{cell(3, 1)} .cell-note") == "this map is zero everywhere"
    assert frame.is_hidden(f"{cell(3, 1)} canvas")
    select(frame, "#target", "class2")
    assert "no map of class <b>sky</b> at this step (mapped: tank, no tank)" in frame.text_content(f"{cell(0, 1)} .cell-note")
    assert frame.query_selector("b") is None, "a class name was parsed as HTML"


def test_target_control_offers_what_the_logs_have_and_cells_name_their_class(page_at):
    _, frame = page_at(run=CLEAN, columns="list:2")
    choices = frame.eval_on_selector_all("#target option", "os => os.map(o => o.value)")
    assert {"predicted", "true", "class0", "class1", "class2"} <= set(choices)
    assert not any(c.startswith("top") and c != "top2" for c in choices)
    assert frame.input_value("#target") == "predicted"
    assert frame.text_content(f"{cell(1, 2)} .cls") == "map: no tank"  # image 1 is predicted "no tank"
    select(frame, "#target", "class1")
    assert frame.text_content(f"{cell(0, 2)} .cls") == "map: tank"
    assert "no map of class tank" in frame.text_content(f"{cell(1, 2)} .cell-note")


def test_quality_charts_follow_the_step_and_pick_it(page_at):
    """Clicking a chart's point moves the slider there; hovering shows step and values."""
    page, frame = page_at(run=CLEAN, image=1)
    frame.wait_for_function(QUALITY_READY)
    chart = frame.locator("#quality [data-metric='deletion_auc'] canvas.chart-over")
    box = chart.bounding_box()
    # the charts' x axis spans steps -1..3 over the plot (24 px left, 6 px right padding)
    x_of = lambda step: box["x"] + 24 + (step + 1) / 4 * (box["width"] - 30)  # noqa: E731
    page.mouse.move(x_of(1), box["y"] + box["height"] / 2)
    tip = frame.text_content("#quality [data-metric='deletion_auc'] .chart-tip")
    assert tip.startswith("step 1: mean ") and "image 1" in tip
    page.mouse.click(x_of(1), box["y"] + box["height"] / 2)
    act(frame, "() => {}")
    assert frame.text_content("#step-label") == "step 1"
    assert frame.get_attribute("#step-slider", "aria-valuetext") == "step 1"


def test_a_map_opens_at_actual_size_with_image_controls(page_at):
    """Clicking a compared map opens it at one map pixel per CSS pixel (or a chosen
    zoom), with the probe image's brightness and contrast; Esc closes only that view."""
    page, frame = page_at(run=CLEAN, image=0, compare="steps", a=2, b=3)
    frame.click("#compare-b canvas")
    assert frame.is_visible("dialog#enlarge")
    frame.select_option("#enlarge-zoom", "1")
    box = frame.locator("dialog#enlarge canvas").bounding_box()
    assert (round(box["width"]), round(box["height"])) == (SIDE, SIDE)
    frame.select_option("#enlarge-zoom", "8")
    assert round(frame.locator("dialog#enlarge canvas").bounding_box()["width"]) == 8 * SIDE
    frame.fill("#enlarge-brightness", "2")
    frame.dispatch_event("#enlarge-brightness", "input")
    assert "brightness(2)" in frame.eval_on_selector("dialog#enlarge img.probe", "i => i.style.filter")
    point_at(page, frame, "dialog#enlarge canvas", 20, 25, SIDE, SIDE)
    assert "value at (20, 25)" in frame.text_content("dialog#enlarge .readout")
    page.keyboard.press("Escape")
    frame.wait_for_function("!document.querySelector('dialog#enlarge').open")
    assert frame.is_visible("#compare-view"), "Esc closed the compare view under the dialog"
