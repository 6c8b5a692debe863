/** The one scale model of the tab: which value range a map is drawn with. The grid, the
 * compare view, the colour bars and the hover read-outs all ask this module.
 *
 * A scale is a bound b > 0 on |v|, in the map's own units: a signed method's maps are
 * drawn on [-b, b] (0 at the diverging colormap's white centre), an unsigned one's on
 * [0, b]. The bound is the clip percentile of |v| (the `series` route's `abs_quantiles`
 * at the level the user picks, 100 = the maximum), taken as the largest over a scope:
 *
 *   image — every checkpoint's maps of one probe image (in a run-vs-run view, of both
 *           runs): the default. It does not change while scrubbing, and a map much weaker
 *           than its image's strongest is drawn faint: growth over training is visible.
 *   view  — every map of the method in the view (both runs in run-vs-run).
 *   map   — the map alone: every map fills the colormap, which exaggerates weak maps.
 *
 * A difference B − A is drawn on [-b, b] with the bound of its two panels (so its colour
 * says how large the change is compared with the maps), unless the user asks to stretch
 * it to its own clip percentile. */

export const SCOPES = {
  image: "one scale per image, across checkpoints",
  view: "one scale for the whole view",
  map: "per map (exaggerates weak maps)",
};

/** A map of a series: {series, image, step: index into series.steps, j: index among the
 * image's maps at that step}. */

/** The index of the quantile level `clip` (a percent) in `series.quantile_levels`; the
 * nearest level when it is not one of them. */
export function levelIndex(series, clip) {
  const levels = series.quantile_levels;
  let best = 0;
  levels.forEach((level, i) => {
    if (Math.abs(level - clip) < Math.abs(levels[best] - clip)) best = i;
  });
  return best;
}

/** The bound of one map: its |v| quantile at `clip`; 0 when the series lacks it. */
export function mapBound({series, image, step, j}, clip) {
  return series.abs_quantiles[step]?.[image]?.[j]?.[levelIndex(series, clip)] ?? 0;
}

const memo = new WeakMap(); // series -> Map(key -> bound): a series never changes once loaded

function remembered(series, key, compute) {
  let known = memo.get(series);
  if (!known) memo.set(series, (known = new Map()));
  if (!known.has(key)) known.set(key, compute());
  return known.get(key);
}

/** The largest bound among `image`'s maps at every step of `series`. */
export function imageBound(series, image, clip) {
  return remembered(series, `image:${image}:${clip}`, () => {
    const level = levelIndex(series, clip);
    let bound = 0;
    for (const step of series.abs_quantiles) {
      for (const quantiles of step[image] ?? []) bound = Math.max(bound, quantiles[level] ?? 0);
    }
    return bound;
  });
}

/** The largest bound among all maps of `series`. */
export function viewBound(series, clip) {
  return remembered(series, `view:${clip}`, () => series.abs_quantiles.reduce((bound, step) =>
    step.reduce((b, _, image) => Math.max(b, imageBound(series, image, clip)), bound), 0));
}

/** The bound for `scope` of the maps `refs` (the maps one scale must cover: a grid
 * cell's map, or both sides of a comparison). */
export function boundOf(scope, refs, clip) {
  if (scope === "map") return Math.max(0, ...refs.map((ref) => mapBound(ref, clip)));
  if (scope === "view") return Math.max(0, ...[...new Set(refs.map((ref) => ref.series))].map((s) => viewBound(s, clip)));
  return Math.max(0, ...refs.map((ref) => imageBound(ref.series, ref.image, clip)));
}

/** The value range {lo, hi, signed} drawn with `bound` (0 when every map is zero: then
 * every value is drawn as 0, the diverging colormap's white centre when signed). */
export function rangeOf(bound, signed) {
  return signed ? {lo: -bound, hi: bound, signed} : {lo: 0, hi: bound, signed};
}

/** B − A elementwise, as a Float32Array; null when the maps differ in size. */
export function difference(a, b) {
  if (a.width !== b.width || a.height !== b.height) return null;
  const values = new Float32Array(a.q.length);
  for (let k = 0; k < values.length; k++) values[k] = b.value(k) - a.value(k);
  return values;
}

/** The mean of |v| over a map (a StoredMap) or an array of values. */
function meanAbs(map) {
  const n = map.q ? map.q.length : map.length;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += Math.abs(map.q ? map.value(k) : map[k]);
  return n ? sum / n : 0;
}

/** The `clip` percentile of |values| (for a stretched difference). */
export function absPercentile(values, clip) {
  const sorted = Float32Array.from(values, Math.abs).sort();
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.round((clip / 100) * (sorted.length - 1)))] : 0;
}

/** How large B − A is: {meanAbsDiff, meanAbsA, relative: meanAbsDiff / meanAbsA (null
 * when A is zero everywhere)}. */
export function relativeChange(a, diff) {
  const meanAbsA = meanAbs(a);
  const meanAbsDiff = meanAbs(diff);
  return {meanAbsDiff, meanAbsA, relative: meanAbsA > 0 ? meanAbsDiff / meanAbsA : null};
}
