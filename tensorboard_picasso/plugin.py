"""The Picasso TensorBoard plugin: HTTP routes over TensorBoard's data provider.

Imports no TensorFlow and no explanation method: it reads the format defined in
`summary/format.py` through TensorBoard's `context.data_provider`, so it works with both
the Python loader (`--load_fast=false`) and the Rust data server (`--load_fast=true`).
The routes are documented in docs/http_api.md.
"""

import base64
import collections
import concurrent.futures
import functools
import os
import re
import threading

from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tensorboard_picasso.quality import verdicts
from tensorboard_picasso.summary import format as fmt

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
_STATIC_NAME = re.compile(r"^[a-z0-9_]+\.(js|css)$")
_CONTENT_TYPES = {"js": "text/javascript", "css": "text/css"}
_ALL_SAMPLES = 1 << 31  # downsample is required; TensorBoard's "all" is a large int


class _LruCache:
    """A thread-safe dict bounded by the total size of its values, least recently used
    out first (TensorBoard serves requests from several threads)."""

    def __init__(self, max_bytes):
        self._items = collections.OrderedDict()
        self._sizes = {}
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key, value, size):
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


class BadRequest(Exception):
    """A request the plugin answers with a 4xx JSON error naming the problem."""

    def __init__(self, message, code=400):
        super().__init__(message)
        self.code = code


def _route(handler):
    """Wrap a handler(self, request) -> (body, content_type) into a WSGI app."""
    @functools.wraps(handler)
    @wrappers.Request.application
    def app(self, request):
        try:
            body, content_type = handler(self, request)
        except BadRequest as err:
            return http_util.Respond(request, {"error": str(err)}, "application/json",
                                     code=err.code)
        except fmt.FormatError as err:
            return http_util.Respond(request, {"error": str(err)}, "application/json",
                                     code=422)
        return http_util.Respond(request, body, content_type)
    return app


def _int_arg(request, name, default=None):
    value = request.args.get(name)
    if value is None:
        if default is None:
            raise BadRequest(f"missing query parameter '{name}'")
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"query parameter '{name}' must be an integer, got "
                         f"{value[:40]!r}") from None


def _class_name(names, index):
    """The name of class `index`, or None without (enough) class names."""
    return names[index] if names and index is not None and 0 <= index < len(names) \
        else None


def _str_arg(request, name):
    value = request.args.get(name)
    if value is None:
        raise BadRequest(f"missing query parameter '{name}'")
    return value


