"""Record builders: what the writers store, as (tag, metadata content, blobs).

A record is format-only (no proto, no TensorFlow): `pb.record_pb` turns it into a
`Summary` proto, `ops.write_record` writes it with `tf.summary.write`. The layout (tags,
blob positions, header fields) is described in `layout.py`, the encodings in `codec.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tensorboard_picasso.summary import codec, layout

Record = tuple[str, bytes, list[bytes]]
"""(tag, per-series metadata content, blobs) of one summary value."""


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _optional(value: Any, kind: type, name: str) -> Any:
    """`kind(value)`, or None for None; ValueError naming `name` otherwise."""
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {kind.__name__} or None, got "
                         f"{value!r}") from None


def probes_record(images: np.ndarray, labels: Sequence[int] | np.ndarray | None = None,
                  class_names: Sequence[str] | None = None,
                  value_range: tuple[float, float] | None = None) -> Record:
    """The probes record: written once per run.

    Args:
      images: probe images (N, H, W, C), any real dtype.
      labels: the true class index of each image (N,), or None.
      class_names: one name per class, or None.
      value_range: (low, high) image values shown as black..white in the PNGs; default
        the images' min..max.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be (N, H, W, C) with N >= 1, got shape "
                         f"{images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images; "
                         "pass one class index per image")
    if value_range is None:
        value_range = (float(images.min()), float(images.max()))
    elif len(value_range) != 2 or not float(value_range[0]) < float(value_range[1]):
        raise ValueError(f"value_range must be (low, high) with low < high, got "
                         f"{value_range!r}")
    header = {
        "version": layout.FORMAT_VERSION,
        "images": [{"hash": codec.image_hash(image),
                    "label": None if labels is None else int(labels[i]),
                    "height": int(image.shape[0]), "width": int(image.shape[1])}
                   for i, image in enumerate(images)],
        "class_names": None if class_names is None else [str(c) for c in class_names],
    }
    pngs = [codec.encode_png(image, value_range) for image in images]
    return (layout.PROBES_TAG, layout.metadata_content("probes"),
            layout.probes_blobs(_json(header), pngs))


def _per_image(maps: np.ndarray | Sequence[np.ndarray],
               targets: np.ndarray | Sequence[Sequence[int]]
               ) -> tuple[list[np.ndarray], list[list[int]]]:
    """maps and targets as per-image lists of (T_i, H, W) float32 and T_i ints, checked."""
    if isinstance(maps, (list, tuple)):
        per_image = [np.asarray(m, np.float32) for m in maps]
        target_rows = [np.asarray(t) for t in targets]
    else:
        array, rows = np.asarray(maps, np.float32), np.asarray(targets)
        if array.ndim != 4 or rows.shape != array.shape[:2]:
            raise ValueError(f"maps must be (N, T, H, W) and targets (N, T); got maps "
                             f"{array.shape} and targets {rows.shape}")
        per_image, target_rows = list(array), list(rows)
    if not per_image or len(target_rows) != len(per_image):
        raise ValueError(f"maps and targets need one entry per image (N >= 1); got "
                         f"{len(per_image)} maps and {len(target_rows)} target lists")
    size = per_image[0].shape[1:]
    for i, (image_maps, row) in enumerate(zip(per_image, target_rows)):
        if image_maps.ndim != 3 or image_maps.shape[1:] != size or len(image_maps) == 0:
            raise ValueError(f"maps[{i}] must be (T, H, W) with T >= 1 and (H, W) = "
                             f"{size} as for image 0, got {image_maps.shape}")
        if row.shape != (len(image_maps),) or row.dtype.kind not in "iu" or (row < 0).any():
            raise ValueError(f"targets[{i}] must hold {len(image_maps)} class indices "
                             f"(ints >= 0), one per map, got {row.tolist()!r}")
        if not np.isfinite(image_maps).all():
            raise ValueError(f"maps[{i}] holds NaN or infinite values")
    return per_image, [[int(c) for c in row] for row in target_rows]


def _per_map_floats(values: np.ndarray, counts: list[int]) -> list[list[list[float]]]:
    """Rows of `values` (sum(counts), k), one per map, grouped per image; each value
    the shortest decimal that reads back as the same float32 (the maps' precision), so
    headers and the `series` route stay short."""
    rows = [[float(str(v)) for v in row] for row in np.asarray(values, np.float32)]
    starts = np.cumsum([0, *counts])
    return [rows[start:end] for start, end in zip(starts[:-1], starts[1:])]


