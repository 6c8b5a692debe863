/** The explanation quality panel (#quality), from the `series` route: a warning when the
 * method fails the model-randomisation sanity check (the series' verdict), and one chart
 * per metric over the checkpoints (the mean over the probe images, and the selected
 * image). The charts follow the step slider; clicking a chart picks its step. */

import {LineChart} from "./chart.js";
import {el, fmt} from "./dom.js";
import {METRICS, caption, fixed, metricNames, valueAt} from "./metrics.js";
import {stepLabel} from "./steps.js";

const CHART = {width: 226, height: 64}; // CSS px

/** The warning for `method` given its series' sanity verdict, or null when it passes. */
function sanityWarning(method, sanity) {
  if (!sanity?.flagged) return null;
  return el("p", {id: "sanity-warning", class: "message warning", role: "note", text:
    `⚠ Sanity check: ${method} maps at the latest checkpoint still rank pixels like the ` +
    `untrained model's (mean Spearman ${fmt(sanity.latest_drift_untrained)} ≥ ${fmt(sanity.threshold)}), ` +
    "so they may show the input more than what the model learned."});
}

function swatch(kind, text) {
  return el("span", {class: "legend-item"}, [el("span", {class: `swatch ${kind}`}), text]);
}

export class QualityPanel {
  /** `onStep(step)`: a chart's point was clicked. */
  constructor(onStep) {
    this.onStep = onStep;
    this.body = el("div", {class: "quality-body"});
    this.summary = el("summary", {}, [el("h2", {text: "Explanation quality"})]);
    // Open unless the window is short: the grid needs the height more.
    this.root = el("details", {id: "quality", open: !matchMedia("(max-height: 640px)").matches}, [this.summary, this.body]);
    this.key = null;
    this.charts = [];
  }

  clear() {
    this.key = null;
    this.charts = [];
    this.body.replaceChildren();
  }

  /** Shows the quality of `series` (a `series` response) with the line of `image` (null:
   * the mean only), its values at `step`. Charts are rebuilt only when the series, the
   * image or the theme changes; a new step moves their markers. */
  render(series, step, image, theme) {
    const key = JSON.stringify([series.run, series.method, series.versions, series.steps.length, image, theme]);
    if (key !== this.key) this.build(series, image);
    this.key = key;
    const s = series.steps.indexOf(step);
    for (const chart of this.charts) {
      chart.chart.mark(step);
      chart.mean.textContent = fixed(valueAt(series, chart.name, s));
      if (chart.mine) chart.mine.textContent = fixed(valueAt(series, chart.name, s, image));
    }
    this.note.textContent = `${series.method}, each image's first map · values at ${stepLabel(step)} (dashed line)`;
  }

  build(series, image) {
    const names = metricNames(series);
    const warning = sanityWarning(series.method, series.verdicts?.sanity);
    this.note = el("span", {class: "note"});
    this.charts = [];
    if (!names.length) {
      this.body.replaceChildren(...(warning ? [warning] : []), el("p", {class: "message", text:
        `No quality metrics logged for ${series.method} (PicassoCallback's metrics= argument).`}), this.note);
      return;
    }
    const legend = el("span", {class: "legend"}, [swatch("mean", "mean over the probe images"),
      image === null ? el("span", {class: "note", text: "select an image (its row header) for its line"})
        : swatch("image", `image ${image}`)]);
    const figures = names.map((name) => {
      const values = series.metrics[name];
      const lines = [{values: values.mean, colour: "var(--mean)", name: "mean"}];
      if (image !== null) lines.push({values: values.images.map((v) => v?.[image] ?? null), colour: "var(--accent)", name: `image ${image}`});
      const chart = new LineChart({...CHART, label: stepLabel, onPick: this.onStep,
        describe: `${METRICS[name].label} over the checkpoints`});
      const mean = el("span", {class: "mean"});
      const mine = image === null ? null : el("span", {class: "image"});
      this.charts.push({name, chart, mean, mine, lines});
      return el("figure", {class: "quality-chart", "data-metric": name}, [
        el("figcaption", {title: METRICS[name].meaning}, [el("span", {class: "metric-name", text: METRICS[name].label}),
          el("span", {class: "metric-value"}, [mean, ...(mine ? [" · ", mine] : [])])]),
        chart.root, el("div", {class: "metric-caption", text: caption(series, name)}),
      ]);
    });
    this.body.replaceChildren(...(warning ? [warning] : []), el("div", {class: "quality-head"}, [legend, this.note]),
      el("div", {class: "quality-charts"}, figures));
    // Colours are CSS variables: resolve them once the charts are in the document.
    const style = getComputedStyle(this.root);
    for (const {chart, lines} of this.charts) {
      chart.draw({steps: series.steps, marker: null, lines: lines.map((line) => ({...line,
        colour: style.getPropertyValue(line.colour.slice(4, -1)).trim()}))});
    }
  }
}
