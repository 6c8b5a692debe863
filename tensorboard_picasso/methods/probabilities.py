"""Class probabilities: top-k classes per image with names (see model.py for the rule)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import check_positive_int


@dataclasses.dataclass
class TopK:
    """Top-k classes (N, k) int64 and their probabilities (N, k), most probable first."""

    classes: np.ndarray
    probabilities: np.ndarray

    def names(self, class_names: list[str] | None) -> list[list[str]] | None:
        """Class names for `classes`, or None without class names."""
        if class_names is None:
            return None
        return [[class_names[c] for c in row] for row in self.classes.tolist()]


def top_k(probabilities: np.ndarray, k: int = 5) -> TopK:
    """The k most probable classes of each row of `probabilities` (N, classes); k larger
    than the number of classes gives all of them."""
    k = min(check_positive_int(k, "k"), probabilities.shape[1])
    classes = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return TopK(classes, np.take_along_axis(probabilities, classes, axis=1))


def class_probabilities(model: Any, images: object, k: int = 5, preprocess: Any = None,
                        output: int | str | None = None) -> TopK:
    """Top-k predictions of `model` (Keras, or torch.nn.Module) for `images` (N, H, W, C)."""
    from tensorboard_picasso.methods.context import forward
    from tensorboard_picasso.methods.adapters import as_explainable

    check_positive_int(k, "k")
    model = as_explainable(model, preprocess=preprocess, output=output)
    return top_k(forward(model, model.prepare(images))[1], k)
