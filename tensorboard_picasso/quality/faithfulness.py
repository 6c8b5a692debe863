"""Faithfulness of a map: deletion and insertion curves (Petsiuk et al. 2018, RISE).

Pixels are ordered by the map, most important first. With K steps, step k changes the
first k/K of them:

* deletion:  x_k = x with those pixels replaced by the fill; a faithful map makes the
  target probability p_c(x_k) fall fast, so a LOW area under the curve is good;
* insertion: x_k = the fill image with those pixels taken from x; a faithful map makes
  p_c rise fast, so a HIGH area is good.

AUC = trapezoid area of p_c(x_k) over k/K in [0, 1]. The fill is a blurred copy of the
image by default (insertion then starts from a blurry image, as in RISE), or a constant.

The curves' ends are shared, not recomputed: deletion at k = 0 and insertion at k = K are
the clean image (the round's clean pass), deletion at k = K and insertion at k = 0 are the
fill image (one pass per round, shared by all methods). Only the 2 (K - 1) inner copies
per image go through the model, built inside the compiled function from (image, curve,
step) indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.batching import Batcher
from tensorboard_picasso.methods.context import RoundContext, forward
from tensorboard_picasso.methods.memory import batch_size_for
from tensorboard_picasso.quality.measures import trapezoid


def _inner_points(model: Any) -> Any:
    """Compiled body: p_c of copies between image and fill; `insert` 1 for insertion."""
    ops = model.backend.ops

    def run(images: Any, fills: Any, ranks: Any, classes: Any, image: Any, insert: Any,
            fraction: Any) -> Any:
        x = ops.take(images, image)
        fill = ops.take(fills, image)
        pixels = float(ranks.shape[1])
        changed = ops.less(ops.take(ranks, image), fraction[:, None] * pixels)
        changed = ops.reshape(changed, (-1,) + tuple(x.shape[1:3]) + (1,))
        insert = insert[:, None, None, None]
        # deletion: x with the changed pixels from the fill; insertion: the reverse
        start, end = insert * fill + (1 - insert) * x, insert * x + (1 - insert) * fill
        copies = start + changed * (end - start)
        return ops.pick(model.probabilities(copies), ops.take(classes, image))
    return run


class Faithfulness:
    """Deletion and insertion AUC of maps.

    Args:
      steps: K, the number of pixel fractions (each curve has K + 1 points).
      fill: "blur" (a Gaussian blurred copy, sigma = side / 16) or a number.
      batch_size: copies per forward pass; default from the round's memory bound.
    """

    def __init__(self, steps: int = 8, fill: object = "blur",
                 batch_size: int | None = None) -> None:
        self.steps = check_positive_int(steps, "faithfulness_steps")
        if fill != "blur" and (isinstance(fill, bool) or not isinstance(fill, (int, float))):
            raise ValueError(f'fill must be "blur" or a number, got {fill!r}')
        self.fill = fill
        self.batch_size = None if batch_size is None else check_positive_int(
            batch_size, "batch_size")

    def fills(self, context: RoundContext) -> np.ndarray:
        """The fill image per probe image (N, H, W, C), cached by the probe set."""
        images = context.images
        if self.fill == "blur":
            return context.probes.blurred(max(images.shape[1:3]) / 16)
        return np.full(images.shape, self.fill, dtype=np.float32)

    def _fill_probabilities(self, context: RoundContext) -> np.ndarray:
        """Class probabilities of the fill images (N, classes), once per round."""
        key = ("faithfulness_fill", self.fill)
        if key not in context.memo:
            context.memo[key] = forward(context.model, self.fills(context))[1]
        return context.memo[key]

    def curves(self, context: RoundContext, maps: np.ndarray, classes: np.ndarray
               ) -> dict[str, np.ndarray]:
        """p_c along each curve: {"deletion": (N, K + 1), "insertion": (N, K + 1)} for
        maps (N, H, W) of classes (N,)."""
        model, images, k = context.model, context.images, self.steps
        n = len(images)
        flat = maps.reshape(n, -1)
        order = np.argsort(-flat, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None], axis=1)
        rows = np.arange(n)
        clean = context.probabilities[rows, classes]
        filled = self._fill_probabilities(context)[rows, classes]
        inner = np.zeros((n, 2, max(k - 1, 0)), np.float32)
        if k > 1:
            run = model.compiled("faithfulness", _inner_points)
            size = self.batch_size or batch_size_for(model, images, False,
                                                     context.memory_bound)
            per_image = 2 * (k - 1)
            fills = self.fills(context)
            inner = Batcher(size, model.backend).run(
                run, n * per_image, lambda item: (
                    images, fills, ranks.astype(np.float32), classes.astype(np.int32),
                    (item // per_image).astype(np.int32),
                    ((item % per_image) // (k - 1)).astype(np.float32),
                    ((item % (k - 1) + 1) / k).astype(np.float32)),
            ).reshape(n, 2, k - 1)
        return {"deletion": np.column_stack([clean, inner[:, 0], filled]),
                "insertion": np.column_stack([filled, inner[:, 1], clean])}

    def auc(self, context: RoundContext, maps: np.ndarray, classes: np.ndarray
            ) -> dict[str, np.ndarray]:
        """{"deletion_auc": (N,), "insertion_auc": (N,)} for maps (N, H, W)."""
        return {f"{kind}_auc": trapezoid(curve, 1.0 / self.steps)
                for kind, curve in self.curves(context, maps, classes).items()}
