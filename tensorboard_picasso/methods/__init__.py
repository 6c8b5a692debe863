"""Explanation methods: pure computation on a model and a batch of images, no I/O.

    from tensorboard_picasso.methods import Occlusion
    explanation = Occlusion(window=8, stride=4).explain(model, images, target="predicted")
    explanation.maps     # (N, T, H, W) float32, T target classes per image

Models are Keras 3 models on any Keras backend (TensorFlow, JAX, PyTorch), or
torch.nn.Modules (see methods/torch_model.py).
"""

from tensorboard_picasso.methods.base import Explanation, ExplanationMethod, PairMethod
from tensorboard_picasso.methods.context import ProbeSet, RoundContext
from tensorboard_picasso.methods.gradcam import GradCAM
from tensorboard_picasso.methods.adapters import as_explainable
from tensorboard_picasso.methods.occlusion import Occlusion
from tensorboard_picasso.methods.probabilities import TopK, class_probabilities, top_k
from tensorboard_picasso.methods.registry import (available_methods, get_method,
                                                  register_method, unregister_method)
from tensorboard_picasso.methods.saliency import IntegratedGradients, Saliency, SmoothGrad
from tensorboard_picasso.methods.targets import (Targets, check_labels, resolve_targets,
                                                 validate_target)

for _method in (Occlusion, Saliency, SmoothGrad, IntegratedGradients, GradCAM):
    register_method(_method.name, _method)


def __getattr__(name: str) -> object:
    if name == "ExplainableModel":   # the Keras adapter imports Keras: only on demand
        from tensorboard_picasso.methods.model import ExplainableModel
        return ExplainableModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Explanation", "ExplanationMethod", "GradCAM",
    "IntegratedGradients", "Occlusion", "PairMethod", "ProbeSet", "RoundContext",
    "Saliency", "SmoothGrad", "Targets", "TopK", "as_explainable", "available_methods",
    "check_labels", "class_probabilities", "get_method", "register_method",
    "resolve_targets", "top_k", "unregister_method", "validate_target",
]
