"""Explanation methods: pure computation on a Keras model and a batch of images, no I/O.

    from tensorboard_picasso.methods import Occlusion
    explanation = Occlusion(window=8, stride=4).explain(model, images, target="predicted")
    explanation.maps     # (N, T, H, W) float32, T target classes per image
"""

from tensorboard_picasso.methods.base import Explanation, ExplanationMethod, run_method
from tensorboard_picasso.methods.gradcam import GradCAM
from tensorboard_picasso.methods.model import ExplainableModel, as_explainable
from tensorboard_picasso.methods.occlusion import Occlusion
from tensorboard_picasso.methods.probabilities import TopK, class_probabilities, top_k
from tensorboard_picasso.methods.registry import (available_methods, get_method,
                                                  register_method)
from tensorboard_picasso.methods.saliency import IntegratedGradients, Saliency, SmoothGrad
from tensorboard_picasso.methods.targets import resolve_targets, validate_target

for _method in (Occlusion, Saliency, SmoothGrad, IntegratedGradients, GradCAM):
    register_method(_method.name, _method)

__all__ = [
    "Explanation", "ExplanationMethod", "ExplainableModel", "GradCAM",
    "IntegratedGradients", "Occlusion", "Saliency", "SmoothGrad", "TopK",
    "as_explainable", "available_methods", "class_probabilities", "get_method",
    "register_method", "resolve_targets", "run_method", "top_k", "validate_target",
]
