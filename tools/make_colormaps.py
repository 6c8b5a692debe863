"""Writes tensorboard_picasso/static/colormaps.json: matplotlib's colormaps as exact
256-entry tables, read by the tab (static/colormaps.js) and by notebook rendering.

Run once when the set changes (matplotlib is needed only here, not by the package):
    python tools/make_colormaps.py

The file maps a name to 256 [r, g, b] triples (ints 0..255): index 0 is the low end of
the scale, 255 the high end. "rdbu_r" is matplotlib's RdBu reversed: blue for negative,
white at the centre (0), red for positive.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np

NAMES = {"viridis": "viridis", "inferno": "inferno", "gray": "gray", "rdbu_r": "RdBu_r"}
OUT = Path(__file__).resolve().parent.parent / "tensorboard_picasso" / "static" / "colormaps.json"


def table(name: str) -> list[list[int]]:
    """The 256 RGB triples of matplotlib colormap `name`, rounded to 0..255."""
    rgba = matplotlib.colormaps[name].resampled(256)(np.arange(256))
    return np.round(rgba[:, :3] * 255).astype(int).tolist()


def main() -> None:
    tables = {key: table(name) for key, name in NAMES.items()}
    lines = ",\n".join(f"  {json.dumps(key)}: {json.dumps(rows, separators=(',', ':'))}"
                       for key, rows in tables.items())
    OUT.write_text("{\n" + lines + "\n}\n")
    print(f"wrote {OUT} ({', '.join(tables)})")


if __name__ == "__main__":
    main()
