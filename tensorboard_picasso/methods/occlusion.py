"""Occlusion sensitivity (Zeiler & Fergus 2014; Picasso's partial occlusion).

A window of h x w pixels slides over the image with a stride; at each position p the
window is filled (constant, per-image mean, or a blurred copy of the image) giving x_p, and

    drop_p = p_c(x) - p_c(x_p)

is recorded for the target class c (probabilities, see model.py); with `score="logit"` it
is the drop of the target logit f_c (the gradient methods' score), which stays informative
where a confident model's probabilities saturate at 1.0 in float32 and every drop is 0.
Each pixel's value is the mean drop over the windows that cover it:

    map(i, j) = sum_p drop_p * [ (i, j) in window p ] / #{p : (i, j) in window p}

Positive = the covered region is evidence for the class. Window positions run from 0 in
steps of `stride`; a last position flush with the far edge is added when the stride leaves
pixels uncovered, so every pixel has a value. The coarse per-window drops (the grid) come
from `Occlusion.drops`.

Occluded copies of all probe images are built on the fly (one XLA-fused op) from
(image index, window index) pairs and pushed through the model `batch_size` at a time, so
memory stays at one batch of occluded images whatever the probe set size.
"""

import numpy as np
import tensorflow as tf

from tensorboard_picasso.methods.base import ExplanationMethod, check_positive_int
from tensorboard_picasso.methods.model import compiled

FILL_NAMES = ("grey", "gray", "black", "white", "mean", "blur")


def _pair(value, name):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (h, w), got {value!r}")
        return tuple(value)
    return (value, value)


def _window_pixels(window, side, name):
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


def window_starts(side, size, stride):
    """Start offsets along one axis; the last window is flush with the far edge."""
    starts = list(range(0, side - size + 1, stride))
    if starts[-1] + size < side:
        starts.append(side - size)
    return np.array(starts)


def _indicators(side, size, starts):
    """(positions, side) 0/1 matrix: row k marks the pixels of window k along one axis."""
    pixels = np.arange(side)
    return ((pixels >= starts[:, None]) & (pixels < starts[:, None] + size)).astype(
        np.float32)