class PicassoPlugin(base_plugin.TBPlugin):
    """Serves probe images, maps at full precision and predictions to the tab."""

    plugin_name = fmt.PLUGIN_NAME

    def __init__(self, context):
        self._provider = context.data_provider
        self._series = {}   # (experiment, run, tag) -> [BlobSequenceDatum]
        self._blobs = _LruCache(max_bytes=256 * 2**20)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="picasso-read")  # concurrent provider reads

    def get_plugin_apps(self):
        return {
            "/index": self._serve_index,
            "/maps": self._serve_maps_header,
            "/map": self._serve_map,
            "/mapset": self._serve_mapset,
            "/metrics": self._serve_metrics,
            "/predictions": self._serve_predictions,
            "/probe": self._serve_probe,
            "/static/*": self._serve_static,
        }

    def is_active(self):
        return False  # activity comes from data_plugin_names via the data provider

    def data_plugin_names(self):
        return (fmt.PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Picasso")

    # -- reading -------------------------------------------------------------------------
    # Each data-provider call is a round trip (about 40 ms to the Rust data server), so
    # blob references are cached per series (refreshed by the index route, or when a
    # step is asked for that the cache does not know yet), and blobs (headers, PNGs,
    # decoded map blocks) in size-bounded LRU caches: a warm map request makes no call.

    def _read_references(self, request, run=None, tag=None):
        """{run: {tag: [BlobSequenceDatum]}} from the provider, cached per series."""
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        filter_ = provider.RunTagFilter(runs=[run] if run is not None else None,
                                        tags=[tag] if tag is not None else None)
        references = self._provider.read_blob_sequences(
            ctx, experiment_id=eid, plugin_name=fmt.PLUGIN_NAME,
            downsample=_ALL_SAMPLES, run_tag_filter=filter_)
        for run_name, tags in references.items():
            for tag_name, data in tags.items():
                self._series[(eid, run_name, tag_name)] = data
        return references

    def _series_data(self, request, run, tag, step=None, fresh=False):
        """The datums of (run, tag), from the cache unless `fresh` or `step` is not in
        it yet."""
        key = (plugin_util.experiment_id(request.environ), run, tag)
        data = None if fresh else self._series.get(key)
        if data is None or (step is not None and all(d.step != step for d in data)):
            data = self._read_references(request, run, tag).get(run, {}).get(tag)
        if data is None:
            known = self._read_references(request, run).get(run)
            raise BadRequest(f"run {run!r} has no Picasso series {tag!r}" if known else
                             f"no Picasso run {run!r}", 404)
        return data

    def _datum(self, request, run, tag, step):
        """The blob references of (run, tag) at `step`; 404 naming what is missing."""
        data = self._series_data(request, run, tag, step)
        for datum in data:
            if datum.step == step:
                return datum.values
        raise BadRequest(f"run {run!r} has no step {step} for {tag!r}; logged steps: "
                         f"{[d.step for d in data][-20:]}", 404)

    def _blob(self, request, reference, kind="bytes", decode=bytes):
        """`decode(blob bytes)` of a blob, cached under (blob key, kind) in the LRU."""
        key = (reference.blob_key, kind)
        value = self._blobs.get(key)
        if value is None:
            data = self._provider.read_blob(plugin_util.context(request.environ),
                                            blob_key=reference.blob_key)
            value = decode(data)
            self._blobs.put(key, value, getattr(value, "nbytes", len(data)))
        return value

    def _json_blob(self, request, reference):
        return self._blob(request, reference, "json", fmt.decode_json)

    def _probes_header(self, request, run, data):
        if not data:
            raise fmt.FormatError(f"run {run!r} has maps but no probe images")
        return self._json_blob(request, data[-1].values[0])

    def _class_names(self, request, run):
        data = self._series_data(request, run, fmt.PROBES_TAG)
        return self._probes_header(request, run, data).get("class_names")

    # -- routes ----------------------------------------------------------------------------
    @_route
    def _serve_index(self, request):
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        listing = self._provider.list_blob_sequences(ctx, experiment_id=eid,
                                                     plugin_name=fmt.PLUGIN_NAME)
        references = self._read_references(request)
        runs = []
        for run in sorted(listing):
            try:
                runs.append(self._run_entry(request, run, listing[run],
                                            references.get(run, {})))
            except fmt.FormatError as err:
                runs.append({"run": run, "error": str(err)})
        return {"runs": runs}, "application/json"

    def _run_entry(self, request, run, tags, series):
        header = self._probes_header(request, run, series.get(fmt.PROBES_TAG))
        class_names = header.get("class_names")
        probes = []
        for index, image in enumerate(header["images"]):
            probes.append({"index": index, **image,
                           "label_name": _class_name(class_names, image.get("label"))})
        methods = []
        for tag, meta in sorted(tags.items()):
            if tag.startswith(fmt.MAP_TAG_PREFIX):
                content = fmt.parse_metadata(meta.plugin_content)
                methods.append({"method": content["method"], "signed": content["signed"],
                                "steps": [d.step for d in series.get(tag, [])]})
        return {"run": run, "error": None, "class_names": class_names, "probes": probes,
                "methods": methods,
                "prediction_steps": [d.step for d in series.get(fmt.PREDICTIONS_TAG, [])]}

    def _map_header(self, request, run, method, step):
        values = self._datum(request, run, fmt.map_tag(method), step)
        return values, self._json_blob(request, values[0])

    @_route
    def _serve_maps_header(self, request):
        run, method = _str_arg(request, "run"), _str_arg(request, "method")
        step = _int_arg(request, "step")
        _, header = self._map_header(request, run, method, step)
        names = self._class_names(request, run)
        target_names = None if names is None else [
            [_class_name(names, c) for c in row] for row in header["targets"]]
        return {"step": step, "method": method, "params": header["params"],
                "targets": header["targets"], "target_names": target_names,
                "ranges": header["ranges"], "seconds": header.get("seconds")}, \
            "application/json"

    def _maps(self, request, run, method, step, target):
        """(header, decoded maps (N, T, H, W)) of a checkpoint, `target` checked.

        Uncached, the header and the block are read concurrently: one round trip."""
        values = self._datum(request, run, fmt.map_tag(method), step)
        header_read = self._pool.submit(self._json_blob, request, values[0])
        maps = self._blob(request, values[1], "maps", lambda block: fmt.decode_map_block(
            block, header_read.result()))
        header = header_read.result()
        count = len(header["targets"][0])
        if not 0 <= target < count:
            raise BadRequest(f"target={target} is out of range 0..{count - 1}", 404)
        return header, maps

    def _map_body(self, header, maps, names, image, target):
        """One map as JSON: its values (base64 float32) and its target class."""
        values = maps[image, target]
        target_class = header["targets"][image][target]
        return {"min": float(values.min()), "max": float(values.max()),
                "target_class": target_class,
                "target_name": _class_name(names, target_class),
                "data": base64.b64encode(values.astype("<f4").tobytes()).decode()}

    @_route
    def _serve_map(self, request):
        run, method = _str_arg(request, "run"), _str_arg(request, "method")
        step, image = _int_arg(request, "step"), _int_arg(request, "image")
        target = _int_arg(request, "target", default=0)
        header, maps = self._maps(request, run, method, step, target)
        if not 0 <= image < len(maps):
            raise BadRequest(f"image={image} is out of range 0..{len(maps) - 1}", 404)
        body = self._map_body(header, maps, self._class_names(request, run), image, target)
        return {"height": header["height"], "width": header["width"], **body}, \
            "application/json"

    @_route
    def _serve_mapset(self, request):
        """Every probe image's map at one checkpoint: one request for a grid column."""
        run, method = _str_arg(request, "run"), _str_arg(request, "method")
        step, target = _int_arg(request, "step"), _int_arg(request, "target", default=0)
        header, maps = self._maps(request, run, method, step, target)
        names = self._class_names(request, run)
        return {"height": header["height"], "width": header["width"], "step": step,
                "maps": [self._map_body(header, maps, names, image, target)
                         for image in range(len(maps))]}, "application/json"

    @_route
    def _serve_metrics(self, request):
        """Quality metrics of one method over all steps, per image and as the mean."""
        run, method = _str_arg(request, "run"), _str_arg(request, "method")
        data = self._series_data(request, run, fmt.map_tag(method), fresh=True)
        headers = list(self._pool.map(lambda d: self._json_blob(request, d.values[0]),
                                      data))
        per_step = [h.get("metrics") or {} for h in headers]
        metrics = {}
        for name in sorted({name for step in per_step for name in step}):
            images = [step.get(name) for step in per_step]
            metrics[name] = {"images": images, "mean": [verdicts.mean(v) for v in images]}
        sanity = verdicts.sanity(metrics.get("drift_untrained", {}).get("mean", []))
        return {"run": run, "method": method, "steps": [d.step for d in data],
                "metrics": metrics, "sanity": sanity}, "application/json"

    @_route
    def _serve_predictions(self, request):
        run, step = _str_arg(request, "run"), _int_arg(request, "step")
        values = self._datum(request, run, fmt.PREDICTIONS_TAG, step)
        body = self._json_blob(request, values[0])
        names = self._class_names(request, run)
        images = [{"top": [{"class": c, "name": _class_name(names, c), "prob": p}
                           for c, p in zip(classes, probs)]}
                  for classes, probs in zip(body["classes"], body["probabilities"])]
        return {"step": step, "images": images}, "application/json"

    @_route
    def _serve_probe(self, request):
        run, image = _str_arg(request, "run"), _int_arg(request, "image")
        values = self._series_data(request, run, fmt.PROBES_TAG)[-1].values
        if not 0 <= image < len(values) - 1:
            raise BadRequest(f"image={image} is out of range 0..{len(values) - 2}", 404)
        return self._blob(request, values[image + 1]), "image/png"

    @_route
    def _serve_static(self, request):
        name = request.path.rsplit("/static/", 1)[-1]
        # the allowlist: plain names (no separators, one dot) of files in STATIC_DIR
        if not _STATIC_NAME.match(name) or not os.path.isfile(os.path.join(STATIC_DIR,
                                                                           name)):
            raise BadRequest(f"no static file {name[:60]!r}", 404)
        with open(os.path.join(STATIC_DIR, name), "rb") as f:
            return f.read(), _CONTENT_TYPES[name.rsplit(".", 1)[1]]
