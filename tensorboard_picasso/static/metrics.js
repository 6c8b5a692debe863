/** What the `metrics` route's quality metrics mean (tensorboard_picasso/quality.py), which
 * end of each is the worst, and their values per checkpoint and image. The callback
 * scores each image's first target's map. */

/** Known metrics in display order. `worst`: the end listed first when sorting images
 * "worst first" at a step. */
export const METRICS = {
  drift_previous: {label: "drift vs previous", worst: "low", caption: "low = the map changed",
    meaning: "Spearman rank correlation with the previous checkpoint's map. Low: the map " +
      "changed a lot since then (the model's reasons have not settled)."},
  drift_untrained: {label: "drift vs untrained", worst: "high", caption: "high = still like untrained",
    meaning: "Spearman rank correlation with the untrained model's map (the model-randomisation " +
      "sanity check, Adebayo et al. 2018). High: the map still ranks pixels like the untrained " +
      "model's, so it shows the input more than what the model learned."},
  deletion_auc: {label: "deletion AUC", worst: "high", caption: "low = faithful",
    meaning: "Area under the target probability as the map's top pixels are removed " +
      "(Petsiuk et al. 2018). Low: removing what the map points at destroys the prediction."},
  insertion_auc: {label: "insertion AUC", worst: "low", caption: "high = faithful",
    meaning: "Area under the target probability as the map's top pixels are added to a " +
      "blurred copy (Petsiuk et al. 2018). High: what the map points at suffices for the prediction."},
  shortcut_share: {label: "shortcut share", worst: "low", caption: "share on the object; low = background",
    meaning: "Share of the map's positive attribution inside the object mask. Low: the " +
      "evidence lies on the background, a possible shortcut."},
};

/** How sorting by `name` orders images, for the sort control. */
export function worstLabel(name) {
  return `${METRICS[name].label} (${METRICS[name].worst}est first)`;
}

/** The known metrics a `metrics` response has, in display order. */
export function metricNames(metrics) {
  return Object.keys(METRICS).filter((name) => metrics.metrics[name]);
}

/** The value of metric `name` at `step` for `image`, or its mean when `image` is null;
 * null when it was not computed. */
export function valueAt(metrics, name, step, image = null) {
  const i = metrics.steps.indexOf(step);
  const series = metrics.metrics[name];
  if (i < 0 || !series) return null;
  return (image === null ? series.mean[i] : series.images[i]?.[image]) ?? null;
}

/** `images` sorted by metric `name` at `step`, worst first; images without a value last,
 * ties in probe order. */
export function worstFirst(metrics, name, step, images) {
  const sign = METRICS[name].worst === "high" ? -1 : 1;
  const key = new Map(images.map((image) => [image, valueAt(metrics, name, step, image)]));
  return [...images].sort((a, b) => {
    const [x, y] = [key.get(a), key.get(b)];
    if (x === null || y === null) return (x === null) - (y === null);
    return sign * (x - y);
  });
}

/** A value with 2 decimals (metrics lie in [-1, 1]), "+" before positive ones when
 * `signed`; "–" for null. */
export function fixed(value, signed = false) {
  if (value === null) return "–";
  const text = value.toFixed(2).replace(/^-(0\.00)$/, "$1");
  return signed && text !== "0.00" && value > 0 ? `+${text}` : text;
}

/** The badges of one grid cell ({kind, text, title}), for the metrics logged: drift vs
 * the previous checkpoint, and faithfulness as insertion − deletion AUC. */
export function cellBadges(metrics, step, image) {
  const at = (name) => valueAt(metrics, name, step, image);
  const badges = [];
  if (metrics.metrics.drift_previous) {
    const rho = fixed(at("drift_previous"));
    badges.push({kind: "drift", text: `ρ ${rho}`,
      title: `drift vs previous: Spearman ρ ${rho} with the previous checkpoint's map`});
  }
  if (metrics.metrics.deletion_auc && metrics.metrics.insertion_auc) {
    const [del, ins] = [at("deletion_auc"), at("insertion_auc")];
    badges.push({kind: "faith", text: `ins−del ${fixed(del === null || ins === null ? null : ins - del, true)}`,
      title: `faithfulness: insertion AUC ${fixed(ins)} − deletion AUC ${fixed(del)} (higher = more faithful)`});
  }
  return badges;
}
