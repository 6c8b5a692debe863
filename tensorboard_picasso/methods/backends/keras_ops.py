"""`Ops` (see base.py) over `keras.ops`: the same code for Keras 3 on TensorFlow, JAX and
PyTorch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops


class KerasOps:
    """The methods' tensor operations through `keras.ops`."""

    @staticmethod
    def take(x: Any, index: Any) -> Any:
        return ops.take(x, index, axis=0)

    @staticmethod
    def pick(x: Any, index: Any) -> Any:
        return ops.take_along_axis(x, ops.expand_dims(index, 1), axis=1)[:, 0]

    softmax = staticmethod(lambda x: ops.softmax(x, axis=-1))
    sigmoid = staticmethod(ops.sigmoid)
    abs = staticmethod(ops.abs)
    maximum = staticmethod(ops.maximum)

    @staticmethod
    def concat(xs: Sequence[Any], axis: int) -> Any:
        return ops.concatenate(list(xs), axis=axis)

    @staticmethod
    def cast(x: Any) -> Any:
        return ops.cast(x, "float32")

    @staticmethod
    def sum(x: Any, axis: Any, keepdims: bool = False) -> Any:
        return ops.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x: Any, axis: Any, keepdims: bool = False) -> Any:
        return ops.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x: Any, axis: Any) -> Any:
        return ops.max(x, axis=axis)

    @staticmethod
    def resolve_predicted(classes: Any, scores: Any) -> Any:
        top = ops.cast(ops.argmax(scores, axis=-1), classes.dtype)
        return ops.where(classes < 0, top, classes)
