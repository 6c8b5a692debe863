"""The JAX backend: `jax.jit` and `jax.grad` (Keras 3 on JAX).

A jitted function would bake the weights in as constants at trace time, so the model's
variables are passed in as an argument and read through `keras.StatelessScope`: one trace
serves every checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from tensorboard_picasso.methods.backends.base import Backend, Tensor
from tensorboard_picasso.methods.backends.keras_ops import KerasOps


class JaxBackend(Backend):
    """Compiles with `jax.jit`, the model's variable values passed in at every call."""

    name = "jax"
    ops = KerasOps()

    def _compile(self, function: Callable[..., Any],
                 state: Callable[[], Sequence[Any]] | None) -> Callable[..., Any]:
        variables = list(state()) if state is not None else []

        @jax.jit
        def pure(values: list[Any], *args: Any) -> Any:
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return function(*args)
        return lambda *args: pure([v.value for v in variables], *args)

    def gradients(self, function: Callable[..., tuple[Tensor, Any]], args: Sequence[Tensor],
                  wrt: Sequence[int]) -> tuple[list[Tensor], Any]:
        def total(*chosen: Tensor) -> tuple[Tensor, Any]:
            full = list(args)
            for i, value in zip(wrt, chosen):
                full[i] = value
            values, aux = function(*full)
            return jnp.sum(values), aux
        grads, aux = jax.grad(total, argnums=tuple(range(len(wrt))), has_aux=True)(
            *[args[i] for i in wrt])
        return list(grads), aux

    def numpy(self, tensor: Tensor) -> np.ndarray:
        return np.asarray(tensor)

    def is_out_of_memory(self, error: BaseException) -> bool:
        return "RESOURCE_EXHAUSTED" in str(error) or super().is_out_of_memory(error)
