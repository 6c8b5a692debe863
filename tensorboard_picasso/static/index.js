/** The Picasso tab: the ES module TensorBoard loads into the plugin's iframe.
 *
 * Modules: app.js (state, polling, redraws), api.js (HTTP API client: a grid column per
 * request, cache, bounded concurrency), colormaps.js (lookup tables), scale.js
 * (normalisation, clipping, differences), paint.js (canvas drawing), chart.js (line
 * charts), steps.js (step labels and default columns), predictions.js (class names,
 * top-k bars), metrics.js (what the quality metrics mean, worst-first order, badges),
 * controls.js (control bar), grid.js (grid view), compare.js (compare view), quality.js
 * (quality panel), dom.js (building elements from untrusted text safely).
 *
 * Hooks for tests and users (stable ids and classes):
 *   body[data-picasso-state]   "loading" | "ready" (grid and compare fully drawn) |
 *                              "empty" (no run has Picasso data) | "error"
 *   body[data-picasso-quality] "loading" | "ready" (quality panel, badges and row order
 *                              drawn; after the grid); absent without a grid
 *   #picasso-grid              the grid; canvas.cell-map per cell, .cell.focus for the
 *                              slider's column, .cell[data-step], .cell .pred (top-1),
 *                              .cell .flip (shown, i.e. not [hidden], where top-1 flipped),
 *                              .cell .badge.drift / .badge.faith (quality of the map),
 *                              .row-head[data-image] (in the shown order; .selected: the
 *                              selected image; click to select), .row-head .row-note
 *   #controls                  select#run, select#method, select#target, select#colormap,
 *                              input#opacity, select#norm, select#clip, #colorbar,
 *                              input#step-slider (+ #step-label), details#step-picks
 *                              (checkboxes, button#steps-default), select#sort ("" or a
 *                              metric name), button#compare-open
 *   #compare-view              select#compare-image, select#compare-mode,
 *                              select#compare-step-a/-b or select#compare-run-a/-b and
 *                              select#compare-step, button#compare-close; panels
 *                              #compare-a, #compare-b, #compare-diff (canvas.compare-map)
 *                              and .topk bars
 *   #picasso-message           the empty state (#picasso-empty) or error (#picasso-error)
 *   #run-errors                runs whose data could not be read
 *   #quality                   #sanity-warning when the method fails the sanity check;
 *                              figure.quality-chart[data-metric] per logged metric
 *                              (canvas.metric-chart, .metric-value .mean / .image)
 *   #live-status               when the index was last refreshed
 */

import {Api} from "./api.js";
import {el} from "./dom.js";

/** Loads the stylesheet next to this module (relative, so --path_prefix works). */
function loadStyle() {
  return new Promise((resolve) => {
    document.head.append(el("link", {rel: "stylesheet", href: new URL("./style.css", import.meta.url).href,
      onload: resolve, onerror: resolve}));
  });
}

/** Entry point called by TensorBoard's plugin loader. The first index request and the
 * stylesheet load while the rest of the tab's modules do. */
export async function render() {
  document.body.dataset.picassoState = "loading";
  const api = new Api();
  const index = api.index();
  index.catch(() => {}); // App.poll reports a failure
  const [{App}] = await Promise.all([import("./app.js"), loadStyle()]);
  await new App(api).start(index);
}
