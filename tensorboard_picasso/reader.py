"""Reads Picasso data through TensorBoard's data provider for the plugin's routes.

Every data-provider call, every cache, all decoding and validation live here; `plugin.py`
only parses parameters, calls a `Reader` method and responds. Works with both of
TensorBoard's loaders (the Python one, `--load_fast=false`, and the Rust data server,
`--load_fast=true`, whose every call is a round trip of about 40 ms).

Caching:
* blob references per series (run, tag), refreshed by `index` (all runs) and `series`
  (one series), and when a step is asked for that the cache does not know;
* blobs and what is decoded from them (validated headers, PNGs, block responses, decoded
  maps) in one byte-bounded LRU, keyed by the blob key **and the datum's wall time**:
  TensorBoard keeps a blob's key when a step is rewritten (a training re-run into the
  same log directory), so the wall time is what tells the versions apart.
A step's header and block are read concurrently, so a cold block costs one round trip.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import gzip
import json
import struct
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from tensorboard import errors as tb_errors
from tensorboard.data import provider

from tensorboard_picasso.quality import verdicts
from tensorboard_picasso.summary import codec, headers, layout
from tensorboard_picasso.summary.layout import FormatError

ALL_SAMPLES = 1 << 31     # `downsample` is required; TensorBoard's "all" is a large int
CACHE_BYTES = 256 * 2**20
READ_THREADS = 16         # concurrent provider reads (each mostly waits on the server)
_JSON_OVERHEAD = 4        # bytes of Python objects per byte of the JSON they came from


class ReadError(Exception):
    """A request the reader cannot answer; `code` is the HTTP status (4xx) to use."""

    def __init__(self, message: str, code: int = 404):
        super().__init__(message)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a read is for: TensorBoard's request context and experiment id."""

    context: Any
    experiment_id: str


class LruCache:
    """A thread-safe map bounded by the total size (bytes) of its values, least recently
    used out first; a value larger than a quarter of the bound is not kept."""

    def __init__(self, max_bytes: int):
        self._items: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value under `key` (now the most recently used), or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep `value` (of about `size` bytes) under `key`, evicting the least recently
        used values beyond the bound."""
        if size > self._max_bytes // 4:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._sizes[key] = size
            self._bytes += size
            while self._bytes > self._max_bytes:
                old, _ = self._items.popitem(last=False)
                self._bytes -= self._sizes.pop(old)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes


def _size(value: Any, raw: bytes) -> int:
    """About how many bytes `value`, decoded from `raw`, holds."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
        return sum(v.nbytes for v in value)
    return _JSON_OVERHEAD * len(raw)


def _class_name(names: Sequence[str] | None, index: int | None) -> str | None:
    """The name of class `index`, or None without (enough) class names."""
    if names is None or index is None or not 0 <= index < len(names):
        return None
    return names[index]


def _provider_error(run: str, err: tb_errors.PublicError) -> ReadError:
    """A provider's error as a ReadError: what failed and, where known, the fix."""
    if isinstance(err, tb_errors.NotFoundError):
        return ReadError(f"run {run!r}: {err} (the data changed since it was listed; "
                         "reload the index)", 404)
    hint = ""
    if '"' in run or "\\" in run:
        hint = ("; TensorBoard's data server (--load_fast=true) cannot read a run whose "
                "name contains a double quote or a backslash: rename the run's directory "
                "or start TensorBoard with --load_fast=false")
    return ReadError(f"TensorBoard could not read run {run!r}: {err}{hint}",
                     err.http_code if 400 <= err.http_code < 500 else 422)


def _cache_key(datum: provider.BlobSequenceDatum, reference: provider.BlobReference,
               kind: str) -> tuple[str, float, str]:
    """The cache key of what is decoded as `kind` from `reference`, a blob of `datum`."""
    return reference.blob_key, datum.wall_time, kind


