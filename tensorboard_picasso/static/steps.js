/** Checkpoint steps: labels, which steps are grid columns (the column spec), and the
 * logged step before another. */

/** How a step is shown: step -1 is the untrained model. */
export function stepLabel(step) {
  return step === -1 ? "before training" : `step ${step}`;
}

/** About `count` steps: the first, the last and evenly spaced ones between. */
function evenlySpaced(steps, count) {
  if (steps.length <= count) return [...steps];
  const picked = new Set();
  for (let i = 0; i < count; i++) picked.add(steps[Math.round((i * (steps.length - 1)) / (count - 1))]);
  return [...picked];
}

/** The columns (sorted steps) of a column spec over the logged `steps` (sorted):
 * "auto" (5 evenly spaced from the first to the one before the newest, which the
 * slider's column shows), "all", "none", "range:FROM:TO:EVERY" (every EVERY-th logged
 * step from FROM to TO), or "list:S,S,...". */
export function columnsOf(spec, steps) {
  if (spec === "all") return [...steps];
  if (spec === "none") return [];
  const [kind, ...rest] = spec.split(":");
  if (kind === "range") {
    const [from, to, every] = rest.map(Number);
    return steps.filter((s) => s >= Math.min(from, to) && s <= Math.max(from, to))
      .filter((_, i) => i % Math.max(1, every) === 0);
  }
  if (kind === "list") {
    const listed = new Set(rest[0].split(",").map(Number));
    return steps.filter((s) => listed.has(s));
  }
  return evenlySpaced(steps.slice(0, -1), 5);
}

/** The logged step before `step` in the sorted `steps`, or null. */
export function previousStep(steps, step) {
  const i = steps.indexOf(step);
  return i > 0 ? steps[i - 1] : null;
}
