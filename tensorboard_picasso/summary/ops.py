"""Picasso summary ops in the tf.summary style: write under the default writer at `step`.

    writer = tf.summary.create_file_writer(os.path.join(log_dir, layout.RUN_NAME))
    with writer.as_default():
        probe_images(images, labels, class_names, step=-1)
        explanation(Occlusion().explain(model, images), step=0)

Each returns True on success, False when no default writer is set (as tf.summary does).
The records are built by `records.py`; this module only writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tensorboard_picasso.summary import records
from tensorboard_picasso.summary.pb import metadata_proto


def write_record(record: records.Record, step: int | None = None) -> bool:
    """Write one (tag, metadata content, blobs) record with `tf.summary.write` (its
    result: true when written, a bool tensor inside a `tf.function`)."""
    tag, content, blobs = record
    return tf.summary.write(tag, tf.constant(blobs, dtype=tf.string), step=step,
                            metadata=metadata_proto(content).SerializeToString())


def probe_images(images: np.ndarray, labels: Sequence[int] | np.ndarray | None = None,
                 class_names: Sequence[str] | None = None, step: int | None = None,
                 value_range: tuple[float, float] | None = None) -> bool:
    """The probe images (N, H, W, C); write them once per run (see
    `records.probes_record`)."""
    return write_record(records.probes_record(images, labels, class_names, value_range),
                        step)


def explanation(explanation: Any, step: int | None = None, seconds: float | None = None,
                epoch: int | None = None, batch: int | None = None,
                metrics: Mapping[str, Sequence[float] | np.ndarray] | None = None,
                constant_output: bool = False) -> bool:
    """An `Explanation` of any method, built-in or registered (its `method`, `maps`
    (N, T, H, W), `targets` (N, T), `params` and `signed`); the other arguments as for
    `records.map_record`."""
    return write_record(records.map_record(
        explanation.method, explanation.maps, explanation.targets, explanation.signed,
        explanation.params, seconds, epoch, batch, metrics, constant_output), step)


def _method_op(method: str, signed: bool) -> Callable[..., bool]:
    """The op writing `method`'s maps, signed or not."""
    def op(maps: np.ndarray | Sequence[np.ndarray],
           targets: np.ndarray | Sequence[Sequence[int]], step: int | None = None,
           **fields: Any) -> bool:
        return write_record(records.map_record(method, maps, targets, signed, **fields),
                            step)
    op.__name__ = method
    op.__doc__ = (f"{method} maps (N, T, H, W) for targets (N, T) at `step`; `fields` as "
                  "for `records.map_record` (params, seconds, epoch, batch, metrics, "
                  "constant_output).")
    return op


occlusion = _method_op("occlusion", signed=True)
saliency = _method_op("saliency", signed=False)
gradcam = _method_op("gradcam", signed=False)


def probabilities(classes: np.ndarray | Sequence[Sequence[int]],
                  probabilities: np.ndarray | Sequence[Sequence[float]],
                  step: int | None = None, epoch: int | None = None,
                  batch: int | None = None, constant_output: bool = False) -> bool:
    """Top-k classes (N, k) and their probabilities (N, k) at `step`."""
    return write_record(records.predictions_record(classes, probabilities, epoch, batch,
                                                   constant_output), step)
