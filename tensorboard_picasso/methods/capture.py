"""Seeing inside a Keras model while it runs: layer calls wrapped for one call.

A layer's `call` is temporarily replaced by a wrapper that can read (and perturb) what
goes in or comes out. This works inside compiled functions of every backend (the wrapper
runs while the function is traced), for layers of nested models (a keras.applications
backbone used as a layer), and needs no sub-model cut out of the graph, so nested
backbones never hit Keras' "graph disconnected" error.

A `FeaturePoint` names a tensor: the output of a layer ("conv2", "backbone/out_relu") or
its input ("avg_pool:input" — the feature map entering the global pooling layer, which
for a residual network is the output of an `add` op that no layer name reaches).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

INPUT_SUFFIX = ":input"


@dataclasses.dataclass(frozen=True)
class FeaturePoint:
    """A tensor inside the model: `layer`'s output, or its first input when `side` is
    "input". `path` is "name" or "outer/inner" for layers of nested models."""

    path: str
    side: str = "output"

    @classmethod
    def parse(cls, text: str) -> "FeaturePoint":
        if text.endswith(INPUT_SUFFIX):
            return cls(text[:-len(INPUT_SUFFIX)], "input")
        return cls(text)

    def __str__(self) -> str:
        return self.path + (INPUT_SUFFIX if self.side == "input" else "")


def sublayers(layer: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, layer) for every layer nested in `layer`, depth first."""
    for child in getattr(layer, "layers", None) or []:
        path = f"{prefix}{child.name}"
        yield path, child
        yield from sublayers(child, path + "/")


Hook = Callable[[str, Any], Any]


@contextlib.contextmanager
def wrapped_calls(layers: list[tuple[str, Any]], before: Hook | None = None,
                  after: Hook | None = None) -> Iterator[None]:
    """While active, each layer's call passes its first input through
    `before(path, x) -> x` and its output through `after(path, y) -> y`."""
    for path, layer in layers:
        original = layer.call

        def call(*args: Any, _original: Any = original, _path: str = path,
                 **kwargs: Any) -> Any:
            if before is not None and args:
                args = (before(_path, args[0]),) + args[1:]
            output = _original(*args, **kwargs)
            return after(_path, output) if after is not None else output
        layer.call = call
    try:
        yield
    finally:
        for _, layer in layers:
            del layer.call


@dataclasses.dataclass
class ModelProfile:
    """What one eager call of the model on one image shows.

    feature_points: 4-D feature maps in execution order: layer outputs, and the inputs
      of layers that pool a feature map to one value per channel (global pooling,
      flatten) — the last of those is the feature map that feeds the classifier head;
    head_input: that last pooling input, or None;
    shapes: {str(point): the feature map's shape without the batch axis};
    activation_bytes: bytes of all layer outputs for ONE image (a memory estimate).
    """

    feature_points: list[FeaturePoint]
    head_input: FeaturePoint | None
    shapes: dict[str, tuple[int, ...]]
    activation_bytes: int


def _rank(value: Any) -> int | None:
    shape = getattr(value, "shape", None)
    return None if shape is None or isinstance(value, (list, tuple, dict)) else len(shape)


class ProfileRecorder:
    """Builds a ModelProfile from the (layer path, input, output) of each layer call, in
    execution order. `spatial`: the axes of height and width in a 4-D feature map ((1, 2)
    channels-last, (2, 3) channels-first)."""

    def __init__(self, spatial: tuple[int, int]) -> None:
        self.spatial = spatial
        self.order: list[FeaturePoint] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.sizes: dict[str, int] = {}
        self.head_input: FeaturePoint | None = None

    def _pooled(self, x: Any, y: Any) -> bool:
        """Whether a layer took a feature map x to one value per channel y."""
        if _rank(x) != 4 or all(int(x.shape[a]) == 1 for a in self.spatial):
            return False
        return _rank(y) == 2 or (_rank(y) == 4 and all(int(y.shape[a]) == 1
                                                       for a in self.spatial))

    def observe(self, path: str, x: Any, y: Any) -> None:
        if _rank(y) is not None:
            self.sizes[path] = int(np.prod(y.shape)) * 4
        if self._pooled(x, y):
            self.head_input = self._record(FeaturePoint(path, "input"), x)
        elif _rank(y) == 4 and not all(int(y.shape[a]) == 1 for a in self.spatial):
            self._record(FeaturePoint(path), y)

    def _record(self, point: FeaturePoint, tensor: Any) -> FeaturePoint:
        if point in self.order:
            self.order.remove(point)   # a shared layer: its last call counts
        self.order.append(point)
        self.shapes[str(point)] = tuple(int(d) for d in tensor.shape[1:])
        return point

    def result(self) -> ModelProfile:
        return ModelProfile(self.order, self.head_input, self.shapes, sum(self.sizes.values()))


def profile(model: Any, run: Callable[[], Any]) -> ModelProfile:
    """Runs `run()` (one eager forward pass of the Keras `model` on one image) with every
    layer watched, and returns its ModelProfile."""
    import keras

    layers = [(p, layer) for p, layer in sublayers(model)
              if not isinstance(layer, keras.layers.InputLayer)]
    nested = {p for p, layer in layers if isinstance(layer, keras.Model)}
    recorder = ProfileRecorder(spatial=(1, 2))
    inputs: dict[str, Any] = {}

    def before(path: str, x: Any) -> Any:
        inputs[path] = x
        return x

    def after(path: str, y: Any) -> Any:
        x = inputs.pop(path, None)
        if path not in nested:
            recorder.observe(path, x, y)
        return y
    with wrapped_calls(layers, before, after):
        run()
    return recorder.result()
