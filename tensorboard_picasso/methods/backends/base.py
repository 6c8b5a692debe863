"""What an array library must give the explanation methods: tensor ops, compilation and
gradients, behind one small interface (`Backend`).

The methods are written once against this interface; `backends/tensorflow.py`,
`backends/jax.py` and `backends/torch.py` implement it for TensorFlow (`tf.function`,
`GradientTape`), JAX (`jax.jit`, `jax.grad`) and PyTorch (eager, `torch.autograd`). Keras 3
models use the backend Keras runs on; plain `torch.nn.Module`s use the PyTorch one.

Inside a compiled function the methods only use `backend.ops` (an `Ops`), Python
arithmetic on tensors, and `backend.gradients`. Outside, they pass NumPy arrays in and get
NumPy arrays out of the compiled callables.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

Tensor = Any  # a tf.Tensor, jax.Array or torch.Tensor, by backend


class Ops(Protocol):
    """The tensor operations the methods use inside compiled functions (all batch-first).

    take(x, index): x[index] along axis 0.          pick(x, index): x[arange(M), index] for
    x (M, K), index (M,) -> (M,).                     softmax(x), sigmoid(x): along axis -1.
    concat(xs, axis), cast(x) (to float32), abs(x), maximum(x, y),
    sum(x, axis, keepdims=False), mean(x, axis, keepdims=False), max(x, axis),
    resolve_predicted(classes (M,), scores (M, K)): classes with -1 replaced by the row's
    argmax.
    """


class Backend:
    """One array library. Subclasses set `name` and `ops` and implement the four methods.

    `traces` counts, per compiled function name, how many times its Python body was traced
    (for TensorFlow and JAX, once per input shape; PyTorch runs eagerly and never traces);
    `first_call_seconds` and `later_call_seconds` (the fastest later call) per function
    give `setup_seconds`, the one-time cost of tracing and compiling, so the callback can
    tell set-up from the steady cost of a round.
    """

    name = "abstract"
    ops: Ops

    def __init__(self) -> None:
        self.traces: dict[str, int] = {}
        self.first_call_seconds: dict[str, float] = {}
        self.later_call_seconds: dict[str, float] = {}

    @property
    def setup_seconds(self) -> float:
        """Seconds spent so far on tracing and compiling: per function, its first call's
        time beyond its fastest later call (the whole first call when there is none)."""
        return sum(max(first - self.later_call_seconds.get(name, 0.0), 0.0)
                   for name, first in self.first_call_seconds.items())

    def compile(self, function: Callable[..., Any], name: str,
                state: Callable[[], Sequence[Any]] | None = None) -> Callable[..., Any]:
        """`function(*tensors) -> tensor | tuple of tensors` as a callable on NumPy arrays
        returning NumPy arrays, compiled where the library compiles. `state` lists the
        model's variables (JAX passes their values in, so a compiled function always sees
        the current weights)."""
        counted = self._counting(function, name)
        run = self._compile(counted, state)

        def call(*arrays: np.ndarray) -> Any:
            start = time.perf_counter()
            out = run(*arrays)
            result = tuple(self.numpy(o) for o in out) if isinstance(out, (tuple, list)) \
                else self.numpy(out)
            seconds = time.perf_counter() - start
            if name not in self.first_call_seconds:
                self.first_call_seconds[name] = seconds
            else:
                self.later_call_seconds[name] = min(
                    self.later_call_seconds.get(name, seconds), seconds)
            return result
        return call

    def _counting(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(function)   # TensorFlow tells functions apart by the wrapped code
        def counted(*args: Any) -> Any:
            self.traces[name] = self.traces.get(name, 0) + 1
            return function(*args)
        return counted

    def _compile(self, function: Callable[..., Any],
                 state: Callable[[], Sequence[Any]] | None) -> Callable[..., Any]:
        raise NotImplementedError

    def gradients(self, function: Callable[..., tuple[Tensor, Any]], args: Sequence[Tensor],
                  wrt: Sequence[int]) -> tuple[list[Tensor], Any]:
        """Inside a compiled function: `function(*args)` returns (values (M,), aux); the
        result is ([d sum(values) / d args[i] for i in wrt], aux)."""
        raise NotImplementedError

    def numpy(self, tensor: Tensor) -> np.ndarray:
        """A tensor (or array) as a NumPy array."""
        return np.asarray(tensor)

    def is_out_of_memory(self, error: BaseException) -> bool:
        """Whether `error` says the library ran out of memory (a smaller batch may fit)."""
        return isinstance(error, MemoryError) or "out of memory" in str(error).lower()
