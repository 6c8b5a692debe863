"""Explanation quality over training, per logging round: drift, faithfulness, shortcut.

For each map method and each probe image (first target's map):

* drift_previous: Spearman rank correlation with the previous round's map;
* drift_untrained: the same with the first round's map (the untrained model when the
  callback logs before training): the model-randomisation sanity check of Adebayo et al.
  (2018). A method whose maps stay correlated with the untrained model's (mean >=
  verdicts.SANITY_THRESHOLD at the latest checkpoint) does not depend on what the model learned;
* deletion_auc / insertion_auc: see methods/faithfulness.py (low / high is faithful);
* shortcut_share: share of positive attribution inside the user's mask (metrics.py).

Each is logged per image (in the map's header) and as its mean over the probe set (a
scalar `picasso/<method>/<metric>` beside the loss).
"""

import numpy as np

from tensorboard_picasso.quality.measures import rank_correlation, shortcut_share
from tensorboard_picasso.quality.faithfulness import Faithfulness

QUALITY_METRICS = ("drift", "faithfulness", "shortcut")
__all__ = ["QUALITY_METRICS", "QualityTracker", "check_metrics"]


def check_metrics(metrics, masks):
    """Validated metric names; "shortcut" needs masks and is on whenever masks are given."""
    metrics = set(QUALITY_METRICS[:2] if metrics is None else metrics)
    unknown = metrics - set(QUALITY_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from "
                         f"{list(QUALITY_METRICS)} (or metrics=() for none)")
    if "shortcut" in metrics and masks is None:
        raise ValueError('metrics "shortcut" needs masks=... (one H x W mask of the '
                         "object per probe image)")
    if masks is not None:
        metrics.add("shortcut")
    return metrics


class QualityTracker:
    """Keeps the first and previous maps per method and scores each new round."""

    def __init__(self, metrics, masks=None, faithfulness_steps=16, batch_size=256):
        self.metrics = metrics
        self.masks = None if masks is None else np.asarray(masks)
        self.faithfulness = Faithfulness(steps=faithfulness_steps, batch_size=batch_size)
        self._first = {}
        self._previous = {}

    def check_masks(self, images):
        if self.masks is not None and self.masks.shape != images.shape[:3]:
            raise ValueError(f"masks has shape {self.masks.shape}; pass one H x W mask per "
                             f"probe image, shape {images.shape[:3]}")

    def score(self, model, images, method, maps, targets):
        """{metric: per-image values (N,)} for this round's `maps` (N, T, H, W)."""
        first_maps = maps[:, 0]
        scores = {}
        if "drift" in self.metrics and method in self._first:
            scores["drift_previous"] = rank_correlation(first_maps, self._previous[method])
            scores["drift_untrained"] = rank_correlation(first_maps, self._first[method])
        if "faithfulness" in self.metrics:
            scores.update(self.faithfulness.auc(model, images, first_maps, targets[:, 0]))
        if "shortcut" in self.metrics:
            scores["shortcut_share"] = shortcut_share(first_maps, self.masks)
        self._first.setdefault(method, first_maps)
        self._previous[method] = first_maps
        return scores
