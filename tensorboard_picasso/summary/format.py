"""The Picasso storage format: defined here and only here. Imports no TensorFlow.

Every summary uses plugin name "picasso" and data class BLOB_SEQUENCE. The per-series
metadata (`plugin_data.content`, JSON) is fixed per series and versioned; all that
changes per step lives in the data. Three kinds of series, by tag:

* "probes" — written once per run. Blobs: [header JSON, PNG of image 0, ..., image N-1].
  Header: {"version", "images": [{"hash", "label", "height", "width"}], "class_names"}.
  `hash` is the SHA-256 (first 16 hex digits) of the image's float32 values, so one
  image can be lined up across runs.
* "map/<method>" — one per method. Blobs: [header JSON, map block]; one block holds the
  maps of all probe images, so a reader fetches a checkpoint's maps in one read.
  Header: {"version", "method", "params", "targets": N x T class indices,
  "ranges": N x T x [lo, hi], "height", "width", "seconds", "epoch", "batch",
  "metrics": {name: N values or null}} (quality metrics of the first target's maps).
  The block holds the N x T maps (N, T, H, W), each quantised to 16 bits,
      q = round((v - lo) / (hi - lo) * 65535),   v = lo + q / 65535 * (hi - lo),
  so the error is at most (hi - lo) / 131070 (< 1e-5 of the range); lo == hi stores 0s.
  q is delta-coded along rows, then along columns (uint16, wrapping), its bytes split
  into a high and a low plane, and the whole zlib-compressed: smooth maps become runs of
  small numbers that compress well.
* "predictions" — Blobs: [JSON {"version", "classes": N x k, "probabilities": N x k,
  "epoch", "batch"}], the top-k classes, most probable first.

Step -1 holds the untrained model ("before training"); other steps are Keras' epoch index
(or its global batch index when logging every N batches).
"""

import hashlib
import io
import json
import zlib

import numpy as np

PLUGIN_NAME = "picasso"
FORMAT_VERSION = 1
PROBES_TAG = "probes"
PREDICTIONS_TAG = "predictions"
MAP_TAG_PREFIX = "map/"
BEFORE_TRAINING_STEP = -1
_LEVELS = 65535


class FormatError(ValueError):
    """Data that does not follow this format (or a newer version of it)."""


# -- metadata --------------------------------------------------------------------------

def metadata_content(kind, **fields):
    """The fixed, versioned per-series metadata as bytes."""
    return json.dumps({"version": FORMAT_VERSION, "kind": kind, **fields},
                      sort_keys=True).encode()


def parse_metadata(content):
    """Per-series metadata dict from bytes; FormatError when unreadable or too new."""
    try:
        meta = json.loads(content.decode())
    except (UnicodeDecodeError, ValueError, AttributeError) as err:
        raise FormatError(f"unreadable Picasso metadata: {err}") from None
    if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION:
        raise FormatError(f"Picasso metadata version {meta.get('version')!r} is not "
                          f"supported (this reader knows {FORMAT_VERSION}); upgrade "
                          "tensorboard-picasso")
    return meta


def map_tag(method):
    return MAP_TAG_PREFIX + method


# -- records: (tag, metadata content, blobs) shared by the TF ops and the *_pb builders --

def _json(value):
    return json.dumps(value, separators=(",", ":")).encode()


def image_hash(image):
    """Content hash of one float32 image (first 16 hex digits of SHA-256)."""
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32).tobytes()
                          ).hexdigest()[:16]


