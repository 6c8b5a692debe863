"""The one batching loop: a compiled function over many items, within a memory bound.

Items (occluded copies, noisy copies, image/class pairs) are described by index arrays;
the loop cuts them into equal batches of at most `size` items, so a tracing backend sees
one shape. On JAX, which compiles one program per shape, a short last batch is padded
(by repeating its last item) to the next power of two, so a method compiles a handful of
programs per fit at most. An out-of-memory error halves the batch and retries; the
smaller size is kept for later calls.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tensorboard_picasso.methods.backends.base import Backend


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class Batcher:
    """Runs `function(*arguments(index))` over items 0..count-1, `size` at a time.

    Args:
      size: the most items per call (the memory bound).
      backend: the array library (decides padding, recognises out-of-memory errors).
    `on_batch(done, total)`, when set, is told after each batch (progress).
    """

    def __init__(self, size: int, backend: Backend) -> None:
        self.size = int(size)
        self.backend = backend
        self.on_batch: Callable[[int, int], None] | None = None  # (items done, total)

    def run(self, function: Callable[..., Any], count: int,
            arguments: Callable[[np.ndarray], tuple[Any, ...]],
            reduce: Callable[[np.ndarray, Any], None] | None = None) -> Any:
        """The outputs (an array, or a tuple of arrays; one row per item) of all batches,
        concatenated along axis 0. With `reduce`, nothing is kept: `reduce(index,
        outputs)` receives each batch's items and outputs instead (to sum them up)."""
        parts: list[Any] = []
        start = 0
        while start < count:
            batches = math.ceil((count - start) / self.size)
            step = math.ceil((count - start) / batches)
            index = np.arange(start, min(start + step, count))
            try:
                out = self._call(function, index, arguments)
            except Exception as error:  # noqa: BLE001 - only out-of-memory is retried
                if not self.backend.is_out_of_memory(error) or self.size == 1:
                    raise
                self.size = max(1, len(index) // 2)
                warnings.warn(f"Picasso: out of memory with {len(index)} items per batch; "
                              f"retrying with {self.size}", RuntimeWarning, stacklevel=3)
                continue
            if reduce is None:
                parts.append(out)
            else:
                reduce(index, out)
            start += len(index)
            if self.on_batch is not None:
                self.on_batch(start, count)
        if reduce is not None:
            return None
        if isinstance(parts[0], tuple):
            return tuple(np.concatenate(column)[:count] for column in zip(*parts))
        return np.concatenate(parts)[:count]

    def _call(self, function: Callable[..., Any], index: np.ndarray,
              arguments: Callable[[np.ndarray], tuple[Any, ...]]) -> Any:
        n = len(index)
        if self.backend.name == "jax":
            padded = min(self.size, _next_power_of_two(n))
            if padded > n:
                index = np.concatenate([index, np.full(padded - n, index[-1])])
        out = function(*arguments(index))
        if isinstance(out, tuple):
            return tuple(o[:n] for o in out)
        return out[:n]
