"""Class probabilities: top-k classes per image with names (see model.py for the rule)."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class TopK:
    """Top-k classes (N, k) and their probabilities (N, k), most probable first."""

    classes: np.ndarray
    probabilities: np.ndarray

    def names(self, class_names):
        """Class names for `classes`, or None without class names."""
        if class_names is None:
            return None
        return [[class_names[c] for c in row] for row in self.classes.tolist()]


def top_k(probabilities, k=5):
    """The k most probable classes of each row of `probabilities` (N, classes)."""
    k = min(int(k), probabilities.shape[1])
    classes = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return TopK(classes, np.take_along_axis(probabilities, classes, axis=1))


def class_probabilities(model, images, k=5, preprocess=None, output=None):
    """Top-k predictions of `model` for `images` (a TopK)."""
    from tensorboard_picasso.methods.model import as_explainable

    model = as_explainable(model, preprocess=preprocess, output=output)
    return top_k(model.predict_probabilities(model.prepare(images)), k)
