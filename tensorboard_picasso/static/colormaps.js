/** Colormaps: the exact 256-entry tables of matplotlib's viridis, inferno, gray and RdBu
 * reversed, from colormaps.json (written by tools/make_colormaps.py; the Python side
 * reads the same file). A value's entry is chosen as matplotlib does: see index(). */

/** Colormaps the user picks for unsigned maps. */
export const SEQUENTIAL = ["viridis", "inferno", "gray"];
/** The colormap for signed maps and differences: blue negative, white at 0, red positive. */
export const DIVERGING = "rdbu_r";

let tables = null; // name -> {rgb: [[r, g, b]] x 256, packed: Uint32Array(256) of RGBA}

/** Loads colormaps.json (next to this module); must settle before lut() is called. */
export async function loadColormaps() {
  const response = await fetch(new URL("./colormaps.json", import.meta.url));
  if (!response.ok) throw new Error(`colormaps.json: HTTP ${response.status}`);
  const json = await response.json();
  tables = new Map(Object.entries(json).map(([name, rgb]) => {
    const packed = new Uint32Array(256);
    const bytes = new Uint8ClampedArray(packed.buffer);
    rgb.forEach(([r, g, b], i) => bytes.set([r, g, b, 255], 4 * i));
    return [name, {rgb, packed}];
  }));
}

/** The table of `name`: {rgb: 256 [r, g, b] triples, packed: 256 RGBA pixels as
 * Uint32Array (for writing ImageData through a Uint32Array view)}. */
export function lut(name) {
  const table = tables?.get(name);
  if (!table) throw new Error(`unknown colormap ${name}`);
  return table;
}

/** The table entry of the position `t` in [0, 1] along a colormap: floor(256 t), clipped
 * to 0..255 (matplotlib's rule, so the tab and a notebook colour a value alike). */
export function index(t) {
  return Math.max(0, Math.min(255, Math.floor(256 * t)));
}
