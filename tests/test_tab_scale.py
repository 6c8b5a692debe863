"""Unit tests of the tab's scale model (static/scale.js), block decoder (codec.js) and
colouring (colormaps.js, paint.js), run in headless Chromium on the modules as shipped,
served by a plain HTTP server (no TensorBoard needed). Blocks come from the format's own
Python encoder, so the browser's decoder is checked against the writer."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import struct
import threading

import numpy as np
import pytest
from tab_browser import COLORMAPS, STATIC, launch, require_browser

from tensorboard_picasso.summary import codec


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A blank page served next to the tab's static files and test blocks."""
    require_browser()
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("static")
    for path in STATIC.iterdir():
        shutil.copy(path, root / path.name)
    (root / "blank.html").write_text("<!doctype html><title>t</title><body></body>")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/blank.html")
        page.root = root
        yield page
        browser.close()
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def run(page, body: str, arg=None):
    """Evaluates `body` (an async function body with `arg`, and `scale`, `codec`, `paint`,
    `colormaps` imported) in the page."""
    return page.evaluate(f"""async (arg) => {{
        const [scale, codec, paint, colormaps] = await Promise.all(
          ["./scale.js", "./codec.js", "./paint.js", "./colormaps.js"].map((m) => import(m)));
        await colormaps.loadColormaps();
        {body}
      }}""", arg)


LEVELS = [90, 95, 98, 99, 99.5, 99.9, 100]


def series(abs_quantiles):
    """A `series` response holding only what the scale model reads."""
    return {"quantile_levels": LEVELS, "abs_quantiles": abs_quantiles}


def quantiles(peak):
    """|v| quantiles of a map whose 99th percentile is `peak` / 2 and maximum `peak`."""
    return [peak / 4, peak / 3, peak / 2.5, peak / 2, peak / 1.5, peak / 1.2, peak]


def test_image_scale_spans_every_checkpoint_of_the_image(page):
    # [step][image][map]: image 0 grows from 1e-4 to 0.02; image 1 has two maps
    s = series([[[quantiles(1e-4)], [quantiles(0.5), quantiles(0.1)]],
                [[quantiles(0.02)], [quantiles(0.3), quantiles(0.7)]]])
    got = run(page, """const s = arg;
        return [scale.levelIndex(s, 99), scale.levelIndex(s, 99.4), scale.levelIndex(s, 100),
          scale.imageBound(s, 0, 99), scale.imageBound(s, 1, 100), scale.viewBound(s, 99),
          scale.boundOf("image", [{series: s, image: 0, step: 0, j: 0}], 100),
          scale.boundOf("map", [{series: s, image: 0, step: 0, j: 0}], 100),
          scale.boundOf("view", [{series: s, image: 0, step: 0, j: 0}], 100)];""", s)
    assert got[:3] == [3, 4, 6]
    assert got[3] == pytest.approx(0.01)            # the trained step's p99, not the untrained one's
    assert got[4] == pytest.approx(0.7)             # max over steps and over the image's maps
    assert got[5] == pytest.approx(0.35)            # every image: image 1's second map at step 1
    assert got[6:] == pytest.approx([0.02, 1e-4, 0.7])


def test_run_vs_run_scale_covers_both_runs(page):
    a = series([[[quantiles(0.02)]], [[quantiles(0.03)]]])
    b = series([[[quantiles(0.01)], [quantiles(0.9)]]])  # image 0 of A is image 1 of B
    got = run(page, """const [a, b] = arg;
        const refs = [{series: a, image: 0, step: 1, j: 0}, {series: b, image: 1, step: 0, j: 0}];
        return [scale.boundOf("image", refs, 100), scale.boundOf("map", refs.slice(0, 1), 100),
          scale.boundOf("view", refs, 100)];""", [a, b])
    assert got == pytest.approx([0.9, 0.03, 0.9])


def test_ranges_and_colour_entries(page):
    got = run(page, """return [scale.rangeOf(2, true), scale.rangeOf(2, false), scale.rangeOf(0, true),
        [0, 0.5, 0.999, 1].map(colormaps.index)];""")
    assert got[0] == {"lo": -2, "hi": 2, "signed": True} and got[1] == {"lo": 0, "hi": 2, "signed": False}
    assert got[2] == {"lo": 0, "hi": 0, "signed": True}
    assert got[3] == [0, 128, 255, 255]  # matplotlib: floor(256 t), clipped


def test_an_all_zero_view_paints_the_colormaps_zero(page):
    """With every map zero (bound 0) a value is drawn as 0: the low end, or the white
    centre of a diverging colormap, never a stretched colour."""
    (page.root / "zeros.bin").write_bytes(encoded_block([np.zeros((1, 4, 4))], [[0]]))
    got = run(page, """const {maps} = await codec.decodeBlock(await (await fetch("./zeros.bin")).arrayBuffer());
        const pixel = (range, name) => { const c = document.createElement("canvas");
          paint.paintMap(c, maps[0][0], range, name); return Array.from(c.getContext("2d").getImageData(0, 0, 1, 1).data.slice(0, 3)); };
        return [pixel(scale.rangeOf(0, false), "viridis"), pixel(scale.rangeOf(0, true), "rdbu_r")];""")
    assert got == [COLORMAPS["viridis"][0].tolist(), COLORMAPS["rdbu_r"][128].tolist()]


