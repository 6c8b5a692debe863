/** Colormaps as 256-entry RGB lookup tables, interpolated linearly from control points
 * sampled evenly along matplotlib's viridis and inferno and ColorBrewer's RdBu. */

const STOPS = {
  viridis: "440154 482475 414487 355f8d 2a788e 21918c 22a884 44bf70 7ad151 bddf26 fde725",
  inferno: "000004 160b39 420a68 6a176e 932667 bc3754 dd513a f37819 fca50a f6d746 fcffa4",
  gray: "000000 ffffff",
  // Blue for negative, white at the centre, red for positive.
  rdbu: "053061 2166ac 4393c3 92c5de d1e5f0 f7f7f7 fddbc7 f4a582 d6604d b2182b 67001f",
};

/** Colormaps the user picks for unsigned maps. */
export const SEQUENTIAL = ["viridis", "inferno", "gray"];
/** The colormap for signed maps and differences, centred at 0. */
export const DIVERGING = "rdbu";

const tables = new Map();

/** The lookup table of `name`: Uint8ClampedArray of 256 RGB triples. */
export function lut(name) {
  if (!tables.has(name)) {
    const stops = STOPS[name].split(" ").map((hex) => [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)));
    const table = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * (stops.length - 1);
      const k = Math.min(Math.floor(x), stops.length - 2);
      const t = x - k;
      for (let c = 0; c < 3; c++) table[i * 3 + c] = stops[k][c] * (1 - t) + stops[k + 1][c] * t;
    }
    tables.set(name, table);
  }
  return tables.get(name);
}
