"""Where Picasso data lives in TensorBoard: names, tags, versions, blob positions.

The one owner of the storage layout; every other module (writer, reader, plugin loader)
asks here instead of typing a tag or indexing a blob. Imports only the standard library,
so TensorBoard's plugin loader can import it without NumPy or TensorFlow.

Every Picasso summary has plugin name `PLUGIN_NAME` and data class BLOB_SEQUENCE, and is
written to the run `RUN_NAME` (`<log_dir>/picasso`, beside Keras' train/validation). Its
per-series metadata (`plugin_data.content`, JSON) is fixed per series and versioned;
everything that changes per step lives in the blobs. Three kinds of series, by tag:

* `PROBES_TAG` ("probes"), written once per run. Blobs: [header JSON, PNG of image 0,
  ..., PNG of image N-1]. Header: {"version", "images": [{"hash", "label", "height",
  "width"}], "class_names"}. `hash` is the first 16 hex digits of the SHA-256 of the
  image's float32 little-endian values, so one image can be lined up across runs.
* `map_tag(method)` ("map/<method>"), one series per method. Blobs: [header JSON, map
  block]; one block holds every map of the step, so a reader fetches a checkpoint's
  maps in one read. Header (version 2): {"version", "method", "params", "targets":
  per image a list of >= 1 class indices (images may differ in count), "ranges": per
  image per map [lo, hi], "abs_quantiles": per image per map |v| at
  `QUANTILE_LEVELS` percent, "height", "width", "seconds", "epoch", "batch",
  "metrics": {name: one value or null per image}, "constant_output": bool}.
  The block: the maps concatenated in image order, each image's maps in `targets`
  order, each quantised to 16 bits with its range, delta-coded, byte-split and zlib'd
  (see `codec.py`). Version 1 headers have rectangular targets and ranges and no
  `abs_quantiles` / `constant_output`; readers derive them (see `headers.py`).
* `PREDICTIONS_TAG` ("predictions"). Blobs: [body JSON {"version", "classes": N x k,
  "probabilities": N x k, "epoch", "batch", "constant_output"}], most probable first.

Scalars (TensorBoard's own scalar plugin, shown in the Scalars dashboard beside the loss):
`SECONDS_PER_ROUND_TAG`, `QUALITY_SECONDS_PER_ROUND_TAG` and `metric_tag(method, metric)`.

Steps: `BEFORE_TRAINING_STEP` (-1) holds the untrained model; other steps are Keras' epoch
index (or its global batch index when logging every N batches).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

PLUGIN_NAME = "picasso"
RUN_NAME = "picasso"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
BEFORE_TRAINING_STEP = -1

PROBES_TAG = "probes"
PREDICTIONS_TAG = "predictions"
_MAP_TAG_PREFIX = "map/"
_SCALAR_PREFIX = "picasso/"
SECONDS_PER_ROUND_TAG = _SCALAR_PREFIX + "seconds_per_round"
QUALITY_SECONDS_PER_ROUND_TAG = _SCALAR_PREFIX + "quality_seconds_per_round"

# Levels (percent) of the |v| quantiles stored per map: the tab clips its colour scale
# at one of them.
QUANTILE_LEVELS = (90, 95, 98, 99, 99.5, 99.9, 100)

T = TypeVar("T")


class FormatError(ValueError):
    """Data that does not follow this format (or a newer version of it)."""


# -- tags ---------------------------------------------------------------------------------

def map_tag(method: str) -> str:
    """The tag of `method`'s map series ("map/<method>")."""
    return _MAP_TAG_PREFIX + method


def method_of_tag(tag: str) -> str | None:
    """The method whose map series `tag` is, or None for another tag."""
    return tag[len(_MAP_TAG_PREFIX):] if tag.startswith(_MAP_TAG_PREFIX) else None


def metric_tag(method: str, metric: str) -> str:
    """The scalar tag of a quality metric's mean over the probe set
    ("picasso/<method>/<metric>")."""
    return f"{_SCALAR_PREFIX}{method}/{metric}"


# -- per-series metadata -------------------------------------------------------------------

