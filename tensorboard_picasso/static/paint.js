/** Canvas drawing: maps and differences through a colormap on a scale's range, and
 * colour bars labelled in the map's units. A map's canvas has the map's own resolution
 * (the stylesheet scales it, pixelated) and holds only the map: the probe image lies
 * under it as an <img>, and the overlay opacity is CSS, so changing it repaints nothing. */

import {el, fmt} from "./dom.js";
import {index, lut} from "./colormaps.js";

const images = new Map(); // "w×h" -> a reusable ImageData

function imageData(ctx, width, height) {
  const key = `${width}x${height}`;
  if (!images.has(key)) images.set(key, ctx.createImageData(width, height));
  return images.get(key);
}

/** Sizes `canvas` to `width`×`height` pixels (no-op when it already is). */
function fit(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, {width, height});
  return canvas.getContext("2d");
}

/** Draws `source` (a typed array of width×height) through colormap `name`: pixel k
 * gets the entry floor(a * source[k] + b) (clipped to 0..255), the value's position on
 * the range times 256, as colormaps.index() has it. */
function paint(canvas, width, height, source, a, b, name) {
  const ctx = fit(canvas, width, height);
  const image = imageData(ctx, width, height);
  const pixels = new Uint32Array(image.data.buffer);
  const {packed} = lut(name);
  for (let k = 0; k < pixels.length; k++) {
    const i = Math.floor(a * source[k] + b);
    pixels[k] = packed[i < 0 ? 0 : i > 255 ? 255 : i];
  }
  ctx.putImageData(image, 0, 0);
}

/** The (a, b) that put value v = v0 + dv * s at 256 * (v - lo) / (hi - lo); an empty
 * range puts every value at 0 (the centre when signed). */
function transform(v0, dv, {lo, hi, signed}) {
  if (!(hi > lo)) return [0, index(signed ? 0.5 : 0)];
  const scale = 256 / (hi - lo);
  return [dv * scale, (v0 - lo) * scale];
}

/** Draws a stored map (codec.js) through colormap `name` on `range` (scale.rangeOf). */
export function paintMap(canvas, map, range, name) {
  paint(canvas, map.width, map.height, map.q, ...transform(map.lo, map.step, range), name);
}

/** Draws difference values (B − A, a Float32Array of `width`×`height`) on `range`. */
export function paintDifference(canvas, values, width, height, range, name) {
  paint(canvas, width, height, values, ...transform(0, 1, range), name);
}

/** Clears a map canvas (nothing to draw: the cell says why in words). */
export function clearMap(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}

/** A colour bar: the ramp of colormap `name` with `ticks` labels (in the map's units)
 * spread evenly under it. */
export function colourBar(name, ticks, className = "colorbar") {
  const bar = el("canvas", {class: "colorbar-ramp", width: 256, height: 1, "aria-hidden": "true"});
  const ctx = bar.getContext("2d");
  const image = ctx.createImageData(256, 1);
  new Uint32Array(image.data.buffer).set(lut(name).packed);
  ctx.putImageData(image, 0, 0);
  return el("div", {class: className}, [bar, el("div", {class: "colorbar-labels"}, ticks.map((text) => el("span", {text})))]);
}

/** The tick labels of a range: its ends, and 0 between when it is signed. */
export function rangeTicks({lo, hi, signed}) {
  return signed ? [fmt(lo), "0", fmt(hi)] : [fmt(lo), fmt(hi)];
}
