/** Canvas drawing: a map colourised through a lookup table over its probe image, and
 * colour bars. */

import {el, fmt} from "./dom.js";

// One scratch canvas for all colourised maps: each is drawn onward at once, and creating
// a 2-D context per map is what made redraws slow.
const scratch = el("canvas");
const scratchContext = scratch.getContext("2d");

/** `map` ({width, height, values}) through `table` on [lo, hi], on the scratch canvas. */
function colourise(map, table, lo, hi) {
  if (scratch.width !== map.width || scratch.height !== map.height) {
    Object.assign(scratch, {width: map.width, height: map.height});
  }
  const image = scratchContext.createImageData(map.width, map.height);
  const {data} = image;
  const scale = 255 / (hi - lo);
  for (let i = 0, j = 0; i < map.values.length; i++, j += 4) {
    const k = 3 * Math.max(0, Math.min(255, Math.round((map.values[i] - lo) * scale)));
    data[j] = table[k];
    data[j + 1] = table[k + 1];
    data[j + 2] = table[k + 2];
    data[j + 3] = 255;
  }
  scratchContext.putImageData(image, 0, 0);
  return scratch;
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

/** A canvas for an image of `width`×`height`: at most `side` pixels wide, at the image's
 * own resolution when smaller (the stylesheet scales it up, pixelated). Fewer pixels
 * make drawing and compositing a large grid cheaper. */
export function mapCanvas(width, height, side, className) {
  const pixels = Math.min(side, width);
  return el("canvas", {class: className, width: pixels, height: Math.round((pixels * height) / width)});
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
