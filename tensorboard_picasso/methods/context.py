"""What the methods share: the probe set (computed once) and one round (computed once per
round under the current weights).

`ProbeSet`: the images (N, H, W, C) float32, their labels, the pixel value range the model
expects (see value_range.py), and caches of what never changes for a fixed probe set:
blurred copies (per sigma) and SmoothGrad's noise bank (per seed and sample count).

`RoundContext`: a probe set under the model's current weights: one clean forward pass
(`scores` and `probabilities`, (N, classes) each), run at most once and shared by target
resolution, occlusion, the quality metrics and the logged predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tensorboard_picasso.methods.batching import Batcher
from tensorboard_picasso.methods.memory import DEFAULT_MEMORY_BOUND, batch_size_for
from tensorboard_picasso.methods.checks import check_finite
from tensorboard_picasso.methods.value_range import infer_value_range


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (N, H, W, C) images (kernel radius 3 sigma, edges
    reflected), float32."""
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


class ProbeSet:
    """Fixed probe images and the values derived from them once.

    Args:
      images: (N, H, W, C) float32, already checked against the model (`model.prepare`).
      labels: (N,) int64 true classes, or None.
      value_range: (low, high) of pixel values the model expects.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None,
                 value_range: tuple[float, float]) -> None:
        self.images = images
        self.labels = labels
        self.value_range = value_range
        self._blurred: dict[float, np.ndarray] = {}
        self._noise: dict[tuple[int, int], np.ndarray] = {}

    @classmethod
    def create(cls, model: Any, images: object, labels: np.ndarray | None = None,
               value_range: object = None) -> "ProbeSet":
        """Images checked by `model.prepare`, the value range inferred (value_range.py)."""
        prepared = model.prepare(images)
        return cls(prepared, labels, infer_value_range(prepared, value_range,
                                                       model.expected_value_range()))

    def blurred(self, sigma: float) -> np.ndarray:
        """The images blurred with a Gaussian of `sigma` pixels (N, H, W, C), cached."""
        if sigma not in self._blurred:
            self._blurred[sigma] = gaussian_blur(self.images, sigma)
        return self._blurred[sigma]

    def noise(self, seed: int, samples: int) -> np.ndarray:
        """A bank of `samples` standard normal images (S, H, W, C) float32 from `seed`:
        sample s of every image uses bank[s], so an image's map does not depend on which
        other images are probed, and every checkpoint sees the same noise."""
        key = (seed, samples)
        if key not in self._noise:
            rng = np.random.default_rng(seed)
            self._noise[key] = rng.standard_normal((samples,) + self.images.shape[1:],
                                                   dtype=np.float32)
        return self._noise[key]


class RoundContext:
    """A probe set under the model's current weights; the clean pass runs at most once.

    `memory_bound`: bytes above the model that a method's batch may use (memory.py).
    `progress(method, done, total)`: told after each batch of a method's copies.
    `memo`: other per-round values shared by several users (e.g. the faithfulness
    curves' fill-image probabilities), by key.
    """

    def __init__(self, model: Any, probes: ProbeSet,
                 memory_bound: int = DEFAULT_MEMORY_BOUND,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.model = model
        self.probes = probes
        self.memory_bound = memory_bound
        self.progress = progress
        self._clean: tuple[np.ndarray, np.ndarray] | None = None
        self.memo: dict[object, Any] = {}

    @property
    def images(self) -> np.ndarray:
        return self.probes.images

    def _forward(self) -> tuple[np.ndarray, np.ndarray]:
        if self._clean is None:
            size = batch_size_for(self.model, self.images, False, self.memory_bound)
            self._clean = forward(self.model, self.images, size)
        return self._clean

    @property
    def scores(self) -> np.ndarray:
        """Target scores (logits, see model.py) of the probe images, (N, classes)."""
        return self._forward()[0]

    @property
    def probabilities(self) -> np.ndarray:
        """Class probabilities of the probe images, (N, classes); NaN raises ValueError."""
        return self._forward()[1]


def _blend(model: Any) -> Callable[..., Any]:
    """Compiled body: scores and probabilities of copies first + mask (second - first)."""
    ops = model.backend.ops

    def run(first: Any, second: Any, image: Any, mask: Any) -> tuple[Any, Any]:
        x = ops.take(first, image)
        return model.scores_and_probabilities(
            x + mask[..., None] * (ops.take(second, image) - x))
    return run


def blended_forward(model: Any, batcher: Batcher, first: np.ndarray, second: np.ndarray,
                    count: int, items: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, probabilities), (count, classes) each, of `count` blended copies: copy i
    is  first[j] + m * (second[j] - first[j])  with (j (b,) int32, m (b, H, W) float32 in
    [0, 1]) = items(copy indices of a batch). One compiled function serves the clean
    pass (m = 0), occlusion (m = the window), the deletion and insertion curves and the
    fill images (m = 1), so a model is traced once for all of them. `first` and `second`
    are (N, H, W, C) float32."""
    run = model.compiled("blended_forward", _blend)
    return batcher.run(run, count, lambda index: (first, second) + items(index))


def whole_images(images: np.ndarray, value: float
                 ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`items` for blended_forward when copy i is image i with one mask value everywhere:
    0 gives the first images, 1 the second ones."""
    mask = np.full((1,) + images.shape[1:3], value, np.float32)
    return lambda index: (index.astype(np.int32),
                          np.broadcast_to(mask, (len(index),) + mask.shape[1:]))


def forward(model: Any, images: np.ndarray, batch_size: int = 64
            ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, probabilities), (N, classes) each, of prepared images; raises ValueError
    naming the images when the model returns NaN or inf."""
    scores, probabilities = blended_forward(
        model, Batcher(batch_size, model.backend), images, images, len(images),
        whole_images(images, 0.0))
    check_finite(probabilities, "model output")
    check_finite(scores, "model output")
    return scores, probabilities
