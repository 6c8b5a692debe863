/** Explanation quality from the `metrics` route: a warning when a method fails the
 * model-randomisation sanity check (its maps at the latest checkpoint still rank pixels
 * like the untrained model's, Adebayo et al. 2018). */

import {el, fmt} from "./dom.js";

/** The warning for `method` given a `metrics` response, or null when it passes. */
export function sanityWarning(method, metrics) {
  const sanity = metrics.sanity;
  if (!sanity?.flagged) return null;
  return el("p", {id: "sanity-warning", class: "message warning", text:
    `⚠ Sanity check: ${method} maps at the latest checkpoint still rank pixels like the ` +
    `untrained model's (mean Spearman ${fmt(sanity.latest_drift_untrained)} ≥ ${fmt(sanity.threshold)}), ` +
    "so they may show the input more than what the model learned."});
}
