"""TF-free builders of Picasso `Summary` protos.

For writers other than tf.summary: TensorBoard's own `EventFileWriter`, or
`torch.utils.tensorboard.SummaryWriter` (via `writer.file_writer.add_summary(summary,
step)`). `round_summary` holds every value of one logging round, so a writer can put a
whole round into one `Event`: TensorBoard then sees the round whole or not at all (a
truncated last record fails its checksum and is not read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata

from tensorboard_picasso.summary import layout, records


def metadata_proto(content: bytes) -> summary_pb2.SummaryMetadata:
    """SummaryMetadata of a Picasso series (per-series `content` from `layout`)."""
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=layout.PLUGIN_NAME, content=content),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)


def record_value(record: records.Record) -> summary_pb2.Summary.Value:
    """One (tag, metadata content, blobs) record as a blob-sequence Summary value."""
    tag, content, blobs = record
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=blobs,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(blobs))]))
    return summary_pb2.Summary.Value(tag=tag, metadata=metadata_proto(content),
                                     tensor=tensor)


def record_pb(record: records.Record) -> summary_pb2.Summary:
    """A Summary proto holding one (tag, metadata content, blobs) record."""
    return summary_pb2.Summary(value=[record_value(record)])


def scalar_value(tag: str, value: float) -> summary_pb2.Summary.Value:
    """A float32 scalar as TensorBoard's scalar plugin stores it (`tf.summary.scalar`'s
    form), shown in the Scalars dashboard by both of TensorBoard's loaders."""
    metadata = scalar_metadata.create_summary_metadata(display_name=None, description=None)
    metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT,
                                    float_val=[float(np.float32(value))],
                                    tensor_shape=tensor_shape_pb2.TensorShapeProto())
    return summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)


def round_summary(round_records: Iterable[records.Record],
                  scalars: Mapping[str, float]) -> summary_pb2.Summary:
    """Every value of one logging round in one Summary: the records (probes when first
    written, predictions, one map record per method) and the scalars {tag: value} (tags
    from `layout`, e.g. `layout.metric_tag(method, metric)`)."""
    return summary_pb2.Summary(
        value=[record_value(r) for r in round_records]
        + [scalar_value(tag, value) for tag, value in scalars.items()])


def probes_pb(images: np.ndarray, labels: Sequence[int] | np.ndarray | None = None,
              class_names: Sequence[str] | None = None,
              value_range: tuple[float, float] | None = None) -> summary_pb2.Summary:
    """The probe images (N, H, W, C), written once per run; see `records.probes_record`."""
    return record_pb(records.probes_record(images, labels, class_names, value_range))


def explanation_pb(method: str, maps: np.ndarray | Sequence[np.ndarray],
                   targets: np.ndarray | Sequence[Sequence[int]], signed: bool = False,
                   params: Mapping[str, Any] | None = None, seconds: float | None = None,
                   epoch: int | None = None, batch: int | None = None,
                   metrics: Mapping[str, Sequence[float] | np.ndarray] | None = None,
                   constant_output: bool = False) -> summary_pb2.Summary:
    """Maps of any method, built-in or registered: (N, T, H, W) for targets (N, T), or
    per image (T_i, H, W) for lists of T_i classes; quality `metrics` {name: (N,)}; see
    `records.map_record` for every argument."""
    return record_pb(records.map_record(method, maps, targets, signed, params, seconds,
                                        epoch, batch, metrics, constant_output))


def occlusion_pb(maps: np.ndarray | Sequence[np.ndarray],
                 targets: np.ndarray | Sequence[Sequence[int]], **fields: Any
                 ) -> summary_pb2.Summary:
    """Occlusion maps (signed: positive = evidence for the class); `fields` as for
    `explanation_pb` (params, seconds, epoch, batch, metrics, constant_output)."""
    return explanation_pb("occlusion", maps, targets, True, **fields)


def saliency_pb(maps: np.ndarray | Sequence[np.ndarray],
                targets: np.ndarray | Sequence[Sequence[int]], signed: bool = False,
                **fields: Any) -> summary_pb2.Summary:
    """Saliency maps (signed only with the "signed" channel reduction); `fields` as for
    `explanation_pb`."""
    return explanation_pb("saliency", maps, targets, signed, **fields)


def gradcam_pb(maps: np.ndarray | Sequence[np.ndarray],
               targets: np.ndarray | Sequence[Sequence[int]], **fields: Any
               ) -> summary_pb2.Summary:
    """Grad-CAM maps (non-negative); `fields` as for `explanation_pb`."""
    return explanation_pb("gradcam", maps, targets, False, **fields)


def probabilities_pb(classes: np.ndarray | Sequence[Sequence[int]],
                     probabilities: np.ndarray | Sequence[Sequence[float]],
                     epoch: int | None = None, batch: int | None = None,
                     constant_output: bool = False) -> summary_pb2.Summary:
    """Top-k classes (N, k) and their probabilities (N, k), most probable first."""
    return record_pb(records.predictions_record(classes, probabilities, epoch, batch,
                                                constant_output))
