/** Canvas drawing: a map colourised through a lookup table over its probe image, and
 * colour bars. */

import {el, fmt} from "./dom.js";

/** `map` ({width, height, values}) as a canvas of its own size, through `table` on [lo, hi]. */
function colourise(map, table, lo, hi) {
  const canvas = el("canvas", {width: map.width, height: map.height});
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(map.width, map.height);
  const scale = 255 / (hi - lo);
  for (let i = 0; i < map.values.length; i++) {
    const k = 3 * Math.max(0, Math.min(255, Math.round((map.values[i] - lo) * scale)));
    image.data.set(table.subarray(k, k + 3), 4 * i);
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Draws the probe image (may be null) and `map` over it with `opacity`. */
export function paintMap(canvas, probe, map, {table, lo, hi, opacity}) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  if (probe) ctx.drawImage(probe, 0, 0, canvas.width, canvas.height);
  // Coarse maps (e.g. Grad-CAM) are upsampled smoothly; full-size maps keep their pixels.
  ctx.imageSmoothingEnabled = !!probe && map.width < probe.naturalWidth;
  ctx.globalAlpha = probe ? opacity : 1;
  ctx.drawImage(colourise(map, table, lo, hi), 0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = 1;
}

/** A canvas sized to show an image of `width`×`height` at `side` CSS pixels wide. */
export function mapCanvas(width, height, side, className) {
  return el("canvas", {class: className, width: side, height: Math.round((side * height) / width)});
}

/** A colour bar: the gradient of `table`, with end (and, when signed, centre) labels. */
export function colourBar(table, {lo, hi}, labels = [fmt(lo), fmt(hi)]) {
  const bar = el("canvas", {class: "colorbar-ramp", width: 256, height: 1});
  const ctx = bar.getContext("2d");
  const image = ctx.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    image.data.set(table.subarray(3 * i, 3 * i + 3), 4 * i);
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const ticks = lo < 0 && labels.length === 2 ? [labels[0], "0", labels[1]] : labels;
  return el("div", {class: "colorbar"}, [bar,
    el("div", {class: "colorbar-labels"}, ticks.map((text) => el("span", {text})))]);
}
