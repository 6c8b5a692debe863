"""Gradient maps: vanilla saliency, SmoothGrad, Integrated Gradients.

With f_c the target score (the logit, see model.py), x an image and [low, high] the pixel
value range of the probe set (value_range.py):

* Saliency (Simonyan et al. 2014):        g = df_c/dx (x)
* SmoothGrad (Smilkov et al. 2017):      g = 1/S sum_s df_c/dx (x + sigma e_s),
                                          e_s ~ N(0, 1), sigma = noise * (high - low)
* Integrated Gradients (Sundararajan et al. 2017), baseline x':
      a = (x - x') * integral_0^1 df_c/dx (x' + t (x - x')) dt
  with the integral by S-point Gauss-Legendre quadrature, so that (completeness)
      sum over pixels and channels of a  ~=  f_c(x) - f_c(x').

The (H, W, C) result is reduced over channels: "max_abs" (Picasso's max |g|),
"abs_sum" (sum |g|) or "signed" (sum g, keeps IG's completeness).

Perturbed copies are built inside the compiled function from (pair, sample) indices,
`batch_size` copies per forward+backward pass; SmoothGrad's noise e_s comes from a bank of
S standard normal images drawn once per probe set from `seed`, so every checkpoint (and
every backend) sees the same noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import PairMethod, check_positive_int
from tensorboard_picasso.methods.context import ProbeSet, RoundContext

REDUCTIONS = ("max_abs", "abs_sum", "signed")


class _NumpyOps:
    abs = staticmethod(np.abs)
    max = staticmethod(lambda x, axis: np.max(x, axis=axis))
    sum = staticmethod(lambda x, axis: np.sum(x, axis=axis))


NUMPY_OPS = _NumpyOps()


def reduce_channels(ops: Any, gradients: Any, reduction: str) -> Any:
    """(M, H, W, C) -> (M, H, W) by `reduction`, with `ops` the backend's Ops inside a
    compiled function or NUMPY_OPS on arrays."""
    if reduction == "max_abs":
        return ops.max(ops.abs(gradients), -1)
    if reduction == "abs_sum":
        return ops.sum(ops.abs(gradients), -1)
    return ops.sum(gradients, -1)


def input_gradients(model: Any, x: Any, classes: Any) -> tuple[Any, Any]:
    """Inside a compiled function: (d f_c / d x for each row of x (M, H, W, C), the
    classes c used (M,)); a class of -1 is the row's own top-1 class."""
    ops = model.backend.ops

    def target_scores(x: Any) -> tuple[Any, Any]:
        scores = model.scores(x)
        used = ops.resolve_predicted(classes, scores)
        return ops.pick(scores, used), used
    (gradient,), used = model.backend.gradients(target_scores, [x], wrt=[0])
    return gradient, used


def _check_integer_input(model: Any, name: str) -> None:
    if getattr(model, "input_is_integer", False):
        raise ValueError(
            f"{name} needs gradients w.r.t. the input, but the model's input is an "
            "integer tensor (e.g. uint8 pixels), which has none; give the model a float "
            "input (keras.Input(shape, dtype='float32'); a Rescaling layer takes floats) "
            "or use occlusion and gradcam, which work on integer inputs")


class _GradientMethod(PairMethod):
    """Shared settings of the gradient family."""

    default_reduction = "max_abs"

    def __init__(self, reduction: str | None = None, batch_size: int | None = None) -> None:
        super().__init__(batch_size)
        reduction = reduction or self.default_reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    @property
    def signed(self) -> bool:  # type: ignore[override]
        return self.reduction == "signed"

    def params(self) -> dict:
        return {"reduction": self.reduction}

    def validate(self, model: Any, probes: ProbeSet) -> None:
        _check_integer_input(model, self.name)


def _saliency(model: Any, reduction: str) -> Any:
    def run(images: Any, classes: Any) -> tuple[Any, Any]:
        gradient, used = input_gradients(model, images, classes)
        return reduce_channels(model.backend.ops, gradient, reduction), used
    return run


class Saliency(_GradientMethod):
    """Vanilla gradient saliency: one forward+backward pass per (image, class) pair.

    Args:
      reduction: "max_abs" (default, Picasso's), "abs_sum" or "signed".
      batch_size: pairs per pass; default from the memory bound.
    """

    name = "saliency"
    resolves_predicted = True

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        run = model.compiled(("saliency", self.reduction),
                             lambda m: _saliency(m, self.reduction))
        images = context.images
        maps, used = self.batcher(model, context, backward=True).run(
            run, len(classes), lambda item: (images[image_index[item]],
                                             classes[item].astype(np.int32)))
        return maps, used.astype(np.int64)


