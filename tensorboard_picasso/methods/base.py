"""The method protocol: one class per explanation method, one uniform call.

    explanation = Occlusion(window=8).explain(model, images, target="predicted")
    explanation.maps      # (N, T, H, W) float32: T maps per image, one per target class

A method maps (image, class) pairs. Built-in methods implement
`explain_pairs(model, context, image_index (P,), classes (P,)) -> (maps (P, H, W),
classes (P,))` on a `RoundContext` (methods/context.py), which holds the probe images and
values shared by all methods of a round (the clean forward pass, blurred copies, noise).
A class of -1 means "the predicted class" for methods that set `resolves_predicted`
(they find it in the same pass, so `explain(target="predicted")` costs no extra forward).

A user method only implements the simpler `compute(model, images, targets)`: images
(N, H, W, C) float32, targets (N, T) int -> maps (N, T, H, W); the base class turns pairs
into such rectangular calls.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import numpy as np

from tensorboard_picasso.methods.batching import Batcher
from tensorboard_picasso.methods.context import ProbeSet, RoundContext
from tensorboard_picasso.methods.memory import batch_size_for
from tensorboard_picasso.methods.adapters import as_explainable
from tensorboard_picasso.methods.checks import check_finite
from tensorboard_picasso.methods.targets import (TargetSpec, Targets, check_labels,
                                                 resolve_targets, validate_target)
from tensorboard_picasso.methods.value_range import probes_value_range


@dataclasses.dataclass
class Explanation:
    """The maps of one method for the probe images.

    Attributes:
      method: the method's registered name.
      maps: (N, T, H, W) float32 when every image has T maps; otherwise a list of N
        arrays (T_i, H, W) (a list target such as ("predicted", "label")).
      targets: the class of each map: (N, T) int64, or a list of N lists of T_i ints.
      params: the method's settings (JSON-able), as logged.
      signed: whether maps can be negative (drawn with a diverging colormap).
      images: the images explained (N, H, W, C) float32, for display; or None.
      value_range: their pixel value range (low, high); or None.

    In a notebook an Explanation shows itself as the maps over their images
    (methods/display.py); `to_image()` and `show()` do the same in scripts.
    """

    method: str
    maps: np.ndarray | list[np.ndarray]
    targets: np.ndarray | list[list[int]]
    params: dict
    signed: bool = False
    images: np.ndarray | None = dataclasses.field(default=None, repr=False)
    value_range: tuple[float, float] | None = None

    @classmethod
    def from_pairs(cls, method: "ExplanationMethod", targets: Targets, maps: np.ndarray,
                   probes: ProbeSet | None = None) -> "Explanation":
        """From maps (P, H, W) in `targets.pairs()` order (of the probe set `probes`)."""
        extra = {} if probes is None else {"images": probes.images,
                                           "value_range": probes.value_range}
        if targets.rectangular:
            shape = targets.array().shape + maps.shape[1:]
            return cls(method.name, maps.reshape(shape), targets.array(), method.params(),
                       method.signed, **extra)
        return cls(method.name, targets.split(maps), [list(r) for r in targets.rows],
                   method.params(), method.signed, **extra)

    def __repr__(self) -> str:
        shape = self.maps.shape if isinstance(self.maps, np.ndarray) else \
            f"{len(self.maps)} images, {sum(len(m) for m in self.maps)} maps"
        return f"Explanation(method={self.method!r}, maps={shape}, params={self.params})"

    def _repr_png_(self) -> bytes:
        from tensorboard_picasso.methods.display import explanation_png
        return explanation_png(self)

    def to_image(self, images: np.ndarray | None = None, **options: Any) -> Any:
        """A PIL image of the maps over `images` (default: the images explained);
        options `colormap_name` ("viridis", "inferno", "gray"), `opacity` (0..1),
        `cell` (pixels per map); see methods/display.py."""
        from tensorboard_picasso.methods.display import explanation_image
        return explanation_image(self, images, **options)

    def show(self, images: np.ndarray | None = None, **options: Any) -> None:
        """Shows `to_image(...)` with the platform's image viewer (PIL `Image.show`)."""
        self.to_image(images, **options).show()


