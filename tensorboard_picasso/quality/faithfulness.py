"""Faithfulness of a map: deletion and insertion curves (Petsiuk et al. 2018, RISE).

Pixels are ordered by the map, most important first. With K steps, step k changes the
first k/K of them:

* deletion:  x_k = x with those pixels replaced by the fill; a faithful map makes the
  target probability p_c(x_k) fall fast, so a LOW area under the curve is good;
* insertion: x_k = the fill image with those pixels taken from x; a faithful map makes
  p_c rise fast, so a HIGH area is good.

AUC = trapezoid area of p_c(x_k) over k/K in [0, 1]. The fill is a blurred copy of the
image by default (insertion then starts from a blurry image, as in RISE), or a constant.
All K+1 copies of all images go through the model `batch_size` at a time, built on the
fly from (image, step) pairs inside one tf.function.
"""

import numpy as np
import tensorflow as tf

from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.model import compiled
from tensorboard_picasso.methods.occlusion import gaussian_blur


def _curve_probabilities(model):
    """Target probabilities of partially deleted/inserted copies for (image, step) pairs."""
    def run(images, fills, ranks, classes, insert, image_index, fraction):
        x = tf.gather(images, image_index)
        fill = tf.gather(fills, image_index)
        pixels = tf.cast(tf.shape(ranks)[1], tf.float32)
        changed = tf.cast(tf.gather(ranks, image_index) < fraction[:, None] * pixels,
                          tf.float32)
        changed = tf.reshape(changed, tf.shape(x)[:3])[..., None]
        # deletion: x with the changed pixels from the fill; insertion: the reverse
        start, end = insert * fill + (1 - insert) * x, insert * x + (1 - insert) * fill
        copies = start + changed * (end - start)
        probs = model.probabilities(copies)
        return tf.gather(probs, tf.gather(classes, image_index), batch_dims=1)
    return run


class Faithfulness:
    """Deletion and insertion AUC of maps.

    Args:
      steps: K, the number of pixel fractions (the curve has K + 1 points).
      fill: "blur" (a Gaussian blurred copy, sigma = side/16) or a number.
      batch_size: copies per forward pass.
    """

    def __init__(self, steps=16, fill="blur", batch_size=256):
        self.steps = check_positive_int(steps, "steps")
        if fill != "blur" and (isinstance(fill, bool) or not isinstance(fill, (int, float))):
            raise ValueError(f'fill must be "blur" or a number, got {fill!r}')
        self.fill = fill
        self.batch_size = check_positive_int(batch_size, "batch_size")

    def _fills(self, images):
        if self.fill == "blur":
            return gaussian_blur(images, sigma=max(images.shape[1:3]) / 16)
        return np.full(images.shape, self.fill, dtype=np.float32)

    def curves(self, model, images, fills, maps, classes, insert):
        """p_c along the curve: (N, K + 1) for maps (N, H, W) of classes (N,)."""
        n = len(images)
        flat = maps.reshape(n, -1)
        order = np.argsort(-flat, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None], axis=1)
        run = compiled(model, "faithfulness_curve", _curve_probabilities)
        constants = [tf.constant(a) for a in (images, fills,
                                              ranks.astype(np.float32),
                                              classes.astype(np.int64))]
        total = n * (self.steps + 1)
        out = np.empty(total, dtype=np.float32)
        for start in range(0, total, self.batch_size):
            item = np.arange(start, min(start + self.batch_size, total))
            fraction = (item % (self.steps + 1)) / self.steps
            out[item] = run(*constants, tf.constant(float(insert)),
                            tf.constant(item // (self.steps + 1)),
                            tf.constant(fraction.astype(np.float32))).numpy()
        return out.reshape(n, self.steps + 1)

    def auc(self, model, images, maps, classes):
        """{"deletion_auc": (N,), "insertion_auc": (N,)} for maps (N, H, W)."""
        fills = self._fills(images)
        return {f"{kind}_auc": np.trapezoid(self.curves(model, images, fills, maps, classes,
                                                        kind == "insertion"),
                                            dx=1.0 / self.steps, axis=1)
                for kind in ("deletion", "insertion")}
