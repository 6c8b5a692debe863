"""What the quality numbers mean: directions, means and the sanity verdict. Pure Python.

The one owner of that knowledge: the logger (scalar means), the plugin (the `series`
route) and, through that route, the tab ask here instead of deciding for themselves.
Imports nothing heavy (the TensorBoard plugin imports it without TensorFlow or NumPy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

# Model-randomisation sanity check (Adebayo et al. 2018): a method whose maps still rank
# pixels like the untrained model's (mean Spearman >= this) at the latest checkpoint is
# flagged, since its maps do not reflect what the model learned. A convention, not a test.
SANITY_THRESHOLD = 0.8

# Which way is good for each per-image metric: "higher" or "lower".
DIRECTIONS = {
    "drift_previous": "higher",    # the map settled: like the previous checkpoint's
    "drift_untrained": "lower",    # unlike the untrained model's map (sanity check)
    "deletion_auc": "lower",       # deleting the top pixels first kills the class fast
    "insertion_auc": "higher",     # inserting them first restores it fast
    "shortcut_share": "higher",    # attribution on the object, not the background
}


def mean(values: Iterable[float | None] | None) -> float | None:
    """Mean of the values that are not None (a metric is None for a constant map or
    where there is no previous round); None when there is none."""
    present = [v for v in values or () if v is not None]
    return sum(present) / len(present) if present else None


def sanity(drift_untrained_means: Sequence[float | None]) -> dict:
    """The sanity verdict from the mean drift_untrained per step (oldest first):
    {"threshold", "latest_drift_untrained", "flagged"}; flagged when the latest known
    mean is >= SANITY_THRESHOLD."""
    latest = next((v for v in reversed(drift_untrained_means) if v is not None), None)
    return {"threshold": SANITY_THRESHOLD, "latest_drift_untrained": latest,
            "flagged": latest is not None and latest >= SANITY_THRESHOLD}


def verdicts(metric_names: Iterable[str],
             drift_untrained_means: Sequence[float | None] = ()) -> dict:
    """{"directions": {metric: "higher" | "lower"}, "sanity": sanity(...)} for the
    metrics a method logged (unknown names get no direction)."""
    return {"directions": {name: DIRECTIONS[name] for name in metric_names
                           if name in DIRECTIONS},
            "sanity": sanity(drift_untrained_means)}


def over_steps(per_step: Sequence[Mapping[str, Sequence[float | None]]]) -> dict:
    """A method's quality over its steps, from each step's per-image metrics.

    Args:
      per_step: oldest step first, {metric: one value or None per image} of each step
        (a metric missing at a step counts as not logged there).

    Returns:
      {"metrics": {metric: {"mean": [per step], "images": [per step: per image, or
      None]}}, "verdicts": verdicts(...) of the logged metrics}.
    """
    names = sorted({name for step in per_step for name in step})
    metrics = {name: {"images": [step.get(name) for step in per_step],
                      "mean": [mean(step.get(name)) for step in per_step]}
               for name in names}
    drift_untrained = metrics.get("drift_untrained", {}).get("mean", [])
    return {"metrics": metrics, "verdicts": verdicts(names, drift_untrained)}
