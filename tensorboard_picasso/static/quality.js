/** The explanation quality panel (#quality), from the `metrics` route: a warning when the
 * method fails the model-randomisation sanity check, and one small chart per metric over
 * the checkpoints (the mean over the probe images, and the selected image). */

import {chartCanvas, lineChart} from "./chart.js";
import {el, fmt} from "./dom.js";
import {METRICS, fixed, metricNames, valueAt} from "./metrics.js";

const MEAN = "#455a64";
const IMAGE = "#f57c00"; // the accent colour, as the selected row
const CHART = {width: 226, height: 84}; // CSS px

/** How a step is named at a chart's x ends. */
const shortStep = (step) => step === -1 ? "untrained" : `step ${step}`;

/** The warning for `method` given a `metrics` response, or null when it passes. */
function sanityWarning(method, metrics) {
  const sanity = metrics.sanity;
  if (!sanity?.flagged) return null;
  return el("p", {id: "sanity-warning", class: "message warning", text:
    `⚠ Sanity check: ${method} maps at the latest checkpoint still rank pixels like the ` +
    `untrained model's (mean Spearman ${fmt(sanity.latest_drift_untrained)} ≥ ${fmt(sanity.threshold)}), ` +
    "so they may show the input more than what the model learned."});
}

/** A legend entry: a short line in `colour` and its text. */
function swatch(colour, text) {
  const line = el("span", {class: "swatch"});
  line.style.background = colour;
  return el("span", {class: "legend-item"}, [line, text]);
}

/** One metric's chart with its name, meaning and values at `focus`. */
function metricChart(metrics, name, {focus, image}) {
  const {label, caption, meaning} = METRICS[name];
  const series = metrics.metrics[name];
  const lines = [{values: series.mean, colour: MEAN}];
  if (image !== null) lines.push({values: series.images.map((values) => values?.[image] ?? null), colour: IMAGE});
  const canvas = chartCanvas(CHART.width, CHART.height, "metric-chart");
  lineChart(canvas, {steps: metrics.steps, lines, marker: focus, label: shortStep});
  const [mean, mine] = [valueAt(metrics, name, focus), image === null ? null : valueAt(metrics, name, focus, image)];
  const value = el("span", {class: "metric-value", title: `at ${shortStep(focus)}: mean ${fixed(mean)}` +
    (image === null ? "" : `, image ${image} ${fixed(mine)}`)}, [
    el("span", {class: "mean", text: fixed(mean)}),
    ...(image === null ? [] : [" · ", el("span", {class: "image", text: fixed(mine)})]),
  ]);
  return el("figure", {class: "quality-chart", title: meaning, "data-metric": name}, [
    el("figcaption", {}, [el("span", {class: "metric-name", text: label}), value]), canvas,
    el("div", {class: "metric-caption", text: caption}),
  ]);
}

export class QualityPanel {
  constructor() {
    this.root = el("section", {id: "quality"});
  }

  clear() {
    this.root.replaceChildren();
  }

  /** Shows `result` ({metrics} or {error}) of `view.method` at `view.focus`, with the line
   * of `view.image` (null: the mean only). */
  render({method, focus, image}, result) {
    if (result.error) {
      this.root.replaceChildren(el("p", {class: "message", text: `Quality metrics unavailable: ${result.error}`}));
      return;
    }
    const {metrics} = result;
    const names = metricNames(metrics);
    const warning = sanityWarning(method.method, metrics);
    if (!names.length) {
      this.root.replaceChildren(...(warning ? [warning] : []), el("p", {class: "message", text:
        `No quality metrics logged for ${method.method} (PicassoCallback's metrics= argument).`}));
      return;
    }
    const legend = el("span", {class: "legend"}, [swatch(MEAN, "mean over the probe images"),
      ...(image === null ? [el("span", {class: "note", text: "click an image's header for its line"})]
        : [swatch(IMAGE, `image ${image}`)])]);
    this.root.replaceChildren(...(warning ? [warning] : []), el("div", {class: "quality-panel"}, [
      el("div", {class: "quality-head"}, [el("h2", {text: "Explanation quality"}), legend,
        el("span", {class: "note", text: `${method.method}, first target's maps · values at ${shortStep(focus)} (dashed line)`})]),
      el("div", {class: "quality-charts"}, names.map((name) => metricChart(metrics, name, {focus, image}))),
    ]));
  }
}
