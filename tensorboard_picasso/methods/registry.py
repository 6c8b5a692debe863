"""Explanation methods by name, built-in and user-added.

A user method is a subclass of ExplanationMethod, or a plain function
`fn(model, images, targets) -> maps (N, T, H, W)` where `model` is an ExplainableModel
(`model.scores(x)` / `model.probabilities(x)` work on tensors). Register it once:

    register_method("edges", my_edges_fn, signed=False)
    PicassoCallback(log_dir, images, methods=["occlusion", "edges"])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import ExplanationMethod

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_REGISTRY = {}


class FunctionMethod(ExplanationMethod):
    """A registered plain function seen as a method."""

    def __init__(self, name: str, function: Callable[..., np.ndarray], signed: bool = False,
                 **params: Any) -> None:
        self.name = name
        self.function = function
        self.signed = signed
        self._params = params

    def params(self) -> dict:
        return dict(self._params)

    def compute(self, model: Any, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """`function(model, images (N, H, W, C), targets (N, T)) -> maps (N, T, H, W)`."""
        return self.function(model, images, targets, **self._params)


def register_method(name: str, method: type[ExplanationMethod] | Callable[..., np.ndarray],
                    signed: bool = False) -> None:
    """Make `method` (an ExplanationMethod subclass or a function) available by `name`;
    `signed`: whether a function's maps can be negative."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"method name must be lowercase letters, digits and '_' (max 48), "
                         f"starting with a letter; got {name!r}")
    if isinstance(method, type) and issubclass(method, ExplanationMethod):
        if method.name != name:
            raise ValueError(f"class {method.__name__} has name={method.name!r}; register it "
                             f"under that name or set name = {name!r} on the class")
        _REGISTRY[name] = method
    elif callable(method):
        _REGISTRY[name] = lambda **params: FunctionMethod(name, method, signed, **params)
    else:
        raise ValueError("method must be an ExplanationMethod subclass or a function "
                         "(model, images, targets) -> maps")


def unregister_method(name: str) -> None:
    """Remove a method registered under `name` (no error when there is none)."""
    _REGISTRY.pop(name, None)


def available_methods() -> list[str]:
    """Names of the registered methods."""
    return sorted(_REGISTRY)


def get_method(spec: str | ExplanationMethod) -> ExplanationMethod:
    """An ExplanationMethod from a name or an instance (returned as is)."""
    if isinstance(spec, ExplanationMethod):
        if not isinstance(spec.name, str) or not _NAME.match(spec.name):
            raise ValueError(f"method {type(spec).__name__} needs a name of lowercase "
                             f"letters, digits and '_', got {spec.name!r}")
        return spec
    if isinstance(spec, str) and spec in _REGISTRY:
        return _REGISTRY[spec]()
    raise ValueError(f"unknown method {spec!r}; choose one of {available_methods()} or "
                     "register yours with register_method(name, method)")
