"""The pixel value range a model expects: for occlusion fills, SmoothGrad's noise scale,
Integrated Gradients' black baseline and the probe PNGs.

The rule, first that applies:
1. an explicit `value_range=(low, high)`;
2. the model says it: its first layer is `Rescaling(scale, offset)` (the range that it maps
   onto [0, 1], or onto [-1, 1] when offset < 0 — keras.applications' convention), or
   `Normalization` with a mean above 2 (0..255 pixels), or its input dtype is an integer
   (0..255);
3. the probes say it: the first of [0, 1], [-1, 1], [0, 255] that holds them, else their
   own min..max.
When the model's range (2) and the probes disagree (probes reaching less than a tenth of
it, or lying outside it), a warning names both: the maps use the model's range.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

STANDARD_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))


def check_value_range(value_range: object, name: str = "value_range"
                      ) -> tuple[float, float] | None:
    """(low, high) as floats with low < high, or None; ValueError naming `name`."""
    if value_range is None:
        return None
    try:
        low, high = (float(v) for v in value_range)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got "
                         f"{value_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{name} must be (low, high) with low < high, got {value_range!r}")
    return low, high


def model_value_range(first_layer: object, input_dtype: str | None
                      ) -> tuple[float, float] | None:
    """The range implied by the model's first layer or integer input, or None."""
    import keras

    if isinstance(first_layer, keras.layers.Rescaling):
        scale = float(np.mean(np.asarray(first_layer.scale, np.float64)))
        offset = float(np.mean(np.asarray(first_layer.offset, np.float64)))
        if scale != 0:
            out_low = -1.0 if offset < 0 else 0.0
            ends = sorted(((out_low - offset) / scale, (1.0 - offset) / scale))
            return float(ends[0]), float(ends[1])
    if isinstance(first_layer, keras.layers.Normalization):
        mean = getattr(first_layer, "mean", None)
        if mean is not None and float(np.mean(np.asarray(mean))) > 2:
            return 0.0, 255.0
    if input_dtype is not None and np.issubdtype(np.dtype(input_dtype), np.integer):
        return 0.0, 255.0
    return None


def probes_value_range(images: np.ndarray) -> tuple[float, float]:
    """The smallest standard range holding the probes, else their min..max."""
    low, high = float(images.min()), float(images.max())
    for range_ in STANDARD_RANGES:
        if range_[0] <= low and high <= range_[1]:
            return range_
    return (low, high) if high > low else (low, low + 1.0)


def infer_value_range(images: np.ndarray, explicit: Sequence[float] | None,
                      from_model: tuple[float, float] | None) -> tuple[float, float]:
    """The value range by the module's rule; warns when model and probes disagree."""
    chosen = check_value_range(explicit)
    if chosen is not None:
        return chosen
    if from_model is None:
        return probes_value_range(images)
    low, high = from_model
    span = high - low
    lo, hi = float(images.min()), float(images.max())
    if lo < low - 0.05 * span or hi > high + 0.05 * span or (hi - lo) < 0.1 * span:
        warnings.warn(
            f"Picasso: the probe images lie in {lo:.4g}..{hi:.4g} but the model's first "
            f"layer expects {low:.4g}..{high:.4g}; occlusion fills, noise and baselines use "
            f"{low:.4g}..{high:.4g}. Pass value_range=(low, high) to choose.",
            RuntimeWarning, stacklevel=4)
    return from_model
