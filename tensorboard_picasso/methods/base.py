"""The method protocol: one class per explanation method, one uniform call.

A method computes maps for a prepared batch: `compute(model, images, targets)` with
`model` an ExplainableModel, `images` float32 (N, H, W, C) and `targets` int (N, T),
returning float32 maps (N, T, H, W), one per target class. `explain()` is the convenience
entry point that validates inputs and resolves targets first.
"""

import dataclasses

import numpy as np

from tensorboard_picasso.methods.model import as_explainable, check_finite
from tensorboard_picasso.methods.targets import resolve_targets


@dataclasses.dataclass
class Explanation:
    """Maps (N, T, H, W) float32 for target classes `targets` (N, T) of one method."""

    method: str
    maps: np.ndarray
    targets: np.ndarray
    params: dict
    probabilities: np.ndarray = None


class ExplanationMethod:
    """Base class. Subclasses set `name`, `signed`, implement `compute` and `params`."""

    name = None
    signed = False  # True when maps can be negative (diverging colormap in the tab)

    def params(self):
        """The method's settings as a JSON-able dict (logged with every map)."""
        return {}

    def compute(self, model, images, targets):
        raise NotImplementedError

    def validate(self, images_shape):
        """Check the settings against the image shape (N, H, W, C); raise ValueError."""

    def explain(self, model, images, target="predicted", labels=None, preprocess=None,
                output=None):
        """Maps for `images` under `model`; see targets.py for `target`."""
        model = as_explainable(model, preprocess=preprocess, output=output)
        images = model.prepare(images)
        self.validate(images.shape)
        probabilities = model.predict_probabilities(images)
        targets = resolve_targets(target, probabilities, labels)
        maps = run_method(self, model, images, targets)
        return Explanation(self.name, maps, targets, self.params(), probabilities)


def run_method(method, model, images, targets):
    """`method.compute` with its result checked: shape (N, T, H, W), finite."""
    maps = np.asarray(method.compute(model, images, targets), dtype=np.float32)
    expected = targets.shape + images.shape[1:3]
    if maps.shape != expected:
        raise ValueError(f"method {method.name!r} returned maps of shape {maps.shape}, "
                         f"expected (N, T, H, W) = {expected}")
    check_finite(maps.reshape(len(maps), -1), f"maps of method {method.name!r}")
    return maps


def check_positive_int(value, name):
    """Raise ValueError unless `value` is an int > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def repeat_for_targets(images, targets):
    """Images repeated once per target: ((N*T, H, W, C), classes (N*T,))."""
    t = targets.shape[1]
    repeated = images if t == 1 else np.repeat(images, t, axis=0)
    return repeated, targets.reshape(-1)
