/** Which class a grid cell maps: the Target control. Maps are keyed by (image, class): at
 * each step, `series.classes[step][image]` lists the classes mapped for that image (ragged,
 * in block order). A target names a class per cell:
 *   "predicted"  the top-1 class of the step's predictions,
 *   "true"       the image's label,
 *   "topR"       the R-th most probable class at that step (R >= 2),
 *   "classC"     class C,
 * and the cell shows that class's map when it was logged, or says in words why not. */

import {className} from "./predictions.js";

/** The class index `target` names for `image` at a step whose `predictions` entry is
 * given (api.js entry, or null when none was logged): {cls} or {problem: text} or
 * {pending: true} while the predictions load. */
export function targetClass(target, run, image, predictions) {
  if (target === "true") {
    const label = run.probes[image]?.label;
    return label == null ? {problem: "this image has no label"} : {cls: label};
  }
  if (target.startsWith("class")) return {cls: Number(target.slice(5))};
  const rank = target === "predicted" ? 1 : Number(target.slice(3));
  if (!predictions) return {problem: "no predictions logged at this step"};
  if (predictions.status === "loading") return {pending: true};
  if (predictions.status === "error") return {problem: `no predictions: ${predictions.error.message}`};
  const entry = predictions.value.images[image]?.top[rank - 1];
  return entry ? {cls: entry.class} : {problem: `only the top ${predictions.value.images[image]?.top.length ?? 0} classes were logged`};
}

/** How `target` is named in controls and captions. */
export function targetLabel(run, target) {
  if (target === "predicted") return "predicted class";
  if (target === "true") return "true class";
  if (target.startsWith("top")) return `top-${target.slice(3)} class`;
  return `class ${className(run, Number(target.slice(5)))}`;
}

const mapped = new WeakMap(); // series -> its mapped classes

/** Every class mapped anywhere in `series`, ascending. */
export function mappedClasses(series) {
  if (!mapped.has(series)) {
    const classes = new Set();
    for (const step of series.classes) for (const image of step) for (const cls of image) classes.add(cls);
    mapped.set(series, [...classes].sort((a, b) => a - b));
  }
  return mapped.get(series);
}

/** The Target choices that exist in the logs ({value, label}): the predicted class when
 * predictions are logged, the true class when some image's label was mapped, ranks 2..K
 * when at the step of `predictions` some image has a map of its rank-R class, and each
 * class that has a map. */
export function targetChoices(run, series, predictions) {
  const choices = [];
  if (run.prediction_steps.length) choices.push("predicted");
  const labelled = run.probes.some((p) => p.label != null && series.classes.some((step) => step[p.index]?.includes(p.label)));
  if (labelled) choices.push("true");
  if (predictions?.status === "ready") {
    const s = series.steps.indexOf(predictions.value.step);
    const most = Math.max(0, ...predictions.value.images.map((image) => image.top.length));
    for (let rank = 2; rank <= most; rank++) {
      if (predictions.value.images.some((image, i) => series.classes[s]?.[i]?.includes(image.top[rank - 1]?.class))) {
        choices.push(`top${rank}`);
      }
    }
  }
  choices.push(...mappedClasses(series).map((cls) => `class${cls}`));
  return choices.map((value) => ({value, label: targetLabel(run, value)}));
}

/** The target shown when the state names none, or names one these logs do not have. */
export function defaultTarget(choices) {
  return choices[0]?.value ?? "predicted";
}
