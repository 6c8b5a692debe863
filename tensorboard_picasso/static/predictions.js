/** Class predictions: names, flips between checkpoints and top-k bar charts. */

import {el} from "./dom.js";

/** The display name of class `index` in `run` (names are untrusted text). */
export function className(run, index, name = null) {
  return name ?? run.class_names?.[index] ?? String(index);
}

/** The true label of probe image `image` in `run`, or "unlabelled". */
export function trueLabel(run, image) {
  const probe = run.probes[image];
  return probe.label == null ? "unlabelled" : className(run, probe.label, probe.label_name);
}

/** The top-1 entry ({class, name, prob}) of `image` in a `predictions` response, or null. */
export function top1(predictions, image) {
  return predictions?.images[image]?.top[0] ?? null;
}

/** Horizontal bars of an image's top-k classes; the true class is highlighted. */
export function topBars(run, image, predictions) {
  const top = predictions?.images[image]?.top ?? [];
  if (!top.length) return el("div", {class: "topk", text: "no predictions logged at this step"});
  const label = run.probes[image].label;
  return el("div", {class: "topk"}, top.map((entry) => {
    const bar = el("div", {class: "topk-bar"});
    bar.style.width = `${(100 * entry.prob).toFixed(1)}%`;
    return el("div", {class: entry.class === label ? "topk-row true-class" : "topk-row"}, [
      el("span", {class: "topk-name", text: className(run, entry.class, entry.name)}),
      el("span", {class: "topk-track"}, [bar]),
      el("span", {class: "topk-prob", text: `${(100 * entry.prob).toFixed(1)}%`}),
    ]);
  }));
}
