/** Class predictions: names, right/wrong marks and top-k bar charts. */

import {el} from "./dom.js";

/** The display name of class `index` in `run` (names are untrusted text). */
export function className(run, index, name = null) {
  return name ?? run.class_names?.[index] ?? String(index);
}

/** The true label of probe image `image` in `run`, or "unlabelled". */
export function trueLabel(run, image) {
  const probe = run.probes[image];
  return probe?.label == null ? "unlabelled" : className(run, probe.label, probe.label_name);
}

/** The top-1 entry ({class, name, prob}) of `image` in a `predictions` response, or null. */
export function top1(predictions, image) {
  return predictions?.images[image]?.top[0] ?? null;
}

/** "right", "wrong" or null (no label or no prediction) for a top-1 `entry`. */
export function verdict(run, image, entry) {
  const label = run.probes[image]?.label;
  if (!entry || label == null) return null;
  return entry.class === label ? "right" : "wrong";
}

/** The mark of a verdict: colour is never the only sign. */
export const MARKS = {right: "✓", wrong: "✗"};

/** Horizontal bars of an image's top-k classes; the true class is marked. */
export function topBars(run, image, predictions) {
  const top = predictions?.images[image]?.top ?? [];
  if (!top.length) return el("div", {class: "topk", text: "no predictions logged at this step"});
  const label = run.probes[image]?.label;
  return el("div", {class: "topk"}, top.map((entry) => {
    const bar = el("div", {class: "topk-bar"});
    bar.style.width = `${(100 * entry.prob).toFixed(1)}%`;
    const isTrue = entry.class === label;
    return el("div", {class: isTrue ? "topk-row true-class" : "topk-row"}, [
      el("span", {class: "topk-name", text: `${isTrue ? "★ " : ""}${className(run, entry.class, entry.name)}`,
        title: isTrue ? "the true class" : null}),
      el("span", {class: "topk-track"}, [bar]),
      el("span", {class: "topk-prob", text: `${(100 * entry.prob).toFixed(1)}%`}),
    ]);
  }));
}
