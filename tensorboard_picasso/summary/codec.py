"""The byte encodings of the Picasso format: map blocks, probe PNGs, image hashes.

A map block holds M maps of H x W (row-major, in the order the header lists them). Per
map, with its range [lo, hi]:

    q = round((v - lo) / (hi - lo) * 65535),   v = lo + q / 65535 * (hi - lo),

so the error is at most (hi - lo) / 131070; lo == hi stores zeros. q is differenced along
the width, then along the height (uint16, wrapping); the M x H x W uint16 values `d` are
split into two byte planes (all low bytes, then all high bytes) and the whole is zlib'd
(RFC 1950). Smooth maps become runs of small numbers that compress well. Decoding undoes
it with cumulative sums along both axes (mod 65536).
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Sequence

import numpy as np

from tensorboard_picasso.summary.layout import QUANTILE_LEVELS, FormatError

_LEVELS = 65535
_MAX_INFLATED_BYTES = 1 << 31   # a block claiming more is refused, not inflated


def encode_maps(maps: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Encode maps (M, H, W), finite floats, into a block.

    Returns (block bytes, ranges (M, 2) float64 of [lo, hi] per map).
    """
    maps = np.asarray(maps, np.float64)
    low = maps.min(axis=(1, 2), keepdims=True)
    high = maps.max(axis=(1, 2), keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    q = np.round((maps - low) / span * _LEVELS).astype(np.uint16)
    delta = np.diff(np.diff(q, axis=2, prepend=np.uint16(0)), axis=1,
                    prepend=np.uint16(0))
    planes = delta.astype("<u2").view(np.uint8).reshape(-1, 2).T
    return zlib.compress(planes.tobytes(), 6), np.concatenate([low, high], axis=2)[:, 0]


def _inflate(block: bytes, size: int) -> bytes:
    """The inflated block; FormatError unless it is zlib data of exactly `size` bytes."""
    if size > _MAX_INFLATED_BYTES:
        raise FormatError(f"a Picasso map block of {size} bytes is larger than this "
                          f"reader accepts ({_MAX_INFLATED_BYTES})")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(bytes(block), size + 1)
    except zlib.error as err:
        raise FormatError(f"corrupt Picasso map block: {err}") from None
    if len(raw) > size or inflater.unconsumed_tail:
        raise FormatError(f"corrupt Picasso map block: it holds more than the {size} "
                          "bytes of maps its header describes")
    if len(raw) < size or not inflater.eof or inflater.unused_data:
        raise FormatError(f"corrupt Picasso map block: its header describes {size} bytes "
                          f"of maps, the block holds {len(raw)} (truncated or trailing "
                          "bytes)")
    return raw


def check_block(block: bytes, count: int, height: int, width: int) -> None:
    """FormatError unless `block` inflates to exactly `count` maps of height x width."""
    _inflate(block, 2 * count * height * width)


def decode_maps(block: bytes, ranges: np.ndarray | Sequence[Sequence[float]], height: int,
                width: int) -> np.ndarray:
    """A block back to float32 maps (M, height, width), given ranges (M, 2) [lo, hi]."""
    ranges = np.asarray(ranges, np.float64).reshape(-1, 2)
    raw = _inflate(block, 2 * len(ranges) * height * width)
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(2, -1)
    delta = np.ascontiguousarray(planes.T).view("<u2").reshape(len(ranges), height, width)
    q = np.cumsum(np.cumsum(delta, axis=1, dtype=np.uint16), axis=2, dtype=np.uint16)
    low, high = ranges[:, 0, None, None], ranges[:, 1, None, None]
    return (low + q / _LEVELS * (high - low)).astype(np.float32)


def abs_quantiles(maps: np.ndarray) -> np.ndarray:
    """|v| of each map (M, H, W) at `QUANTILE_LEVELS` percent (linear interpolation):
    (M, len(QUANTILE_LEVELS)) float64."""
    flat = np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)
    return np.quantile(flat, np.asarray(QUANTILE_LEVELS) / 100, axis=1).T


def image_hash(image: np.ndarray) -> str:
    """Content hash of one image (H, W, C): the first 16 hex digits of the SHA-256 of its
    float32 little-endian values."""
    return hashlib.sha256(np.ascontiguousarray(image, dtype="<f4").tobytes()
                          ).hexdigest()[:16]


def encode_png(image: np.ndarray, value_range: tuple[float, float]) -> bytes:
    """One image (H, W, C) as an 8-bit PNG, `value_range` (low, high) mapped to 0..255.

    One channel becomes grey, three RGB; of more channels the first three are shown.
    """
    from PIL import Image  # only writers need Pillow

    low, high = value_range
    scaled = (np.asarray(image, np.float32) - low) / max(high - low, 1e-12)
    pixels = np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)
    pixels = pixels[..., 0] if pixels.shape[-1] < 3 else pixels[..., :3]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