class ExplanationMethod:
    """Base class. Subclasses set `name` and `signed`, implement `params` and either
    `compute` (user methods) or `explain_pairs` (built-ins)."""

    name: str | None = None
    signed = False              # True when maps can be negative (diverging colormap)
    resolves_predicted = False  # explain_pairs accepts class -1 = "the predicted class"

    def params(self) -> dict:
        """The method's settings as a JSON-able dict (logged with every map)."""
        return {}

    def validate(self, model: Any, probes: ProbeSet) -> None:
        """Check the settings against the model and the probe set (image shape, layers);
        raise ValueError naming the setting and the fix. Runs before training."""

    def compute(self, model: Any, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Maps (N, T, H, W) of images (N, H, W, C) float32 for target classes (N, T)."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute(model, "
                                  "images, targets)")

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maps (P, H, W) float32 for the pairs (image_index[p], classes[p]), and the
        classes. This default makes one rectangular `compute` call per number of classes
        per image, so no map is computed twice."""
        images = context.images
        maps = np.empty((len(classes),) + images.shape[1:3], np.float32)
        positions = [np.flatnonzero(image_index == i) for i in range(len(images))]
        counts = np.array([len(p) for p in positions])
        for count in sorted(set(counts.tolist()) - {0}):
            chosen = np.flatnonzero(counts == count)
            table = np.stack([classes[positions[i]] for i in chosen])
            out = np.asarray(self.compute(model, images[chosen], table), np.float32)
            expected = table.shape + images.shape[1:3]
            if out.shape != expected:
                raise ValueError(f"method {self.name!r} returned maps of shape {out.shape}, "
                                 f"expected (N, T, H, W) = {expected}")
            for row, image in enumerate(chosen):
                maps[positions[image]] = out[row]
        return maps, classes

    def run(self, model: Any, context: RoundContext, targets: Targets) -> np.ndarray:
        """Maps (P, H, W) for `targets` in pairs order, checked to be finite."""
        maps, _ = self.explain_pairs(model, context, *targets.pairs())
        check_finite(maps.reshape(len(maps), -1), f"maps of method {self.name!r}")
        return maps

    def explain(self, model: Any, images: object, target: TargetSpec = "predicted",
                labels: object = None, preprocess: Any = None, output: int | str | None = None,
                value_range: tuple[float, float] | None = None) -> Explanation:
        """Maps for `images` under `model` (a Keras model, or a torch.nn.Module with
        NHWC images); `target` as in targets.py; `value_range` of the pixels (default:
        inferred, see value_range.py)."""
        model = as_explainable(model, preprocess=preprocess, output=output)
        probes = ProbeSet.create(model, images, None, value_range)
        if labels is not None:
            probes.labels = check_labels(labels, len(probes.images), model.num_classes)
        validate_target(target, model.num_classes, has_labels=labels is not None)
        self.validate(model, probes)
        context = RoundContext(model, probes)
        if target == "predicted" and self.resolves_predicted:
            image_index = np.arange(len(probes.images))
            maps, classes = self.explain_pairs(model, context, image_index,
                                               np.full(len(image_index), -1))
            targets = Targets.from_array(classes[:, None])
        else:
            targets = resolve_targets(target, context.probabilities, probes.labels)
            maps, _ = self.explain_pairs(model, context, *targets.pairs())
        check_finite(maps.reshape(len(maps), -1), f"maps of method {self.name!r}")
        return Explanation.from_pairs(self, targets, maps, probes)


class PairMethod(ExplanationMethod):
    """A built-in method: implements `explain_pairs`; `compute` is derived from it.

    `batch_size`: copies per pass; None sizes batches from the round's memory bound
    (memory.py). The batcher (and a size shrunk by an out-of-memory error) is kept per
    model.
    """

    def __init__(self, batch_size: int | None = None) -> None:
        self.batch_size = None if batch_size is None else check_positive_int(
            batch_size, "batch_size")
        self._batchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def batcher(self, model: Any, context: RoundContext, backward: bool) -> Batcher:
        """The Batcher of this method for `model` (created on first use)."""
        batcher = self._batchers.get(model)
        if batcher is None:
            size = self.batch_size or batch_size_for(model, context.images, backward,
                                                     context.memory_bound)
            batcher = self._batchers[model] = Batcher(size, model.backend)
        progress = context.progress
        batcher.on_batch = None if progress is None else (
            lambda done, total: progress(self.name, done, total))
        return batcher

    def compute(self, model: Any, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        probes = ProbeSet(images, None, probes_value_range(images))
        image_index, classes = Targets.from_array(targets).pairs()
        maps, _ = self.explain_pairs(model, RoundContext(model, probes), image_index, classes)
        return maps.reshape(targets.shape + images.shape[1:3])

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


def check_positive_int(value: object, name: str) -> int:
    """`value` as int; ValueError naming `name` unless it is an int > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