def encoded_block(maps_per_image, targets, extra=None):
    """A `block` route body for ragged maps: uint32 length, header JSON, stored block."""
    flat = np.concatenate([np.asarray(m, np.float64) for m in maps_per_image])
    block, ranges = codec.encode_maps(flat)
    counts = [len(t) for t in targets]
    ranges = ranges.tolist()
    per_image = [ranges[sum(counts[:i]):sum(counts[:i + 1])] for i in range(len(counts))]
    header = {"version": 2, "targets": targets, "ranges": per_image, "height": flat.shape[1],
              "width": flat.shape[2], "abs_quantiles": None, "constant_output": False, **(extra or {})}
    text = json.dumps(header).encode()
    return struct.pack("<I", len(text)) + text + block


def test_block_decodes_to_the_stored_values(page):
    rng = np.random.default_rng(0)
    maps = [rng.normal(0, 0.01, (2, 24, 40)), np.zeros((1, 24, 40)), rng.uniform(0, 5, (3, 24, 40))]
    targets = [[3, 1], [0], [2, 0, 1]]
    (page.root / "ragged.bin").write_bytes(encoded_block(maps, targets))
    got = run(page, """const {header, maps} = await codec.decodeBlock(await (await fetch("./ragged.bin")).arrayBuffer());
        return maps.map((image) => image.map((m) => [m.cls, m.zero, m.width, m.height,
          Array.from({length: m.q.length}, (_, k) => m.value(k))]));""")
    for image, (expected, classes) in enumerate(zip(maps, targets)):
        assert [m[0] for m in got[image]] == classes
        for j, (cls, zero, width, height, values) in enumerate(got[image]):
            assert (width, height) == (40, 24)
            stored = expected[j]
            assert zero == (image == 1)
            error = (stored.max() - stored.min()) / 131070 + 1e-12
            assert np.abs(np.array(values).reshape(24, 40) - stored).max() <= error * 1.01


def test_a_block_that_does_not_fit_its_header_is_refused(page):
    body = encoded_block([np.ones((1, 8, 8))], [[0, 1]])  # the header claims two maps
    (page.root / "short.bin").write_bytes(body)
    message = run(page, """try { await codec.decodeBlock(await (await fetch("./short.bin")).arrayBuffer()); return null; }
        catch (error) { return error.message; }""")
    assert message and "expected" in message and "2 maps" in message


def test_paint_colours_each_value_by_the_scale(page):
    """A map's pixels are the colormap entries of their values on the scale (clipped)."""
    values = np.linspace(-0.5, 1.5, 64).reshape(8, 8)
    (page.root / "ramp.bin").write_bytes(encoded_block([values[None]], [[0]]))
    pixels = run(page, """const {maps} = await codec.decodeBlock(await (await fetch("./ramp.bin")).arrayBuffer());
        const canvas = document.createElement("canvas");
        paint.paintMap(canvas, maps[0][0], scale.rangeOf(1, false), "viridis");
        return Array.from(canvas.getContext("2d").getImageData(0, 0, 8, 8).data);""")
    rgb = np.array(pixels).reshape(8, 8, 4)[..., :3]
    expected = COLORMAPS["viridis"][np.clip(np.floor(256 * values), 0, 255).astype(int)]
    assert (np.abs(rgb - expected) <= 1).all()  # the quantised value may sit on an entry's edge


def test_relative_change_of_a_difference(page):
    a = np.zeros((1, 10, 10))
    a[0, :5] = 2.0                                   # mean |A| = 1
    b = a.copy()
    b[0, :5] *= 1.06                                 # B − A = 0.12 on half: mean 0.06
    (page.root / "a.bin").write_bytes(encoded_block([a], [[1]]))
    (page.root / "b.bin").write_bytes(encoded_block([b], [[1]]))
    got = run(page, """const load = async (name) => (await codec.decodeBlock(await (await fetch(name)).arrayBuffer())).maps[0][0];
        const [a, b] = await Promise.all([load("./a.bin"), load("./b.bin")]);
        const diff = scale.difference(a, b);
        return [scale.relativeChange(a, diff), scale.absPercentile(diff, 100), scale.difference(a, {width: 3, height: 10})];""")
    change, peak, mismatch = got
    assert change["meanAbsA"] == pytest.approx(1.0, rel=1e-4)
    assert change["meanAbsDiff"] == pytest.approx(0.06, rel=1e-3)
    assert change["relative"] == pytest.approx(0.06, rel=1e-3)
    assert peak == pytest.approx(0.12, rel=1e-3)
    assert mismatch is None
