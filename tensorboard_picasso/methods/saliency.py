"""Gradient maps: vanilla saliency, SmoothGrad, Integrated Gradients.

With f_c the target score (logit where the model exposes logits, else probability; see
model.py) and x an image:

* Saliency (Simonyan et al. 2014):        g = df_c/dx (x)
* SmoothGrad (Smilkov et al. 2017):      g = 1/S sum_s df_c/dx (x + e_s),
                                          e_s ~ N(0, (noise * (max x - min x))^2)
* Integrated Gradients (Sundararajan et al. 2017), baseline x':
      a = (x - x') * integral_0^1 df_c/dx (x' + t (x - x')) dt
  with the integral by S-point Gauss-Legendre quadrature, so that (completeness)
      sum over pixels and channels of a  ~=  f_c(x) - f_c(x').

The (H, W, C) result is reduced over channels: "max_abs" (Picasso's max |g|),
"abs_sum" (sum |g|) or "signed" (sum g, keeps IG's completeness).

All perturbed copies of all images and targets go through the model in batches of
`batch_size`; per-copy gradients are summed into their image in the graph.
"""

import numpy as np
import tensorflow as tf

from tensorboard_picasso.methods.base import (ExplanationMethod, check_positive_int,
                                              repeat_for_targets)
from tensorboard_picasso.methods.model import compiled

REDUCTIONS = ("max_abs", "abs_sum", "signed")


def reduce_channels(gradients, reduction):
    """(M, H, W, C) -> (M, H, W) by `reduction`; tensors in, tensors out."""
    if reduction == "max_abs":
        return tf.reduce_max(tf.abs(gradients), axis=-1)
    if reduction == "abs_sum":
        return tf.reduce_sum(tf.abs(gradients), axis=-1)
    return tf.reduce_sum(gradients, axis=-1)


def _reduced_gradients(model, reduction):
    """tf.function body: d f_c / d x for images x and classes c, reduced over channels."""
    def gradients(images, classes):
        with tf.GradientTape() as tape:
            tape.watch(images)
            scores = tf.gather(model.scores(images), classes, batch_dims=1)
        return reduce_channels(tape.gradient(scores, images), reduction)
    return gradients


def _weighted_gradient_sum(model):
    """tf.function: sum_k w_k df/dx(x_k) per item for a batch of perturbed copies x_k.

    `item` is sorted and says which (image, target) row each copy belongs to; the result
    has one row per distinct item in the batch, starting at item[0].
    """
    def summed(inputs, classes, weights, item):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            scores = tf.gather(model.scores(inputs), classes, batch_dims=1)
        grads = tape.gradient(scores, inputs) * weights[:, None, None, None]
        segment = item - item[0]
        return tf.math.unsorted_segment_sum(grads, segment, segment[-1] + 1)
    return summed


class _GradientMethod(ExplanationMethod):
    """Shared settings of the gradient family."""

    default_reduction = "max_abs"

    def __init__(self, reduction=None, batch_size=256):
        reduction = reduction or self.default_reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.batch_size = check_positive_int(batch_size, "batch_size")

    @property
    def signed(self):
        return self.reduction == "signed"

    def params(self):
        return {"reduction": self.reduction}


class Saliency(_GradientMethod):
    """Vanilla gradient saliency, batched over all images and targets."""

    name = "saliency"

    def compute(self, model, images, targets):
        x, classes = repeat_for_targets(images, targets)
        fn = compiled(model, ("saliency", self.reduction),
                      lambda m: _reduced_gradients(m, self.reduction))
        maps = np.concatenate([
            fn(tf.constant(x[s:s + self.batch_size]),
               tf.constant(classes[s:s + self.batch_size])).numpy()
            for s in range(0, len(x), self.batch_size)])
        return maps.reshape(targets.shape + x.shape[1:3])


