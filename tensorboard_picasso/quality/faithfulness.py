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
per image go through the model, blended from the image and its fill by a pixel mask
(context.blended_forward, the same compiled function as occlusion's).
"""

from __future__ import annotations


import numpy as np

from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.batching import Batcher
from tensorboard_picasso.methods.context import RoundContext, blended_forward, whole_images
from tensorboard_picasso.methods.memory import batch_size_for
from tensorboard_picasso.quality.measures import trapezoid


class Faithfulness:
    """Deletion and insertion AUC of maps.

    Args:
      steps: K, the number of pixel fractions (each curve has K + 1 points).
      fill: "blur" (a Gaussian blurred copy, sigma = side / 16) or a number.
      batch_size: copies per forward pass; default from the round's memory bound.
    """

    def __init__(self, steps: int = 6, fill: object = "blur",
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

    def _batcher(self, context: RoundContext) -> Batcher:
        size = self.batch_size or batch_size_for(context.model, context.images, False,
                                                 context.memory_bound)
        return Batcher(size, context.model.backend)

    def _fill_probabilities(self, context: RoundContext) -> np.ndarray:
        """Class probabilities of the fill images (N, classes), once per round."""
        key = ("faithfulness_fill", self.fill)
        if key not in context.memo:
            images = context.images
            context.memo[key] = blended_forward(
                context.model, self._batcher(context), images, self.fills(context),
                len(images), whole_images(images, 1.0))[1]
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
            per_image = 2 * (k - 1)
            pixels = ranks.shape[1]

            def items(copy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                image = copy // per_image
                insert = (copy % per_image) // (k - 1)
                fraction = (copy % (k - 1) + 1) / k
                changed = ranks[image] < (fraction * pixels)[:, None]
                # deletion: the changed pixels from the fill; insertion: only they from x
                mask = np.where(insert[:, None] == 1, ~changed, changed)
                return image.astype(np.int32), mask.reshape(
                    (len(copy),) + images.shape[1:3]).astype(np.float32)
            probabilities = blended_forward(model, self._batcher(context), images,
                                            self.fills(context), n * per_image, items)[1]
            picked = probabilities[np.arange(n * per_image), np.repeat(classes, per_image)]
            inner = picked.reshape(n, 2, k - 1)
        return {"deletion": np.column_stack([clean, inner[:, 0], filled]),
                "insertion": np.column_stack([filled, inner[:, 1], clean])}

    def auc(self, context: RoundContext, maps: np.ndarray, classes: np.ndarray
            ) -> dict[str, np.ndarray]:
        """{"deletion_auc": (N,), "insertion_auc": (N,)} for maps (N, H, W)."""
        return {f"{kind}_auc": trapezoid(curve, 1.0 / self.steps)
                for kind, curve in self.curves(context, maps, classes).items()}