def metadata_content(kind: str, **fields: Any) -> bytes:
    """The fixed, versioned per-series metadata (UTF-8 JSON) of a series of `kind`
    ("probes", "map" with fields `method` and `signed`, or "predictions")."""
    return json.dumps({"version": FORMAT_VERSION, "kind": kind, **fields},
                      sort_keys=True).encode()


def kind_of_tag(tag: str) -> str | None:
    """The kind of series `tag` names: "probes", "predictions", "map", or None."""
    if tag in (PROBES_TAG, PREDICTIONS_TAG):
        return tag
    return "map" if method_of_tag(tag) is not None else None


def parse_metadata(content: bytes, tag: str | None = None) -> dict:
    """The per-series metadata dict from its bytes; FormatError when unreadable, of an
    unknown version, of another kind than series `tag` holds, or a map series without a
    string `method` and a bool `signed`."""
    try:
        meta = json.loads(bytes(content).decode())
    except (UnicodeDecodeError, ValueError, TypeError) as err:
        raise FormatError(f"unreadable Picasso metadata: {err}") from None
    if not isinstance(meta, dict):
        raise FormatError("Picasso metadata is not a JSON object")
    check_version(meta.get("version"), "metadata")
    kind = None if tag is None else kind_of_tag(tag)
    if kind is not None and meta.get("kind") != kind:
        raise FormatError(f"Picasso series {tag!r} has metadata of kind "
                          f"{meta.get('kind')!r}, not {kind!r}")
    if meta.get("kind") == "map" and not (isinstance(meta.get("method"), str)
                                          and isinstance(meta.get("signed"), bool)):
        raise FormatError("Picasso map metadata needs a string 'method' and a bool "
                          "'signed'")
    return meta


def check_version(version: Any, what: str) -> int:
    """`version` when this reader knows it; FormatError naming `what` otherwise."""
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise FormatError(f"Picasso {what} of version {version!r} is not supported (this "
                          f"reader knows {list(READABLE_VERSIONS)}); upgrade "
                          "tensorboard-picasso")
    return version


# -- blob positions: the only place that knows them ----------------------------------------

def probes_blobs(header: T, pngs: Sequence[T]) -> list[T]:
    """The blob sequence of the probes series: header, then one PNG per image."""
    return [header, *pngs]


def map_blobs(header: T, block: T) -> list[T]:
    """The blob sequence of one step of a map series: header, block."""
    return [header, block]


def predictions_blobs(body: T) -> list[T]:
    """The blob sequence of one step of the predictions series: its body."""
    return [body]


def _blob_count(blobs: Sequence[T], count: int, what: str) -> Sequence[T]:
    if len(blobs) != count:
        raise FormatError(f"a Picasso {what} step holds {len(blobs)} blobs, not {count}")
    return blobs


def probes_header(blobs: Sequence[T]) -> T:
    """The header blob of a probes step; FormatError when it holds no blob."""
    if not blobs:
        raise FormatError("a Picasso probes step holds no blob")
    return blobs[0]


def probe_count(blobs: Sequence[T]) -> int:
    """How many probe PNGs a probes step holds."""
    return max(len(blobs) - 1, 0)


def probe_png(blobs: Sequence[T], image: int) -> T:
    """The PNG blob of probe image `image` (0-based) of a probes step."""
    if not 0 <= image < probe_count(blobs):
        raise IndexError(f"image {image} is not in 0..{probe_count(blobs) - 1}")
    return blobs[1 + image]


def map_header(blobs: Sequence[T]) -> T:
    """The header blob of a map step; FormatError unless the step holds 2 blobs."""
    return _blob_count(blobs, 2, "map")[0]


def map_block(blobs: Sequence[T]) -> T:
    """The block blob of a map step; FormatError unless the step holds 2 blobs."""
    return _blob_count(blobs, 2, "map")[1]


def predictions_body(blobs: Sequence[T]) -> T:
    """The body blob of a predictions step; FormatError unless it holds 1 blob."""
    return _blob_count(blobs, 1, "predictions")[0]
