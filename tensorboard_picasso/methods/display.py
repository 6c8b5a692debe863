"""Explanations as pictures, for notebooks and scripts.

`Explanation._repr_png_` (Jupyter shows it inline), `Explanation.to_image()` (a PIL
image) and `Explanation.show()` draw a grid: one row per image, one cell per map, each
cell the map over its probe image in the tab's colormaps (static/colormaps.json, the exact
256-entry tables the tab uses), with the class it explains and its scale underneath.

Scale (the tab's default rule): one scale per image, shared by all its maps: s = the
largest 99th percentile of |v| among them. Unsigned maps go 0..s on a sequential
colormap, signed maps -s..s on the diverging one (blue negative, white 0, red positive),
so a weak map looks weak next to a strong one instead of being stretched.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

CLIP_PERCENTILE = 99
SEQUENTIAL = ("viridis", "inferno", "gray")
DIVERGING = "rdbu_r"


@lru_cache(maxsize=None)
def colormap(name: str) -> np.ndarray:
    """The 256 x 3 uint8 table of colormap `name` (see static/colormaps.json)."""
    tables = json.loads(resources.files("tensorboard_picasso").joinpath(
        "static", "colormaps.json").read_text())
    if name not in tables:
        raise ValueError(f"colormap must be one of {sorted(tables)}, got {name!r}")
    return np.asarray(tables[name], np.uint8)


def colourise(values: np.ndarray, low: float, high: float, table: np.ndarray) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 through `table` on [low, high] (clipped)."""
    index = np.clip(np.round((values - low) / (high - low) * 255), 0, 255).astype(int)
    return table[index]


def _image_rgb(image: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    low, high = value_range
    scaled = np.clip((image - low) / max(high - low, 1e-12), 0, 1)
    rgb = scaled[..., :3] if scaled.shape[-1] >= 3 else np.repeat(scaled[..., :1], 3, -1)
    return (rgb * 255).astype(np.float32)


def explanation_image(explanation: Any, images: np.ndarray | None = None,
                      colormap_name: str = "viridis", opacity: float = 0.6,
                      cell: int = 128) -> Any:
    """A PIL image of `explanation`'s maps (over `images` (N, H, W, C), default the ones
    it was computed on), `cell` pixels per map, with captions."""
    from PIL import Image, ImageDraw

    if colormap_name not in SEQUENTIAL:
        raise ValueError(f"colormap_name must be one of {SEQUENTIAL}, got {colormap_name!r}")
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must lie in [0, 1], got {opacity!r}")
    maps = list(explanation.maps)
    targets = [list(t) for t in explanation.targets]
    images = explanation.images if images is None else np.asarray(images, np.float32)
    value_range = explanation.value_range or (
        (float(images.min()), float(images.max())) if images is not None else (0.0, 1.0))
    table = colormap(DIVERGING if explanation.signed else colormap_name)
    columns = max(len(m) for m in maps)
    caption = 28
    canvas = Image.new("RGB", (columns * cell, len(maps) * (cell + caption)), "white")
    draw = ImageDraw.Draw(canvas)
    for row, (image_maps, classes) in enumerate(zip(maps, targets)):
        scale = max(float(np.percentile(np.abs(m), CLIP_PERCENTILE)) for m in image_maps)
        scale = scale if scale > 0 else 1.0
        low = -scale if explanation.signed else 0.0
        for column, (values, cls) in enumerate(zip(image_maps, classes)):
            rgb = colourise(values, low, scale, table).astype(np.float32)
            if images is not None:
                rgb = (1 - opacity) * _image_rgb(images[row], value_range) + opacity * rgb
            tile = Image.fromarray(np.round(rgb).astype(np.uint8)).resize(
                (cell, cell), Image.NEAREST)
            top = row * (cell + caption)
            canvas.paste(tile, (column * cell, top))
            draw.text((column * cell + 3, top + cell + 2), f"class {cls}", fill="black")
            draw.text((column * cell + 3, top + cell + 14),
                      f"{'±' if explanation.signed else '0..'}{scale:.3g}", fill="black")
    return canvas


def explanation_png(explanation: Any) -> bytes:
    """PNG bytes of `explanation_image(explanation)` (Jupyter's inline display)."""
    buffer = io.BytesIO()
    explanation_image(explanation).save(buffer, format="PNG")
    return buffer.getvalue()
