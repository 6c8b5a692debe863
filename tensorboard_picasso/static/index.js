/** The Picasso tab: the ES module TensorBoard loads into the plugin's iframe.
 *
 * Modules: app.js (state, render loop), host.js (TensorBoard's iframe protocol, URL,
 * theme, run selection), state.js (view state and its URL form), api.js (HTTP client,
 * cache, request queue), codec.js (the stored map block, decoded; in the worker
 * decoder.js), scale.js (the one scale model), colormaps.js (matplotlib's tables from
 * colormaps.json), paint.js (canvas drawing, colour bars), targets.js (which class a cell maps), steps.js (step labels,
 * column picks), predictions.js (class names, right/wrong, top-k bars), metrics.js
 * (quality metrics' wording, order, badges), chart.js (line charts), controls.js (control
 * bar), grid.js (virtualised grid), compare.js (compare view), enlarge.js (actual-size
 * view), quality.js (quality panel), dom.js (elements from untrusted text, safely).
 *
 * Hooks for tests and users (stable ids and classes):
 *   body[data-picasso-state]   "loading" | "ready" (grid, compare view and series drawn) |
 *                              "empty" (no run has Picasso data, or none is selected) | "error"
 *   body[data-picasso-step]    the slider's step of the last render (with "ready": drawn)
 *   body[data-picasso-quality] "loading" | "ready" (quality panel drawn); absent without a grid
 *   html[data-theme]           "light" | "dark" (follows TensorBoard, or the OS outside it)
 *   #picasso-grid              role=grid, aria-busy while maps load; .grid-row[role=row]
 *                              (in view only: rows and columns are virtualised);
 *                              .row-head[data-image] (.selected: the selected image) with
 *                              .row-scale (the image's colour bar) and .row-note (sort value);
 *                              .col-head (.focus: the slider's column); .cell[data-step]
 *                              [data-image] (.focus: the slider's column; .loading; .said:
 *                              a message instead of a map) with canvas.cell-map (the map
 *                              only, at its own resolution), .cell-note, .cap.cls (the class
 *                              mapped), .cap.pred (.right / .wrong, with ✓ / ✗), .flip,
 *                              .badge.drift / .badge.faith; .map-tip (hover read-out)
 *   #controls                  select#run, #method, #target, #filter, #sort, #scale, #clip,
 *                              #colormap; input#opacity; input#step-slider (+ #step-label);
 *                              details#column-picker (button#columns-auto / -all / -none,
 *                              select#columns-from / -to, input#columns-every,
 *                              button#columns-range); #colorbar; button#compare-open
 *   #compare-view              select#compare-image, #compare-mode, #compare-step-a / -b
 *                              or #compare-run-a / -b and #compare-step, #compare-class;
 *                              input#compare-stretch; button#compare-close (or Esc);
 *                              panels #compare-a, #compare-b, #compare-diff
 *                              (canvas.compare-map), #compare-change (mean |B − A|),
 *                              #compare-no-diff (why no difference), #compare-readout
 *   dialog#enlarge             a map at actual size (select#enlarge-zoom, brightness,
 *                              contrast, opacity)
 *   #picasso-message           #picasso-empty, #picasso-unselected or #picasso-error
 *   #run-errors                runs whose data could not be read
 *   #quality                   #sanity-warning; figure.quality-chart[data-metric]
 *                              (.chart canvases, .metric-value .mean / .image)
 *   #live-status               when the index was last refreshed
 */

/** Loads the stylesheet next to this module (relative, so --path_prefix works). */
function loadStyle() {
  return new Promise((resolve) => {
    const link = document.createElement("link");
    Object.assign(link, {rel: "stylesheet", href: new URL("./style.css", import.meta.url).href, onload: resolve, onerror: resolve});
    document.head.append(link);
  });
}

/** Entry point called by TensorBoard's plugin loader. This module imports nothing
 * statically, so the index is asked for before any other module loads; the stylesheet,
 * the colormaps and the modules load meanwhile. */
export async function render() {
  document.body.dataset.picassoState = "loading";
  document.title = "Picasso"; // TensorBoard's iframe document has neither title nor language
  document.documentElement.lang = "en";
  const first = fetch("index");
  first.catch(() => {}); // App.load reports a failure
  const style = loadStyle();
  const [{Api}, {Host}, {App}, {loadColormaps}] = await Promise.all([
    import("./api.js"), import("./host.js"), import("./app.js"), import("./colormaps.js")]);
  const host = new Host();
  document.documentElement.dataset.theme = host.theme(); // no flash of the wrong theme
  await Promise.all([style, loadColormaps()]);
  const api = new Api();
  await new App(api, host).start(api.index(first));
}
