"""The TensorFlow backend: `tf.function` and `tf.GradientTape` (Keras 3 on TensorFlow)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tensorboard_picasso.methods.backends.base import Backend, Tensor
from tensorboard_picasso.methods.backends.keras_ops import KerasOps


class TensorFlowBackend(Backend):
    """Compiles with `tf.function` (variables are read live, so no state is passed).

    The input signature is fixed at the first call with a free batch axis on every
    argument, so a function is traced once whatever the batch sizes.
    """

    name = "tensorflow"
    ops = KerasOps()

    def _compile(self, function: Callable[..., Any],
                 state: Callable[[], Sequence[Any]] | None) -> Callable[..., Any]:
        compiled: list[Any] = []

        def call(*arrays: Any) -> Any:
            tensors = [tf.convert_to_tensor(a) for a in arrays]
            if not compiled:
                signature = [tf.TensorSpec([None, *t.shape[1:]] if t.shape.rank else [],
                                           t.dtype) for t in tensors]
                compiled.append(tf.function(function, input_signature=signature,
                                            autograph=False))
            return compiled[0](*tensors)
        return call

    def gradients(self, function: Callable[..., tuple[Tensor, Any]], args: Sequence[Tensor],
                  wrt: Sequence[int]) -> tuple[list[Tensor], Any]:
        with tf.GradientTape() as tape:
            for i in wrt:
                tape.watch(args[i])
            values, aux = function(*args)
        return tape.gradient(values, [args[i] for i in wrt]), aux

    def numpy(self, tensor: Tensor) -> np.ndarray:
        return tensor.numpy() if hasattr(tensor, "numpy") else np.asarray(tensor)

    def is_out_of_memory(self, error: BaseException) -> bool:
        return isinstance(error, tf.errors.ResourceExhaustedError) or \
            super().is_out_of_memory(error)