def gaussian_blur(images, sigma):
    """Separable Gaussian blur of (N, H, W, C) images, edges reflected."""
    radius = max(1, int(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    out = images
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        out = sum(w * np.take(padded, np.arange(k, k + images.shape[axis]), axis=axis)
                  for k, w in enumerate(kernel))
    return out.astype(np.float32)


@tf.function(jit_compile=True)
def _occlude(images, fills, rows, cols, image_index, window_index):
    """Occluded copies x + mask * (fill - x), fused into one pass by XLA."""
    x = tf.gather(images, image_index)
    mask = (tf.gather(rows, window_index)[:, :, None, None]
            * tf.gather(cols, window_index)[:, None, :, None])
    return x + mask * (tf.gather(fills, image_index) - x)


def _occluded_scores(model, score):
    """Target probabilities (or logits) of occluded copies for (image, window) pairs."""
    function = model.scores if score == "logit" else model.probabilities

    def run(images, fills, rows, cols, targets, image_index, window_index):
        occluded = _occlude(images, fills, rows, cols, image_index, window_index)
        return tf.gather(function(occluded), tf.gather(targets, image_index), batch_dims=1)
    return run


class Occlusion(ExplanationMethod):
    """Occlusion sensitivity maps.

    Args:
      window: int pixels, (h, w) pixels, or a float fraction of the side (Picasso's seed
        setting: 0.5 with stride 0.5 of the side = 2 positions per axis).
      stride: pixels (int or (h, w)) or a fraction like `window`; default half the window.
      fill: a number, "grey"/"gray" (middle of `value_range`), "black" (its low end),
        "white" (its high end), "mean" (per-image, per-channel mean) or "blur" (a Gaussian
        blurred copy, sigma = window/4).
      value_range: (low, high) of the model's input values, for the named fills.
      score: "probability" (the drop of p_c) or "logit" (the drop of the logit f_c).
      batch_size: occluded images per forward pass (the memory bound).
    """

    name = "occlusion"
    signed = True

    def __init__(self, window=0.25, stride=None, fill="grey", value_range=(0.0, 1.0),
                 score="probability", batch_size=256):
        self.window = window
        self.stride = stride
        if not (isinstance(fill, str) and fill in FILL_NAMES) and (
                isinstance(fill, bool) or not isinstance(fill, (int, float, np.number))):
            raise ValueError(f"fill must be a number or one of {FILL_NAMES}, got {fill!r}")
        self.fill = fill
        if len(value_range) != 2 or not value_range[0] < value_range[1]:
            raise ValueError(f"value_range must be (low, high) with low < high, got "
                             f"{value_range!r}")
        self.value_range = tuple(float(v) for v in value_range)
        if score not in ("probability", "logit"):
            raise ValueError(f'score must be "probability" or "logit", got {score!r}')
        self.score = score
        self.batch_size = check_positive_int(batch_size, "batch_size")

    def params(self):
        return {"window": self.window, "stride": self.stride, "fill": self.fill,
                "value_range": list(self.value_range), "score": self.score}

    def geometry(self, height, width):
        """Window (h, w), and start offsets along rows and columns, in pixels."""
        windows = [_window_pixels(v, side, "window")
                   for v, side in zip(_pair(self.window, "window"), (height, width))]
        if self.stride is None:
            strides = [max(1, w // 2) for w in windows]
        else:
            strides = [_window_pixels(v, side, "stride")
                       for v, side in zip(_pair(self.stride, "stride"), (height, width))]
        starts = [window_starts(side, w, s)
                  for side, w, s in zip((height, width), windows, strides)]
        return windows, starts

    def validate(self, images_shape):
        self.geometry(*images_shape[1:3])

    def _fills(self, images):
        """Per-image fills: (N, H, W, C) for "blur", else (N, 1, 1, C) to broadcast."""
        low, high = self.value_range
        named = {"grey": (low + high) / 2, "gray": (low + high) / 2, "black": low,
                 "white": high}
        if self.fill == "mean":
            return images.mean(axis=(1, 2), keepdims=True)
        if self.fill == "blur":
            (wh, ww), _ = self.geometry(*images.shape[1:3])
            return gaussian_blur(images, sigma=max(wh, ww) / 4)
        value = named.get(self.fill, self.fill)
        return np.full((len(images), 1, 1, images.shape[3]), value, dtype=np.float32)

    def drops(self, model, images, targets):
        """Probability drops per window: (N, T, rows, cols), and the window geometry."""
        n, height, width, _ = images.shape
        (wh, ww), (row_starts, col_starts) = self.geometry(height, width)
        rows = _indicators(height, wh, row_starts)
        cols = _indicators(width, ww, col_starts)
        # window k covers rows[k // len(cols)] x cols[k % len(cols)]
        window_rows = np.repeat(rows, len(col_starts), axis=0)
        window_cols = np.tile(cols, (len(row_starts), 1))
        windows = len(window_rows)
        run = compiled(model, ("occluded", self.score),
                       lambda m: _occluded_scores(m, self.score))
        fills = self._fills(images).astype(np.float32)
        constants = [tf.constant(a) for a in (images, fills, window_rows, window_cols,
                                              targets)]
        occluded = np.empty((n * windows, targets.shape[1]), dtype=np.float32)
        for start in range(0, n * windows, self.batch_size):
            item = np.arange(start, min(start + self.batch_size, n * windows))
            occluded[item] = run(*constants, tf.constant(item // windows),
                                 tf.constant(item % windows)).numpy()
        if self.score == "logit":
            scores = compiled(model, "scores", lambda m: m.scores)(
                tf.constant(images)).numpy()
        else:
            scores = model.predict_probabilities(images, self.batch_size)
        clean = np.take_along_axis(scores, targets, axis=1)
        drop = clean[:, None, :] - occluded.reshape(n, windows, -1)
        grid = drop.transpose(0, 2, 1).reshape(n, targets.shape[1], len(row_starts),
                                               len(col_starts))
        return grid, rows, cols

    def compute(self, model, images, targets):
        grid, rows, cols = self.drops(model, images, targets)
        # map[i,t] = R^T diag-sum(drop) C over windows (r, c), divided by coverage
        total = np.einsum("ntrc,rh,cw->nthw", grid, rows, cols, optimize=True)
        coverage = np.outer(rows.sum(axis=0), cols.sum(axis=0))
        return total / coverage
