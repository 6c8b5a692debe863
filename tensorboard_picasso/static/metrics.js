/** How the quality metrics are named and explained, their values per checkpoint and
 * image (from the `series` route), worst-first order and cell badges. Which direction
 * of a metric is good is not decided here: it comes with the data (`series.verdicts.
 * directions`, from the quality package). The callback scores each image's first map. */

/** Known metrics in display order: label, caption and meaning (wording only). */
export const METRICS = {
  drift_previous: {label: "drift vs previous",
    meaning: "Spearman rank correlation with the previous checkpoint's map: how much the map " +
      "changed since then (whether the model's reasons have settled)."},
  drift_untrained: {label: "drift vs untrained",
    meaning: "Spearman rank correlation with the untrained model's map (the model-randomisation " +
      "sanity check, Adebayo et al. 2018): a map that still ranks pixels like the untrained " +
      "model's shows the input more than what the model learned."},
  deletion_auc: {label: "deletion AUC",
    meaning: "Area under the target probability as the map's top pixels are removed " +
      "(Petsiuk et al. 2018): how much removing what the map points at destroys the prediction."},
  insertion_auc: {label: "insertion AUC",
    meaning: "Area under the target probability as the map's top pixels are added to a " +
      "blurred copy (Petsiuk et al. 2018): whether what the map points at suffices for the prediction."},
  shortcut_share: {label: "shortcut share",
    meaning: "Share of the map's positive attribution inside the object mask; the rest lies " +
      "on the background, a possible shortcut."},
};

/** The logged metrics of `series` with a known name and a direction, in display order. */
export function metricNames(series) {
  return Object.keys(METRICS).filter((name) => series.metrics?.[name] && series.verdicts?.directions?.[name]);
}

/** "higher" or "lower": which way metric `name` is good (from the series' verdicts). */
export function direction(series, name) {
  return series.verdicts.directions[name];
}

/** A metric's caption: which end is good. */
export function caption(series, name) {
  return `${direction(series, name)} is better`;
}

/** How sorting by `name` orders images, for the sort control. */
export function worstLabel(series, name) {
  return `${METRICS[name].label} (${direction(series, name) === "higher" ? "lowest" : "highest"} first)`;
}

/** The value of metric `name` at step index `s` for `image`, or its mean when `image` is
 * null; null when it was not computed. */
export function valueAt(series, name, s, image = null) {
  const values = series.metrics[name];
  if (!values || s < 0) return null;
  return (image === null ? values.mean[s] : values.images[s]?.[image]) ?? null;
}

/** `images` sorted by metric `name` at step index `s`, worst first; images without a
 * value last, ties in probe order. */
export function worstFirst(series, name, s, images) {
  const sign = direction(series, name) === "higher" ? 1 : -1;
  const key = new Map(images.map((image) => [image, valueAt(series, name, s, image)]));
  return [...images].sort((a, b) => {
    const [x, y] = [key.get(a), key.get(b)];
    if (x === null || y === null) return (x === null) - (y === null) || a - b;
    return sign * (x - y) || a - b;
  });
}

/** A value with 2 decimals (metrics lie in [-1, 1]), "+" before positive ones when
 * `signed`; "–" for null. */
export function fixed(value, signed = false) {
  if (value === null) return "–";
  const text = value.toFixed(2).replace(/^-(0\.00)$/, "$1");
  return signed && text !== "0.00" && value > 0 ? `+${text}` : text;
}

/** The badges of one grid cell ({kind, text, title}) at step index `s`: drift vs the
 * previous checkpoint, and faithfulness as insertion − deletion AUC. */
export function cellBadges(series, s, image) {
  const at = (name) => valueAt(series, name, s, image);
  const badges = [];
  if (series.metrics.drift_previous) {
    const rho = fixed(at("drift_previous"));
    badges.push({kind: "drift", text: `ρ ${rho}`,
      title: `drift vs previous: Spearman ρ ${rho} with the previous checkpoint's map`});
  }
  if (series.metrics.deletion_auc && series.metrics.insertion_auc) {
    const [del, ins] = [at("deletion_auc"), at("insertion_auc")];
    badges.push({kind: "faith", text: `ins−del ${fixed(del === null || ins === null ? null : ins - del, true)}`,
      title: `faithfulness: insertion AUC ${fixed(ins)} − deletion AUC ${fixed(del)}`});
  }
  return badges;
}