class Reader:
    """Picasso data of one TensorBoard instance, read through its data provider.

    Args:
      data_provider: TensorBoard's `context.data_provider`.
      cache_bytes: bound of the blob cache (bytes).
    """

    def __init__(self, data_provider: provider.DataProvider,
                 cache_bytes: int = CACHE_BYTES):
        self._provider = data_provider
        self._references: dict[tuple[str, str, str], list[provider.BlobSequenceDatum]] = {}
        self._signed: dict[tuple[str, str, str], bool] = {}
        self._cache = LruCache(cache_bytes)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=READ_THREADS, thread_name_prefix="picasso-read")

    # -- provider calls --------------------------------------------------------------------

    def _read_references(self, scope: Scope, run: str | None = None,
                         tag: str | None = None
                         ) -> dict[str, dict[str, list[provider.BlobSequenceDatum]]]:
        """{run: {tag: datums}} of all runs (run None) or one, cached per series."""
        filter_ = provider.RunTagFilter(runs=None if run is None else [run],
                                        tags=None if tag is None else [tag])
        try:
            references = self._provider.read_blob_sequences(
                scope.context, experiment_id=scope.experiment_id,
                plugin_name=layout.PLUGIN_NAME, downsample=ALL_SAMPLES,
                run_tag_filter=filter_)
        except tb_errors.PublicError as err:
            raise _provider_error("*" if run is None else run, err) from None
        for run_name, tags in references.items():
            for tag_name, data in tags.items():
                self._references[(scope.experiment_id, run_name, tag_name)] = data
        return references

    def _listing(self, scope: Scope, run: str | None = None
                 ) -> dict[str, dict[str, provider.BlobSequenceTimeSeries]]:
        """{run: {tag: time series}} (metadata, newest wall time) of all runs or one."""
        try:
            return self._provider.list_blob_sequences(
                scope.context, experiment_id=scope.experiment_id,
                plugin_name=layout.PLUGIN_NAME,
                run_tag_filter=None if run is None else provider.RunTagFilter(runs=[run]))
        except tb_errors.PublicError as err:
            raise _provider_error("*" if run is None else run, err) from None

    def _series(self, scope: Scope, run: str, tag: str, step: int | None = None,
                fresh: bool = False) -> list[provider.BlobSequenceDatum]:
        """The datums of (run, tag), from the cache unless `fresh` or `step` is not in
        it; ReadError 404 naming what is missing."""
        data = None if fresh else self._references.get((scope.experiment_id, run, tag))
        if data is None or (step is not None and all(d.step != step for d in data)):
            data = self._read_references(scope, run, tag).get(run, {}).get(tag)
        if data is None:
            known = self._read_references(scope, run).get(run)
            raise ReadError(f"run {run!r} has no Picasso series {tag!r}" if known
                            else f"no Picasso run {run!r}", 404)
        return data

    def _datum(self, scope: Scope, run: str, tag: str, step: int
               ) -> provider.BlobSequenceDatum:
        """The datum of (run, tag) at `step`; ReadError 404 naming the logged steps."""
        data = self._series(scope, run, tag, step)
        for datum in data:
            if datum.step == step:
                return datum
        raise ReadError(f"run {run!r} has no step {step} for {tag!r}; logged steps: "
                        f"{[d.step for d in data][-20:]}", 404)

    def _read_blob(self, scope: Scope, run: str, reference: provider.BlobReference
                   ) -> bytes:
        try:
            return self._provider.read_blob(scope.context, blob_key=reference.blob_key)
        except tb_errors.PublicError as err:
            raise _provider_error(run, err) from None

    def _blob(self, scope: Scope, run: str, datum: provider.BlobSequenceDatum,
              reference: provider.BlobReference, kind: str,
              decode: Callable[[bytes], Any]) -> Any:
        """`decode(blob)` of one of `datum`'s blobs, cached under (blob key, the datum's
        wall time, kind); `decode` raises FormatError on malformed data (not cached)."""
        key = _cache_key(datum, reference, kind)
        value = self._cache.get(key)
        if value is None:
            raw = self._read_blob(scope, run, reference)
            value = decode(raw)
            self._cache.put(key, value, _size(value, raw))
        return value

    # -- validated pieces ------------------------------------------------------------------

    def _probes(self, scope: Scope, run: str,
                data: list[provider.BlobSequenceDatum] | None = None
                ) -> tuple[dict, provider.BlobSequenceDatum]:
        """(validated probes header, its datum) of `run`: its newest probes step."""
        if data is None:
            data = self._series(scope, run, layout.PROBES_TAG)
        if not data:
            raise FormatError(f"run {run!r} has maps but no probe images")
        datum = data[-1]
        header = self._blob(scope, run, datum, layout.probes_header(datum.values),
                            "probes", headers.probes_header)
        if len(header["images"]) != layout.probe_count(datum.values):
            raise FormatError(f"run {run!r}: the probes header lists "
                              f"{len(header['images'])} images but the step holds "
                              f"{layout.probe_count(datum.values)} PNGs")
        return header, datum

    def _map_header(self, scope: Scope, run: str, datum: provider.BlobSequenceDatum
                    ) -> dict:
        """The validated (version 2 form) map header of one map datum."""
        try:
            return self._blob(scope, run, datum, layout.map_header(datum.values),
                              "map_header", headers.map_header)
        except FormatError as err:
            raise FormatError(f"run {run!r}, step {datum.step}: {err}") from None

    def class_names(self, scope: Scope, run: str) -> list[str] | None:
        """The run's class names (from its probes header), or None."""
        return self._probes(scope, run)[0]["class_names"]

    # -- the routes of docs/http_api.md ----------------------------------------------------

    def index(self, scope: Scope) -> list[dict]:
        """One entry per run with Picasso data (sorted by name), a run that cannot be
        read listed with its `error` (see docs/http_api.md, `index`)."""
        listing = self._pool.submit(self._listing, scope)
        references = self._read_references(scope)
        listing = listing.result()
        return list(self._pool.map(
            lambda run: self._run_entry(scope, run, listing[run], references.get(run, {})),
            sorted(listing)))

    def _run_entry(self, scope: Scope, run: str,
                   tags: Mapping[str, provider.BlobSequenceTimeSeries],
                   series: Mapping[str, list[provider.BlobSequenceDatum]]) -> dict:
        """The index entry of `run` from its listing `tags` and references `series`;
        what cannot be read (each run's blobs are read separately) becomes its error."""
        entry = {"run": run, "error": None,
                 "last_written": max((t.max_wall_time for t in tags.values()),
                                     default=None),
                 "class_names": None, "probes": [], "methods": [], "prediction_steps": [],
                 "prediction_versions": []}
        try:
            metadata = {tag: layout.parse_metadata(time_series.plugin_content, tag)
                        for tag, time_series in tags.items()}
            header, _ = self._probes(scope, run, series.get(layout.PROBES_TAG, []))
            methods = []
            for tag in sorted(tags):
                method = layout.method_of_tag(tag)
                if method is None:
                    continue
                signed = metadata[tag]["signed"]
                self._signed[(scope.experiment_id, run, tag)] = signed
                data = series.get(tag, [])
                methods.append({"method": method, "signed": signed,
                                "steps": [d.step for d in data],
                                "versions": [d.wall_time for d in data]})
        except (FormatError, ReadError) as err:
            return {**entry, "error": str(err)}
        names = header["class_names"]
        predictions = series.get(layout.PREDICTIONS_TAG, [])
        return {**entry, "class_names": names, "methods": methods,
                "probes": [{"index": i, **image,
                            "label_name": _class_name(names, image["label"])}
                           for i, image in enumerate(header["images"])],
                "prediction_steps": [d.step for d in predictions],
                "prediction_versions": [d.wall_time for d in predictions]}

    def _signed_of(self, scope: Scope, run: str, tag: str) -> bool:
        key = (scope.experiment_id, run, tag)
        if key not in self._signed:
            time_series = self._listing(scope, run).get(run, {}).get(tag)
            if time_series is None:
                raise ReadError(f"run {run!r} has no Picasso series {tag!r}", 404)
            self._signed[key] = layout.parse_metadata(time_series.plugin_content,
                                                      tag)["signed"]
        return self._signed[key]

    def series(self, scope: Scope, run: str, method: str) -> bytes:
        """Everything about one method over all its steps but the map values, with the
        quality verdicts (see docs/http_api.md, `series`), as gzip'd UTF-8 JSON: cached
        until a step is added or rewritten (each request reads the series' references)."""
        tag = layout.map_tag(method)
        data = self._series(scope, run, tag, fresh=True)
        key = ("series", scope.experiment_id, run, tag,
               tuple((d.step, d.wall_time) for d in data))
        body = self._cache.get(key)
        if body is None:
            text = json.dumps(self._series_body(scope, run, method, data),
                              separators=(",", ":"), allow_nan=False)
            body = gzip.compress(text.encode(), compresslevel=3, mtime=0)
            self._cache.put(key, body, len(body))
        return body

    def _series_body(self, scope: Scope, run: str, method: str,
                     data: list[provider.BlobSequenceDatum]) -> dict:
        found = list(self._pool.map(lambda d: self._map_header(scope, run, d), data))
        return {"run": run, "method": method,
                "signed": self._signed_of(scope, run, layout.map_tag(method)),
                "steps": [d.step for d in data], "versions": [d.wall_time for d in data],
                "classes": [h["targets"] for h in found],
                "quantile_levels": list(layout.QUANTILE_LEVELS),
                "abs_quantiles": [h["abs_quantiles"] for h in found],
                "ranges": [h["ranges"] for h in found],
                "constant_output": [h["constant_output"] for h in found],
                "seconds": [h["seconds"] for h in found],
                **verdicts.over_steps([h["metrics"] for h in found])}

    def block(self, scope: Scope, run: str, method: str, step: int) -> bytes:
        """The `block` response of one checkpoint: uint32 LE header length, the header
        JSON (version 2 form), the stored block, checked against the header once."""
        datum = self._datum(scope, run, layout.map_tag(method), step)
        block_reference = layout.map_block(datum.values)

        def build(block: bytes) -> bytes:
            header = header_read.result()
            maps = sum(len(row) for row in header["targets"])
            try:
                codec.check_block(block, maps, header["height"], header["width"])
            except FormatError as err:
                raise FormatError(f"run {run!r}, step {step}: {err}") from None
            text = json.dumps(header, separators=(",", ":")).encode()
            return struct.pack("<I", len(text)) + text + block

        cached = self._cache.get(_cache_key(datum, block_reference, "block"))
        if cached is not None:
            return cached
        header_read = self._pool.submit(self._map_header, scope, run, datum)
        return self._blob(scope, run, datum, block_reference, "block", build)

    def predictions(self, scope: Scope, run: str, step: int) -> dict:
        """Top-k classes with names and probabilities per image at `step`."""
        datum = self._datum(scope, run, layout.PREDICTIONS_TAG, step)
        body = self._blob(scope, run, datum, layout.predictions_body(datum.values),
                          "predictions", headers.predictions_body)
        names = self.class_names(scope, run)
        return {"step": step, "constant_output": body["constant_output"],
                "images": [{"top": [{"class": c, "name": _class_name(names, c), "prob": p}
                                    for c, p in zip(classes, probabilities)]}
                           for classes, probabilities in zip(body["classes"],
                                                             body["probabilities"])]}

    def probe_png(self, scope: Scope, run: str, image: int) -> bytes:
        """The PNG of probe image `image` of `run`."""
        header, datum = self._probes(scope, run)
        count = len(header["images"])
        if not 0 <= image < count:
            raise ReadError(f"image={image} is out of range 0..{count - 1}", 404)
        return self._blob(scope, run, datum, layout.probe_png(datum.values, image), "png",
                          bytes)
