"""Explanation quality over training, per logging round: drift, faithfulness, shortcut.

For each map method and each probe image (the image's first map, i.e. its first class):

* drift_previous: Spearman rank correlation with the previous round's map;
* drift_untrained: the same with the first round's map (the untrained model when the
  callback logs before training; a resumed run keeps the first round it logged): the
  model-randomisation sanity check of Adebayo et al. (2018), see verdicts.py;
* deletion_auc / insertion_auc: see faithfulness.py (low / high is faithful); computed
  at every `faithfulness_every`-th round and at the final one (they cost forward passes;
  drift and shortcut share cost none);
* shortcut_share: share of positive attribution inside the user's mask (measures.py).

Each is logged per image (in the map's header) and as its mean over the probe set (a
scalar `picasso/<method>/<metric>` beside the loss).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.context import RoundContext
from tensorboard_picasso.quality.faithfulness import Faithfulness
from tensorboard_picasso.quality.measures import rank_correlation, shortcut_share

QUALITY_METRICS = ("drift", "faithfulness", "shortcut")
__all__ = ["QUALITY_METRICS", "QualityTracker", "check_metrics"]


def check_metrics(metrics: Iterable[str] | None, masks: object) -> set[str]:
    """Validated metric names; "shortcut" needs masks and is on whenever masks are given."""
    if isinstance(metrics, str):
        raise ValueError(f"metrics must be a list of names such as ['drift'], got "
                         f"{metrics!r}")
    chosen = set(QUALITY_METRICS[:2] if metrics is None else metrics)
    unknown = chosen - set(QUALITY_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from "
                         f"{list(QUALITY_METRICS)} (or metrics=() for none)")
    if "shortcut" in chosen and masks is None:
        raise ValueError('metrics "shortcut" needs masks=... (one H x W mask of the '
                         "object per probe image)")
    if masks is not None:
        chosen.add("shortcut")
    return chosen


class QualityTracker:
    """Keeps the first and previous maps per method and scores each new round.

    Args:
      metrics: names from QUALITY_METRICS (see check_metrics).
      masks: (N, H, W) object masks in [0, 1], for "shortcut".
      faithfulness_steps: K of the deletion/insertion curves.
      faithfulness_every: score faithfulness at every k-th round only (the k-th, 2k-th,
        ...; and at the final round); 1 = every round.
    """

    def __init__(self, metrics: set[str], masks: object = None, faithfulness_steps: int = 6,
                 faithfulness_every: int = 4) -> None:
        self.metrics = metrics
        self.masks = None if masks is None else np.asarray(masks)
        self.faithfulness = Faithfulness(steps=faithfulness_steps)
        self.every = check_positive_int(faithfulness_every, "faithfulness_every")
        self._first: dict[str, np.ndarray] = {}
        self._previous: dict[str, np.ndarray] = {}
        self.rounds = 0

    def check_masks(self, images: np.ndarray) -> None:
        """ValueError unless the masks are one (H, W) array in [0, 1] per probe image."""
        if self.masks is None:
            return
        if self.masks.shape != images.shape[:3]:
            raise ValueError(f"masks has shape {self.masks.shape}; pass one H x W mask per "
                             f"probe image, shape {images.shape[:3]}")
        if self.masks.dtype != bool and (
                not np.issubdtype(self.masks.dtype, np.number)
                or not np.all((self.masks >= 0) & (self.masks <= 1))):
            raise ValueError("masks must be boolean or numbers in [0, 1] (1 = the object)")

    def remember(self, method: str, first: np.ndarray, previous: np.ndarray) -> None:
        """Continue a run logged before (a resumed fit): its first and latest maps of
        `method` (N, H, W) become the drift references."""
        self._first[method] = first
        self._previous[method] = previous

    def faithfulness_due(self, final: bool) -> bool:
        """Whether this round scores faithfulness: every `faithfulness_every`-th round
        (counting from 1) and the `final` one."""
        return "faithfulness" in self.metrics and (
            final or (self.rounds + 1) % self.every == 0)

    def score(self, context: RoundContext, method: str, maps: np.ndarray,
              classes: np.ndarray, final: bool = False) -> dict[str, np.ndarray]:
        """{metric: per-image values (N,)} for this round's first maps (N, H, W) of the
        classes (N,); `commit` them once the round is logged."""
        scores = {}
        if "drift" in self.metrics and method in self._first:
            scores["drift_previous"] = rank_correlation(maps, self._previous[method])
            scores["drift_untrained"] = rank_correlation(maps, self._first[method])
        if self.faithfulness_due(final):
            scores.update(self.faithfulness.auc(context, maps, classes))
        if "shortcut" in self.metrics:
            scores["shortcut_share"] = shortcut_share(maps, self.masks)
        return scores

    def commit(self, method: str, maps: np.ndarray) -> None:
        """The round's first maps (N, H, W) of `method` reached the log: they become the
        previous maps (and the first, in a new run)."""
        self._first.setdefault(method, maps)
        self._previous[method] = maps

    def end_round(self) -> None:
        """Count a finished round (for `faithfulness_every`)."""
        self.rounds += 1
