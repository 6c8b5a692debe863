"""Which adapter explains a model: Keras 3 models (any backend) and torch.nn.Modules.

Decided from the model's class without importing a library the model does not come
from, so a PyTorch user needs no Keras or TensorFlow, and a JAX user no PyTorch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def _is_torch_module(model: Any) -> bool:
    """A plain torch.nn.Module; a Keras model on the PyTorch backend is one too, and is
    explained as a Keras model."""
    torch, keras = sys.modules.get("torch"), sys.modules.get("keras")
    if keras is not None and isinstance(model, keras.Model):
        return False
    return torch is not None and isinstance(model, torch.nn.Module)


def as_explainable(model: Any, preprocess: Callable[[Any], Any] | None = None,
                   output: int | str | None = None) -> Any:
    """`model` as an explainable model: an ExplainableModel per (Keras model, preprocess,
    output), kept on the Keras model so repeated `explain` calls reuse its compiled
    functions; a `torch.nn.Module` becomes a TorchExplainableModel."""
    if getattr(model, "is_explainable", False):
        if preprocess is not None or output is not None:
            raise ValueError("pass preprocess/output when creating the ExplainableModel, "
                             "not again with it")
        return model
    if _is_torch_module(model):
        from tensorboard_picasso.methods.torch_model import TorchExplainableModel
        return TorchExplainableModel(model, preprocess=preprocess, output=output)
    import keras

    from tensorboard_picasso.methods.model import ExplainableModel
    if not isinstance(model, keras.Model):
        return ExplainableModel(model, preprocess, output)  # raises a clear ValueError
    adapters = model.__dict__.setdefault("_picasso_explainable", {})
    key = (id(preprocess), output)
    if key not in adapters:
        adapters[key] = ExplainableModel(model, preprocess=preprocess, output=output)
    return adapters[key]


