"""Notebook display: an Explanation renders itself (`_repr_png_`) in the tab's colormaps,
one scale per image shared by its maps, signed maps diverging around white; checked on
the pixels. The colour tables (static/colormaps.json, shared with the tab) are
matplotlib's, checked against entries copied from matplotlib 3.11.2 (no matplotlib here).
"""

import io
import json
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from tensorboard_picasso.methods import Explanation, Occlusion
from tensorboard_picasso.methods.display import colormap

from models import small_cnn

# matplotlib.colormaps[name](index)[:3], copied from matplotlib 3.11.2
MATPLOTLIB = {
    ("viridis", 0): (0.267004, 0.004874, 0.329415),
    ("viridis", 100): (0.166617, 0.463708, 0.558119),
    ("viridis", 128): (0.127568, 0.566949, 0.550556),
    ("viridis", 255): (0.993248, 0.906157, 0.143936),
    ("inferno", 0): (0.001462, 0.000466, 0.013866),
    ("inferno", 128): (0.735683, 0.215906, 0.330245),
    ("inferno", 255): (0.988362, 0.998364, 0.644924),
    ("rdbu_r", 0): (0.019608, 0.188235, 0.380392),      # matplotlib's "RdBu_r"
    ("rdbu_r", 64): (0.420684, 0.676432, 0.818685),
    ("rdbu_r", 128): (0.969089, 0.966474, 0.964937),
    ("rdbu_r", 255): (0.403922, 0.0, 0.121569),
    ("gray", 200): (0.784314, 0.784314, 0.784314),
}
CELL, CAPTION = 128, 28      # display.py's default cell and caption heights, in pixels
SIDE = 8                     # map side: each map pixel is a CELL / SIDE = 16 px block


def reference(name, index):
    """The 8-bit colour: matplotlib's float colour, rounded to the nearest of 0..255."""
    return tuple(round(255 * v) for v in MATPLOTLIB[(name, index)])


def render(explanation, **options):
    """The picture as an (H, W, 3) array: `_repr_png_` without options, else to_image."""
    if options:
        return np.asarray(explanation.to_image(**options).convert("RGB"))
    png = explanation._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def pixel(picture, row, column, i, j):
    """The colour drawn for map pixel (i, j) of the map in grid cell (row, column)."""
    block = CELL // SIDE
    return tuple(int(v) for v in picture[row * (CELL + CAPTION) + i * block + block // 2,
                                         column * CELL + j * block + block // 2])


def steps_map(values):
    """An (8, 8) map whose column blocks take `values` in turn (2 columns each)."""
    return np.repeat(np.asarray(values, np.float32), SIDE // len(values))[None].repeat(
        SIDE, axis=0)


def explanation(maps, signed=False, images=None):
    maps = np.asarray(maps, np.float32)
    targets = np.arange(maps.shape[1])[None].repeat(len(maps), axis=0)
    return Explanation("test", maps, targets, {}, signed, images,
                       None if images is None else (0.0, 1.0))


def test_colour_tables_are_matplotlibs_rounded_to_8_bits():
    tables = json.loads(resources.files("tensorboard_picasso").joinpath(
        "static", "colormaps.json").read_text())
    assert set(tables) == {"viridis", "inferno", "gray", "rdbu_r"}
    for name, table in tables.items():
        array = np.asarray(table)
        assert array.shape == (256, 3) and array.min() >= 0 and array.max() <= 255
        np.testing.assert_array_equal(colormap(name), array)
    for name, index in MATPLOTLIB:
        assert tuple(tables[name][index]) == reference(name, index), (name, index)


def test_unsigned_map_takes_the_colormaps_exact_colours():
    # zero on the left, half the peak, then the peak: table entries 0, 128 and 255
    picture = render(explanation([[steps_map([0, 0, 1, 2])]]))
    assert picture.shape == (CELL + CAPTION, CELL, 3)
    assert pixel(picture, 0, 0, 3, 0) == reference("viridis", 0)
    assert pixel(picture, 0, 0, 3, 4) == reference("viridis", 128)
    assert pixel(picture, 0, 0, 3, 7) == reference("viridis", 255)
    inferno = render(explanation([[steps_map([0, 0, 1, 2])]]), colormap_name="inferno")
    assert [pixel(inferno, 0, 0, 5, j) for j in (1, 5, 6)] == [
        reference("inferno", 0), reference("inferno", 128), reference("inferno", 255)]


def test_maps_of_one_image_share_its_scale_and_images_have_their_own():
    strong, weak = steps_map([0, 0, 0, 2]), steps_map([0, 0, 0, 0.2])
    picture = render(explanation([[strong, weak], [weak, weak]]))
    assert picture.shape == (2 * (CELL + CAPTION), 2 * CELL, 3)
    assert pixel(picture, 0, 0, 0, 7) == reference("viridis", 255)
    # the weak map beside a strong one: 0.2 on the scale 0..2 is entry round(25.5) = 26
    faint = pixel(picture, 0, 1, 0, 7)
    assert faint == tuple(colormap("viridis")[26])
    assert faint != reference("viridis", 255)
    # the second image has only weak maps: its scale is 0..0.2, its peak the top colour
    assert pixel(picture, 1, 0, 0, 7) == pixel(picture, 1, 1, 0, 7) == \
        reference("viridis", 255)


def test_signed_maps_diverge_around_white():
    picture = render(explanation([[steps_map([-1, 0, 0, 1])]], signed=True))
    zero = pixel(picture, 0, 0, 2, 3)
    assert zero == reference("rdbu_r", 128) and min(zero) >= 240      # near white
    negative, positive = pixel(picture, 0, 0, 2, 0), pixel(picture, 0, 0, 2, 7)
    assert negative == reference("rdbu_r", 0) and negative[2] > negative[0]    # blue
    assert positive == reference("rdbu_r", 255) and positive[0] > positive[2]  # red


def test_maps_are_drawn_over_their_images_with_the_opacity():
    grey = np.full((1, SIDE, SIDE, 3), 0.5, np.float32)
    picture = render(explanation([[steps_map([0, 0, 0, 2])]], images=grey),
                     opacity=0.25)
    for j, entry in ((0, 0), (7, 255)):
        expected = tuple(int(np.round(0.75 * 127.5 + 0.25 * c))
                         for c in reference("viridis", entry))
        assert pixel(picture, 0, 0, 1, j) == expected


def test_a_real_explanation_renders_inline():
    x = np.random.default_rng(0).random((3, 16, 16, 3)).astype("float32")
    result = Occlusion(window=4).explain(small_cnn(), x, target="top2")
    assert len(repr(result)) < 200
    picture = np.asarray(Image.open(io.BytesIO(result._repr_png_())))
    assert picture.shape[:2] == (3 * (CELL + CAPTION), 2 * CELL)
    assert len({tuple(p) for p in picture[:CELL, :CELL].reshape(-1, picture.shape[-1])}) > 8


@pytest.mark.parametrize("options,message", [
    ({"colormap_name": "jet"}, "colormap_name must be one of"),
    ({"opacity": 1.5}, "opacity must lie in [0, 1]"),
])
def test_bad_display_options_are_named(options, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        explanation([[steps_map([0, 1])]]).to_image(**options)
