"""Batch sizes from a memory bound.

A method's batch costs about `copies x bytes per copy` above the model. The bytes per
copy come from the model's profile (methods/capture.py): the sum of all layer outputs for
one image (A), times a factor for what the backend keeps alive at once, measured with
benchmarks/memory.py on TensorFlow: ConvNeXtTiny at 128x128 (A = 36.7 MiB) peaks at
0.8-1.2 A per copy in a forward pass (occlusion, the metrics) and 2.3 A (saliency) to
3.3 A (SmoothGrad) in a forward+backward pass; the factors below cover those with a
margin. Networks whose normalisation and activations are fused in inference
(MobileNetV2) stay far below the estimate, which then errs on the safe side.

    batch = clip(bound // (factor * A), 1, MAX_BATCH)

MAX_BATCH: larger batches bring no speed on a CPU and cost memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_MEMORY_BOUND = 1 << 30   # bytes above the model that a round may use
FORWARD_FACTOR = 1.25
BACKWARD_FACTOR = 3.5
MAX_BATCH = 256


def parse_memory_bound(value: object, name: str = "memory_limit") -> int:
    """Bytes from an int, or a string such as "512MB", "1GB", "2GiB"; ValueError
    naming `name` otherwise."""
    units = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20,
             "gib": 1 << 30}
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(number):] or "b"
        try:
            value = float(number) * units[unit]
        except (ValueError, KeyError):
            raise ValueError(f"{name} must be bytes (int) or a size such as '1GB' or "
                             f"'512MiB', got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not value >= 1 << 20:
        raise ValueError(f"{name} must be at least 1 MiB (bytes, or a string such as "
                         f"'1GB'), got {value!r}")
    return int(value)


def batch_size_for(model: Any, images: np.ndarray, backward: bool, bound: int) -> int:
    """Copies per batch so that a method's batch stays within `bound` bytes."""
    per_copy = model.profile(images).activation_bytes * (
        BACKWARD_FACTOR if backward else FORWARD_FACTOR)
    return int(np.clip(bound // max(per_copy, 1), 1, MAX_BATCH))
