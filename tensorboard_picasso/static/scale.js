/** Normalisation: the value range [lo, hi] a map is drawn with, clipped at a percentile
 * of |v|. Signed maps get a range centred at 0; unsigned maps start at 0. */

const SAMPLE = 16384; // larger maps are subsampled (strided) for the percentile
const bounds = new WeakMap(); // Float32Array -> Map(percentile -> bound)

/** The `pct` percentile of |v| over `values` (cached per array). */
function absPercentile(values, pct) {
  let byPct = bounds.get(values);
  if (!byPct) bounds.set(values, (byPct = new Map()));
  if (!byPct.has(pct)) {
    const stride = Math.max(1, Math.floor(values.length / SAMPLE));
    const abs = new Float32Array(Math.ceil(values.length / stride));
    for (let i = 0, j = 0; i < values.length; i += stride, j++) abs[j] = Math.abs(values[i]);
    abs.sort();
    byPct.set(pct, abs[Math.round((pct / 100) * (abs.length - 1))] || 0);
  }
  return byPct.get(pct);
}

/** The range shared by the maps in `valuesList`: the largest of their clip bounds. */
export function rangeOf(valuesList, pct, signed) {
  const largest = Math.max(0, ...valuesList.map((values) => absPercentile(values, pct)));
  const bound = largest > 0 && Number.isFinite(largest) ? largest : 1;
  return signed ? {lo: -bound, hi: bound} : {lo: 0, hi: bound};
}

/** B − A, elementwise; null when the maps' shapes differ. */
export function difference(a, b) {
  if (a.width !== b.width || a.height !== b.height) return null;
  const values = new Float32Array(a.values.length);
  for (let i = 0; i < values.length; i++) values[i] = b.values[i] - a.values[i];
  return {width: a.width, height: a.height, values};
}
