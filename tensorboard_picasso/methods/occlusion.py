"""Occlusion sensitivity (Zeiler & Fergus 2014; Picasso's partial occlusion).

A window of h x w pixels slides over the image with a stride; at each position p the
window is filled (constant, per-image mean, or a blurred copy of the image) giving x_p, and

    drop_p = s_c(x) - s_c(x_p)

is recorded for the target class c, where s_c is the probability p_c (default, see
model.py) or, with `score="logit"`, the target logit f_c (the gradient methods' score),
which stays informative where a confident model's probabilities saturate at 1.0 in
float32 and every probability drop is 0. Each pixel's value is the mean drop over the
windows that cover it:

    map(i, j) = sum_p drop_p * [ (i, j) in window p ] / #{p : (i, j) in window p}

Positive = the covered region is evidence for the class. Window positions run from 0 in
steps of `stride`; a last position flush with the far edge is added when the stride leaves
pixels uncovered, so every pixel has a value. The coarse per-window drops (the grid) come
from `Occlusion.drops`.

Occluded copies are built inside the compiled function (context.blended_forward: the
image, its fill and the window's mask), `batch_size` at a time, so memory stays at one
batch of copies whatever the probe set size. One forward pass of a copy gives the scores
of every class, so all the classes mapped for an image cost the same passes as one;
s_c(x) comes from the round's clean pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorboard_picasso.methods.base import PairMethod
from tensorboard_picasso.methods.context import RoundContext, blended_forward
from tensorboard_picasso.methods.value_range import check_value_range

FILL_NAMES = ("grey", "gray", "black", "white", "mean", "blur")
SCORES = ("probability", "logit")


def _pair(value: object, name: str) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (h, w), got {value!r}")
        return tuple(value)  # type: ignore[return-value]
    return (value, value)


def _window_pixels(window: object, side: int, name: str) -> int:
    """Window size in pixels along one side: int pixels, or a float fraction in (0, 1]."""
    if isinstance(window, bool) or not isinstance(window, (int, float, np.number)):
        raise ValueError(f"{name} must be pixels (int) or a fraction of the side (float), "
                         f"got {window!r}")
    if isinstance(window, (float, np.floating)):
        if not 0 < window <= 1:
            raise ValueError(f"{name}={window} as a fraction must lie in (0, 1]; give "
                             "pixels as an int")
        return max(1, int(round(window * side)))
    if window <= 0:
        raise ValueError(f"{name} must be positive, got {window}")
    if window > side:
        raise ValueError(f"{name}={window} pixels is larger than the image side ({side}); "
                         f"use at most {side} or a fraction such as 0.25")
    return int(window)


def window_starts(side: int, size: int, stride: int) -> np.ndarray:
    """Start offsets along one axis; the last window is flush with the far edge."""
    starts = list(range(0, side - size + 1, stride))
    if starts[-1] + size < side:
        starts.append(side - size)
    return np.array(starts)


def _indicators(side: int, size: int, starts: np.ndarray) -> np.ndarray:
    """(positions, side) 0/1 matrix: row k marks the pixels of window k along one axis."""
    pixels = np.arange(side)
    return ((pixels >= starts[:, None]) & (pixels < starts[:, None] + size)).astype(
        np.float32)


class Occlusion(PairMethod):
    """Occlusion sensitivity maps.

    Args:
      window: int pixels, (h, w) pixels, or a float fraction of the side (Picasso's seed
        setting: 0.5 with stride 0.5 of the side = 2 positions per axis). Default 0.25.
      stride: pixels (int or (h, w)) or a fraction like `window`; default the window
        itself (non-overlapping windows: 4 x 4 positions at the default window, a pass per
        position and image; half the window gives 7 x 7, a smoother map at 3x the cost).
      fill: a number, "grey"/"gray" (middle of the value range), "black" (its low end),
        "white" (its high end), "mean" (per-image, per-channel mean) or "blur" (a Gaussian
        blurred copy, sigma = window/4).
      value_range: (low, high) of the model's input values, for the named fills; default
        the probe set's (inferred from the model and the probes, see value_range.py).
      score: "probability" (the drop of p_c) or "logit" (the drop of the logit f_c).
      batch_size: occluded images per forward pass; default from the memory bound.
    """

    name = "occlusion"
    signed = True

    def __init__(self, window: object = 0.25, stride: object = None, fill: object = "grey",
                 value_range: tuple[float, float] | None = None, score: str = "probability",
                 batch_size: int | None = None) -> None:
        super().__init__(batch_size)
        self.window = window
        self.stride = stride
        if not (isinstance(fill, str) and fill in FILL_NAMES) and (
                isinstance(fill, bool) or not isinstance(fill, (int, float, np.number))):
            raise ValueError(f"fill must be a number or one of {FILL_NAMES}, got {fill!r}")
        self.fill = fill
        self.value_range = check_value_range(value_range)
        if score not in SCORES:
            raise ValueError(f'score must be "probability" or "logit", got {score!r}')
        self.score = score
        self._used_range: tuple[float, float] | None = None

    def params(self) -> dict:
        used = self.value_range or self._used_range
        return {"window": self.window, "stride": self.stride, "fill": self.fill,
                "value_range": None if used is None else list(used), "score": self.score}

    def geometry(self, height: int, width: int) -> tuple[list[int], list[np.ndarray]]:
        """Window (h, w), and start offsets along rows and columns, in pixels."""
        windows = [_window_pixels(v, side, "window")
                   for v, side in zip(_pair(self.window, "window"), (height, width))]
        if self.stride is None:
            strides = windows
        else:
            strides = [_window_pixels(v, side, "stride")
                       for v, side in zip(_pair(self.stride, "stride"), (height, width))]
        starts = [window_starts(side, w, s)
                  for side, w, s in zip((height, width), windows, strides)]
        return windows, starts

    def validate(self, model: Any, probes: Any) -> None:
        self.geometry(*probes.images.shape[1:3])
        self._used_range = self.value_range or probes.value_range

    def _fills(self, context: RoundContext) -> np.ndarray:
        """The fill of each probe image, (N, H, W, C) float32."""
        images = context.images
        low, high = self.value_range or context.probes.value_range
        named = {"grey": (low + high) / 2, "gray": (low + high) / 2, "black": low,
                 "white": high}
        if self.fill == "blur":
            (wh, ww), _ = self.geometry(*images.shape[1:3])
            return context.probes.blurred(max(wh, ww) / 4)
        if self.fill == "mean":
            value = images.mean(axis=(1, 2), keepdims=True)
        else:
            value = np.float32(named.get(self.fill, self.fill))
        return np.ascontiguousarray(np.broadcast_to(value, images.shape), np.float32)

    def drops(self, model: Any, context: RoundContext, image_index: np.ndarray,
              classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score drops per window for the (image, class) pairs: (P, rows, cols), and the
        window indicators along rows (rows, H) and columns (cols, W)."""
        images = context.images
        n, height, width, _ = images.shape
        (wh, ww), (row_starts, col_starts) = self.geometry(height, width)
        rows = _indicators(height, wh, row_starts)
        cols = _indicators(width, ww, col_starts)
        # window k covers rows[k // len(cols)] x cols[k % len(cols)]
        window_rows = np.repeat(rows, len(col_starts), axis=0)
        window_cols = np.tile(cols, (len(row_starts), 1))
        windows = len(window_rows)
        occluded_images = np.unique(image_index)   # each image's copies serve all its classes

        def items(copy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            window = copy % windows
            mask = window_rows[window][:, :, None] * window_cols[window][:, None, :]
            return occluded_images[copy // windows].astype(np.int32), mask
        scores, probabilities = blended_forward(
            model, self.batcher(model, context, backward=False), images,
            self._fills(context), len(occluded_images) * windows, items)
        copies = (scores if self.score == "logit" else probabilities).reshape(
            len(occluded_images), windows, -1)
        clean = context.scores if self.score == "logit" else context.probabilities
        slot = np.searchsorted(occluded_images, image_index)
        occluded = copies[slot, :, classes]                       # (P, windows)
        drop = clean[image_index, classes][:, None] - occluded
        return drop.reshape(len(classes), len(row_starts), len(col_starts)), rows, cols

    def explain_pairs(self, model: Any, context: RoundContext, image_index: np.ndarray,
                      classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grid, rows, cols = self.drops(model, context, image_index, classes)
        # map[p] = R^T grid[p] C, divided by how many windows cover each pixel
        total = np.einsum("prc,rh,cw->phw", grid, rows, cols, optimize=True)
        coverage = np.outer(rows.sum(axis=0), cols.sum(axis=0))
        return (total / coverage).astype(np.float32), classes