class _SampledGradientMethod(_GradientMethod):
    """Gradients summed over S perturbed copies per (image, class) pair, then reduced:
    SmoothGrad and Integrated Gradients. Subclasses give the compiled body and its
    per-batch arguments."""

    samples: int

    def body(self, model: Any) -> Any:
        raise NotImplementedError

    def arguments(self, context: RoundContext, image: np.ndarray, sample: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
        """The body's inputs for copies of probe images `image` at samples `sample`,
        before the classes."""
        raise NotImplementedError

    def summed_gradients(self, model: Any, context: RoundContext, image_index: np.ndarray,
                         classes: np.ndarray) -> np.ndarray:
        """sum_s w_s df_c/dx (copy_s) per pair: (P, H, W, C) float32."""
        run = model.compiled((self.name, type(self).__name__), self.body)
        total = np.zeros((len(classes),) + context.images.shape[1:], np.float32)
        samples = self.samples

        def add(copy: np.ndarray, gradients: np.ndarray) -> None:
            pair = copy // samples
            starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
            total[pair[starts]] += np.add.reduceat(gradients, starts, axis=0)

        self.batcher(model, context, backward=True).run(
            run, len(classes) * samples,
            lambda copy: self.arguments(context, image_index[copy // samples],
                                        copy % samples)
            + (classes[copy // samples].astype(np.int32),), reduce=add)
        return total


def _smoothgrad(model: Any) -> Any:
    def run(images: Any, noise: Any, sigma: Any, image: Any, sample: Any,
            classes: Any) -> Any:
        ops = model.backend.ops
        x = ops.take(images, image) + ops.take(noise, sample) * sigma
        return input_gradients(model, x, classes)[0]
    return run


class SmoothGrad(_SampledGradientMethod):
    """SmoothGrad: the gradient averaged over noisy copies, then reduced over channels.

    Args:
      samples: noisy copies per image and class (S).
      noise: the noise's standard deviation as a fraction of the value range (high - low).
      seed: the noise bank's random seed (maps are reproducible across checkpoints).
      reduction: "max_abs" (default), "abs_sum" or "signed".
      batch_size: copies per pass; default from the memory bound.
    """

    name = "smoothgrad"

    def __init__(self, samples: int = 16, noise: float = 0.15, seed: int = 0,
                 reduction: str | None = None, batch_size: int | None = None) -> None:
        super().__init__(reduction, batch_size)
        self.samples = check_positive_int(samples, "samples")
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) \
                or not 0 < noise <= 1:
            raise ValueError(f"noise must be a fraction of the value range in (0, 1], got "
                             f"{noise!r}")
        self.noise = float(noise)
        self.seed = int(seed)

    def params(self) -> dict:
        return {**super().params(), "samples": self.samples, "noise": self.noise,
                "seed": self.seed}

    def body(self, model: Any) -> Any:
        return _smoothgrad(model)

    def arguments(self, context: RoundContext, image: np.ndarray, sample: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
        low, high = context.probes.value_range
        return (context.images, context.probes.noise(self.seed, self.samples),
                np.float32(self.noise * (high - low)), image.astype(np.int32),
                sample.astype(np.int32))

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grads = self.summed_gradients(model, context, image_index, classes) / self.samples
        return reduce_channels(NUMPY_OPS, grads, self.reduction), classes


def _integrated_gradients(model: Any) -> Any:
    def run(images: Any, baseline: Any, alpha: Any, weight: Any, image: Any,
            classes: Any) -> Any:
        ops = model.backend.ops
        x = ops.take(images, image)
        path = baseline + alpha[:, None, None, None] * (x - baseline)
        return input_gradients(model, path, classes)[0] * weight[:, None, None, None]
    return run


class IntegratedGradients(_SampledGradientMethod):
    """Integrated Gradients with Gauss-Legendre quadrature.

    Args:
      baseline: "black" (default: the low end of the value range), a number, or an array
        broadcastable to one image (H, W, C).
      steps: quadrature points S; completeness holds to ~1% at 64 steps on smooth models.
      reduction: default "signed", which keeps sum(map) = f(x) - f(baseline).
      batch_size: copies per pass; default from the memory bound.
    """

    name = "integrated_gradients"
    default_reduction = "signed"

    def __init__(self, baseline: object = "black", steps: int = 64,
                 reduction: str | None = None, batch_size: int | None = None) -> None:
        super().__init__(reduction, batch_size)
        self.samples = self.steps = check_positive_int(steps, "steps")
        if isinstance(baseline, str):
            if baseline != "black":
                raise ValueError(f'baseline must be "black", a number or an array, got '
                                 f"{baseline!r}")
            self.baseline: object = baseline
        else:
            try:
                self.baseline = np.asarray(baseline, dtype=np.float32)
            except (TypeError, ValueError):
                raise ValueError(f'baseline must be "black", a number or an array, got '
                                 f"{type(baseline).__name__}") from None
        nodes, weights = np.polynomial.legendre.leggauss(self.steps)
        self._alphas = ((nodes + 1) / 2).astype(np.float32)
        self._weights = (weights / 2).astype(np.float32)

    def params(self) -> dict:
        if isinstance(self.baseline, str):
            baseline: object = self.baseline
        else:
            baseline = float(self.baseline) if self.baseline.ndim == 0 else "array"
        return {**super().params(), "steps": self.steps, "baseline": baseline}

    def validate(self, model: Any, probes: ProbeSet) -> None:
        super().validate(model, probes)
        try:
            np.broadcast_to(self.baseline_image(probes), probes.images.shape[1:])
        except ValueError:
            raise ValueError(f"baseline of shape {np.shape(self.baseline)} does not "
                             f"broadcast to one image {probes.images.shape[1:]}") from None

    def baseline_image(self, probes: ProbeSet) -> np.ndarray:
        """The baseline x' as float32, broadcastable to one image."""
        if isinstance(self.baseline, str):
            return np.float32(probes.value_range[0])
        return self.baseline  # type: ignore[return-value]

    def body(self, model: Any) -> Any:
        return _integrated_gradients(model)

    def arguments(self, context: RoundContext, image: np.ndarray, sample: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
        baseline = np.broadcast_to(self.baseline_image(context.probes),
                                   context.images.shape[1:]).astype(np.float32)
        return (context.images, baseline, self._alphas[sample], self._weights[sample],
                image.astype(np.int32))

    def attributions(self, model: Any, context: RoundContext, image_index: np.ndarray,
                     classes: np.ndarray) -> np.ndarray:
        """Per-channel attributions (P, H, W, C) before the channel reduction."""
        grads = self.summed_gradients(model, context, image_index, classes)
        baseline = self.baseline_image(context.probes)
        return (context.images[image_index] - baseline) * grads

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        attributions = self.attributions(model, context, image_index, classes)
        return reduce_channels(NUMPY_OPS, attributions, self.reduction), classes