def _metric_values(name: str, values: Sequence[float] | np.ndarray, count: int
                   ) -> list[float | None]:
    values = np.asarray(values, np.float64).reshape(-1)
    if len(values) != count:
        raise ValueError(f"metrics[{name!r}] has {len(values)} values for {count} images; "
                         "pass one value per image")
    return [float(v) if np.isfinite(v) else None for v in values]


def map_record(method: str, maps: np.ndarray | Sequence[np.ndarray],
               targets: np.ndarray | Sequence[Sequence[int]], signed: bool,
               params: Mapping[str, Any] | None = None, seconds: float | None = None,
               epoch: int | None = None, batch: int | None = None,
               metrics: Mapping[str, Sequence[float] | np.ndarray] | None = None,
               constant_output: bool = False) -> Record:
    """One step of a method's maps.

    Args:
      method: the method's name (the series is `layout.map_tag(method)`).
      maps: (N, T, H, W) floats with `targets` (N, T) ints; or a list of N arrays
        (T_i, H, W) with `targets` a list of N lists of T_i ints (images may have
        different numbers of maps). Finite values, in the method's own units.
      targets: the class each map explains (see `maps`).
      signed: True when the method's maps can be negative (diverging colormap).
      params: the method's settings, JSON-able.
      seconds: wall seconds the method took for this round.
      epoch, batch: where in training the round was taken.
      metrics: {metric name: (N,) values of the first map of each image}; non-finite
        values are stored as null.
      constant_output: the model's output did not depend on its input this round.
    """
    if not isinstance(method, str) or not method:
        raise ValueError(f"method must be a non-empty string, got {method!r}")
    per_image, target_lists = _per_image(maps, targets)
    flat = np.concatenate(per_image)
    counts = [len(m) for m in per_image]
    block, ranges = codec.encode_maps(flat)
    header = {"version": layout.FORMAT_VERSION, "method": method,
              "params": dict(params or {}),
              "targets": target_lists, "ranges": _per_map_floats(ranges, counts),
              "abs_quantiles": _per_map_floats(codec.abs_quantiles(flat), counts),
              "height": int(flat.shape[1]), "width": int(flat.shape[2]),
              "seconds": _optional(seconds, float, "seconds"),
              "epoch": _optional(epoch, int, "epoch"),
              "batch": _optional(batch, int, "batch"),
              "metrics": {str(name): _metric_values(name, values, len(per_image))
                          for name, values in (metrics or {}).items()},
              "constant_output": bool(constant_output)}
    meta = layout.metadata_content("map", method=method, signed=bool(signed))
    return layout.map_tag(method), meta, layout.map_blobs(_json(header), block)


def predictions_record(classes: np.ndarray | Sequence[Sequence[int]],
                       probabilities: np.ndarray | Sequence[Sequence[float]],
                       epoch: int | None = None, batch: int | None = None,
                       constant_output: bool = False) -> Record:
    """One step of top-k predictions.

    Args:
      classes: (N, k) class indices per image, most probable first.
      probabilities: (N, k) their probabilities in [0, 1] (stored to 6 decimals).
      epoch, batch: where in training the round was taken.
      constant_output: every probe image got the same probabilities this round.
    """
    classes, probabilities = np.asarray(classes), np.asarray(probabilities, np.float64)
    if classes.ndim != 2 or classes.shape != probabilities.shape or classes.size == 0:
        raise ValueError(f"classes and probabilities must both be (N, k) with N, k >= 1; "
                         f"got {classes.shape} and {probabilities.shape}")
    if not np.isfinite(probabilities).all():
        raise ValueError("probabilities holds NaN or infinite values")
    body = {"version": layout.FORMAT_VERSION, "classes": classes.astype(int).tolist(),
            "probabilities": probabilities.round(6).tolist(),
            "epoch": _optional(epoch, int, "epoch"),
            "batch": _optional(batch, int, "batch"),
            "constant_output": bool(constant_output)}
    return (layout.PREDICTIONS_TAG, layout.metadata_content("predictions"),
            layout.predictions_blobs(_json(body)))
