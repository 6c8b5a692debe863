/** Checkpoint steps: labels, the default columns and the previous logged step. */

/** How a step is shown: step -1 is the untrained model. */
export function stepLabel(step) {
  return step === -1 ? "before training" : `step ${step}`;
}

/** About `count` columns: the first, the last and evenly spaced ones between. */
export function defaultColumns(steps, count = 6) {
  if (steps.length <= count) return [...steps];
  const picked = new Set();
  for (let i = 0; i < count; i++) picked.add(steps[Math.round((i * (steps.length - 1)) / (count - 1))]);
  return [...picked];
}

/** The logged step before `step` in the sorted `steps`, or null. */
export function previousStep(steps, step) {
  const i = steps.indexOf(step);
  return i > 0 ? steps[i - 1] : null;
}