def encode_png(image, value_range):
    """One (H, W, C) image as an 8-bit PNG, `value_range` mapped to 0..255."""
    from PIL import Image

    low, high = value_range
    scaled = (np.asarray(image, np.float32) - low) / max(high - low, 1e-12)
    pixels = np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    elif pixels.shape[-1] != 3:
        pixels = pixels[..., :3] if pixels.shape[-1] > 3 else pixels[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def probes_record(images, labels=None, class_names=None, value_range=None):
    """(tag, metadata, blobs) for the probe images; range default: the images' min..max."""
    images = np.asarray(images, np.float32)
    if value_range is None:
        value_range = (float(images.min()), float(images.max()))
    header = {
        "version": FORMAT_VERSION,
        "images": [{"hash": image_hash(im),
                    "label": None if labels is None else int(labels[i]),
                    "height": int(im.shape[0]), "width": int(im.shape[1])}
                   for i, im in enumerate(images)],
        "class_names": None if class_names is None else [str(c) for c in class_names],
    }
    blobs = [_json(header)] + [encode_png(im, value_range) for im in images]
    return PROBES_TAG, metadata_content("probes"), blobs


def encode_map_block(maps):
    """(N, T, H, W) float maps -> (zlib'd block, N x T x [lo, hi])."""
    maps = np.asarray(maps, np.float64)
    low = maps.min(axis=(2, 3), keepdims=True)
    high = maps.max(axis=(2, 3), keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    q = np.round((maps - low) / span * _LEVELS).astype(np.uint16)
    delta = np.diff(np.diff(q, axis=3, prepend=np.uint16(0)), axis=2,
                    prepend=np.uint16(0))
    planes = delta.astype("<u2").view(np.uint8).reshape(-1, 2).T
    ranges = np.stack([low[..., 0, 0], high[..., 0, 0]], axis=-1)
    return zlib.compress(planes.tobytes(), 6), ranges.tolist()


def _finite_or_none(values):
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, np.float64)]


def map_record(method, maps, targets, signed, params=None, seconds=None, epoch=None,
               batch=None, metrics=None):
    """(tag, metadata, blobs) for one method's maps (N, T, H, W) of targets (N, T)."""
    maps = np.asarray(maps, np.float32)
    targets = np.asarray(targets)
    if maps.ndim != 4 or targets.shape != maps.shape[:2]:
        raise ValueError(f"maps must be (N, T, H, W) and targets (N, T); got maps "
                         f"{maps.shape} and targets {targets.shape}")
    block, ranges = encode_map_block(maps)
    header = {"version": FORMAT_VERSION, "method": method, "params": params or {},
              "targets": targets.astype(int).tolist(), "ranges": ranges,
              "height": int(maps.shape[2]), "width": int(maps.shape[3]),
              "seconds": seconds, "epoch": epoch, "batch": batch,
              "metrics": {name: _finite_or_none(v) for name, v in (metrics or {}).items()}}
    meta = metadata_content("map", method=method, signed=bool(signed))
    return map_tag(method), meta, [_json(header), block]


def predictions_record(classes, probabilities, epoch=None, batch=None):
    """(tag, metadata, blobs) for the top-k classes (N, k) and probabilities (N, k)."""
    body = {"version": FORMAT_VERSION, "classes": np.asarray(classes).astype(int).tolist(),
            "probabilities": np.asarray(probabilities, np.float64).round(6).tolist(),
            "epoch": epoch, "batch": batch}
    return PREDICTIONS_TAG, metadata_content("predictions"), [_json(body)]


# -- the reader ----------------------------------------------------------------------------

def decode_json(blob):
    """A JSON blob (header or predictions) as a dict; FormatError when unreadable."""
    try:
        value = json.loads(bytes(blob).decode())
    except (UnicodeDecodeError, ValueError) as err:
        raise FormatError(f"unreadable Picasso header: {err}") from None
    if not isinstance(value, dict) or value.get("version") != FORMAT_VERSION:
        raise FormatError("Picasso data of an unsupported version")
    return value


def decode_map_block(block, header):
    """A map block back to float32 (N, T, H, W) given its header."""
    ranges = np.asarray(header["ranges"], np.float64)
    try:
        planes = np.frombuffer(zlib.decompress(block), dtype=np.uint8).reshape(2, -1)
        delta = np.ascontiguousarray(planes.T).view("<u2").reshape(
            ranges.shape[:2] + (header["height"], header["width"]))
    except (zlib.error, ValueError) as err:
        raise FormatError(f"corrupt Picasso map block: {err}") from None
    q = np.cumsum(np.cumsum(delta, axis=2, dtype=np.uint16), axis=3, dtype=np.uint16)
    low, high = ranges[..., 0, None, None], ranges[..., 1, None, None]
    return (low + q / _LEVELS * (high - low)).astype(np.float32)