class _SampledGradientMethod(_GradientMethod):
    """Gradients averaged over S perturbed copies per (image, target): SmoothGrad, IG."""

    def perturb(self, x, sample, samples):
        """(copies of x, weight per copy) for sample indices `sample` (numpy)."""
        raise NotImplementedError

    def summed_gradients(self, model, images, targets, samples):
        x, classes = repeat_for_targets(images, targets)
        fn = compiled(model, "weighted_gradient_sum", _weighted_gradient_sum)
        total = np.zeros_like(x)
        count = len(x) * samples
        for start in range(0, count, self.batch_size):
            copy = np.arange(start, min(start + self.batch_size, count))
            item, sample = copy // samples, copy % samples
            inputs, weights = self.perturb(x[item], item, sample)
            part = fn(tf.constant(inputs), tf.constant(classes[item]),
                      tf.constant(weights), tf.constant(item)).numpy()
            total[item[0]:item[0] + len(part)] += part
        return total


class SmoothGrad(_SampledGradientMethod):
    """SmoothGrad: the gradient averaged over noisy copies, then reduced over channels.

    Args:
      samples: noisy copies per image and target (S).
      noise: noise standard deviation as a fraction of each image's value range.
      seed: the noise's random seed (maps are reproducible across checkpoints).
    """

    name = "smoothgrad"

    def __init__(self, samples=16, noise=0.15, seed=0, reduction=None, batch_size=256):
        super().__init__(reduction, batch_size)
        self.samples = check_positive_int(samples, "samples")
        if not isinstance(noise, (int, float)) or not 0 < noise <= 1:
            raise ValueError(f"noise must be a fraction of the value range in (0, 1], got "
                             f"{noise!r}")
        self.noise = float(noise)
        self.seed = int(seed)

    def params(self):
        return {**super().params(), "samples": self.samples, "noise": self.noise}

    def perturb(self, x, item, sample):
        spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))[:, None, None, None]
        noise = np.stack([np.random.default_rng((self.seed, i, s)).standard_normal(
            x.shape[1:], dtype=np.float32) for i, s in zip(item, sample)])
        weights = np.full(len(x), 1.0 / self.samples, dtype=np.float32)
        return x + noise * (self.noise * spread), weights

    def compute(self, model, images, targets):
        grads = self.summed_gradients(model, images, targets, self.samples)
        return reduce_channels(grads, self.reduction).numpy().reshape(
            targets.shape + images.shape[1:3])


class IntegratedGradients(_SampledGradientMethod):
    """Integrated Gradients with Gauss-Legendre quadrature.

    Args:
      baseline: a number (e.g. 0.0 = black) or an array broadcastable to one image.
      steps: quadrature points S; completeness holds to ~1% at 64 steps on smooth models.
      reduction: default "signed", which keeps sum(map) = f(x) - f(baseline).
    """

    name = "integrated_gradients"
    default_reduction = "signed"

    def __init__(self, baseline=0.0, steps=64, reduction=None, batch_size=256):
        super().__init__(reduction, batch_size)
        self.steps = check_positive_int(steps, "steps")
        self.baseline = np.asarray(baseline, dtype=np.float32)
        nodes, weights = np.polynomial.legendre.leggauss(self.steps)
        self._alphas = ((nodes + 1) / 2).astype(np.float32)
        self._weights = (weights / 2).astype(np.float32)

    def params(self):
        baseline = float(self.baseline) if self.baseline.ndim == 0 else "array"
        return {**super().params(), "steps": self.steps, "baseline": baseline}

    def validate(self, images_shape):
        try:
            np.broadcast_to(self.baseline, images_shape[1:])
        except ValueError:
            raise ValueError(f"baseline of shape {self.baseline.shape} does not broadcast "
                             f"to one image {images_shape[1:]}") from None

    def perturb(self, x, item, sample):
        alpha = self._alphas[sample][:, None, None, None]
        return self.baseline + alpha * (x - self.baseline), self._weights[sample]

    def attributions(self, model, images, targets):
        """Per-channel attributions (N, T, H, W, C) before the channel reduction."""
        grads = self.summed_gradients(model, images, targets, self.steps)
        x, _ = repeat_for_targets(images, targets)
        return ((x - self.baseline) * grads).reshape(targets.shape + images.shape[1:])

    def compute(self, model, images, targets):
        return reduce_channels(self.attributions(model, images, targets),
                               self.reduction).numpy()
