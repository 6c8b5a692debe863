"""Grad-CAM (Selvaraju et al. 2017) on any feature map of the model, nested models included.

With A^k the k-th channel of the feature map (h x w) and f_c the target score (the logit):

    alpha_k = mean_ij  d f_c / d A^k_ij
    cam     = ReLU( sum_k alpha_k A^k ),  resized bilinearly (half-pixel centres) to H x W.

The feature map is a `FeaturePoint` (methods/capture.py): a layer's output ("conv2",
"backbone/out_relu") or a layer's input ("avg_pool:input"). By default it is the feature
map that feeds the classifier head — the input of the last layer that turns a 4-D tensor
into a 2-D one (global pooling, flatten) — so residual networks whose last spatial tensor
is an `add` op (ConvNeXt, ResNet) get their real final feature map; without such a layer,
the last 4-D layer output. The gradient w.r.t. the feature map is taken as the gradient
w.r.t. a zero tensor added to it, which works on every backend.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import PairMethod
from tensorboard_picasso.methods.capture import FeaturePoint
from tensorboard_picasso.methods.context import ProbeSet, RoundContext


def resize_bilinear(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """(P, h, w) -> (P, height, width) by bilinear interpolation with half-pixel centres
    (the convention of tf.image.resize and torch's align_corners=False)."""
    def weights(size: int, out: int) -> np.ndarray:
        centres = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
        low = np.floor(centres).astype(int)
        high = np.minimum(low + 1, size - 1)
        frac = centres - low
        matrix = np.zeros((out, size), np.float64)
        np.add.at(matrix, (np.arange(out), low), 1 - frac)
        np.add.at(matrix, (np.arange(out), high), frac)
        return matrix
    rows, cols = weights(maps.shape[1], height), weights(maps.shape[2], width)
    return np.einsum("Hh,phw,Ww->pHW", rows, maps, cols, optimize=True).astype(np.float32)


def _grad_cam(model: Any, point: FeaturePoint) -> Any:
    ops = model.backend.ops
    spatial, channel = ((1, 2), -1) if model.layout == "channels_last" else ((2, 3), 1)

    def run(images: Any, classes: Any, delta: Any) -> tuple[Any, Any]:
        store: dict[str, Any] = {}

        def target(delta: Any) -> tuple[Any, Any]:
            with model.capture(point, delta, store):
                scores = model.scores(images)
            used = ops.resolve_predicted(classes, scores)
            return ops.pick(scores, used), (store["activation"], used)
        (gradient,), (activation, used) = model.backend.gradients(target, [delta], wrt=[0])
        alpha = ops.mean(gradient, spatial, keepdims=True)
        return ops.maximum(ops.sum(alpha * activation, channel), 0.0), used
    return run


class GradCAM(PairMethod):
    """Grad-CAM maps.

    Args:
      layer: the feature map: a layer name (its output), "backbone/layer" inside a nested
        model, a name ending in ":input" for a layer's input (e.g. "avg_pool:input"), or
        None for the map that feeds the classifier head (see the module docstring).
      batch_size: (image, class) pairs per forward+backward pass; default from the
        memory bound.
    """

    name = "gradcam"
    signed = False
    resolves_predicted = True

    def __init__(self, layer: str | None = None, batch_size: int | None = None) -> None:
        super().__init__(batch_size)
        if layer is not None and not isinstance(layer, str):
            raise ValueError(f"layer must be a layer name (str) or None, got {layer!r}")
        self.layer = layer
        self._points: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def params(self) -> dict:
        resolved = {str(p) for p in self._points.values()}
        layer = resolved.pop() if len(resolved) == 1 else self.layer
        return {"layer": layer}

    def validate(self, model: Any, probes: ProbeSet) -> None:
        self.feature_point(model, probes.images)

    def feature_point(self, model: Any, images: np.ndarray) -> FeaturePoint:
        """The checked feature map of `model` for images of this shape (cached per
        model); ValueError listing the candidates when `layer` does not fit."""
        if model in self._points:
            return self._points[model]
        profile = model.profile(images)
        candidates = profile.feature_points
        if self.layer is None:
            if not candidates:
                raise ValueError("Grad-CAM found no 4-D (batch, h, w, channels) feature map "
                                 "in this model; use another method")
            point = profile.head_input or candidates[-1]
        else:
            point = FeaturePoint.parse(self.layer)
            if point not in candidates:
                known = "exists but its tensor is not 4-D" if model.has_layer(point.path) \
                    else "was not found"
                raise ValueError(
                    f"Grad-CAM layer {self.layer!r} {known}; 4-D feature maps: "
                    f"{[str(c) for c in candidates[-12:]]} (name nested layers as "
                    "'outer/inner', a layer's input as 'name:input')")
        self._points[model] = point
        return point

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = context.images
        point = self.feature_point(model, images)
        shape = model.profile(images).shapes[str(point)]
        run = model.compiled(("gradcam", str(point)), lambda m: _grad_cam(m, point))
        heat, used = self.batcher(model, context, backward=True).run(
            run, len(classes), lambda item: (
                images[image_index[item]], classes[item].astype(np.int32),
                np.zeros((len(item),) + shape, np.float32)))
        return resize_bilinear(heat, *images.shape[1:3]), used.astype(np.int64)
