"""The Picasso TensorBoard plugin: the HTTP routes of docs/http_api.md.

Routes only: each parses its parameters, calls `reader.Reader` (which holds every
data-provider call, cache, decoding and validation) and responds. Imports no TensorFlow
and no explanation method, so it works with both of TensorBoard's loaders and without
TensorFlow installed. Every error is 4xx JSON naming the problem.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from tensorboard import errors as tb_errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tensorboard_picasso.reader import Reader, ReadError, Scope
from tensorboard_picasso.summary import layout

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
_CONTENT_TYPES = {"js": "text/javascript", "css": "text/css", "json": "application/json"}
_STATIC_NAME = re.compile(r"[a-z0-9_]+\.(js|css|json)")   # plain names: no separators
_INTEGER = re.compile(r"-?[0-9]{1,10}")                   # ASCII decimal only
_JSON = "application/json"



class Reply(NamedTuple):
    """What a route answers: the body (JSON-able or bytes), its content type, and its
    content encoding when the body is already compressed."""

    body: Any
    content_type: str
    content_encoding: str | None = None


Handler = Callable[["PicassoPlugin", wrappers.Request], Reply]


class BadRequest(Exception):
    """A malformed request parameter: answered 400 with a JSON error naming it."""


def _route(handler: Handler) -> Callable:
    """Wrap handler(self, request) -> Reply into a WSGI app answering every error as
    4xx JSON."""
    @functools.wraps(handler)
    @wrappers.Request.application
    def app(self: PicassoPlugin, request: wrappers.Request) -> wrappers.Response:
        try:
            reply = handler(self, request)
        except BadRequest as err:
            return http_util.Respond(request, {"error": str(err)}, _JSON, code=400)
        except ReadError as err:
            return http_util.Respond(request, {"error": str(err)}, _JSON, code=err.code)
        except layout.FormatError as err:
            return http_util.Respond(request, {"error": str(err)}, _JSON, code=422)
        except tb_errors.PublicError as err:
            return http_util.Respond(request, {"error": str(err)}, _JSON,
                                     code=err.http_code)
        return http_util.Respond(request, reply.body, reply.content_type,
                                 content_encoding=reply.content_encoding)
    return app


def _str_arg(request: wrappers.Request, name: str) -> str:
    value = request.args.get(name)
    if value is None:
        raise BadRequest(f"missing query parameter '{name}'")
    return value


def _int_arg(request: wrappers.Request, name: str, default: int | None = None) -> int:
    """An integer parameter: an optional '-' and 1 to 10 ASCII digits, nothing else."""
    value = request.args.get(name)
    if value is None:
        if default is None:
            raise BadRequest(f"missing query parameter '{name}'")
        return default
    if not _INTEGER.fullmatch(value):
        raise BadRequest(f"query parameter '{name}' must be an integer in ASCII decimal "
                         f"(an optional '-' and up to 10 digits 0-9), got {value[:40]!r}")
    return int(value)


def _scope(request: wrappers.Request) -> Scope:
    return Scope(plugin_util.context(request.environ),
                 plugin_util.experiment_id(request.environ))


class PicassoPlugin(base_plugin.TBPlugin):
    """Serves probe images, map blocks, series and predictions to the Picasso tab."""

    plugin_name = layout.PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext):
        self._reader = Reader(context.data_provider)

    def get_plugin_apps(self) -> dict[str, Callable]:
        return {
            "/index": self._serve_index,
            "/series": self._serve_series,
            "/block": self._serve_block,
            "/predictions": self._serve_predictions,
            "/probe": self._serve_probe,
            "/static/*": self._serve_static,
        }

    def is_active(self) -> bool:
        return False  # activity comes from data_plugin_names via the data provider

    def data_plugin_names(self) -> tuple[str, ...]:
        return (layout.PLUGIN_NAME,)

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Picasso")

    @_route
    def _serve_index(self, request):
        return Reply({"runs": self._reader.index(_scope(request))}, _JSON)

    @_route
    def _serve_series(self, request):
        return Reply(self._reader.series(_scope(request), _str_arg(request, "run"),
                                         _str_arg(request, "method")), _JSON, "gzip")

    @_route
    def _serve_block(self, request):
        return Reply(self._reader.block(_scope(request), _str_arg(request, "run"),
                                        _str_arg(request, "method"),
                                        _int_arg(request, "step")),
                     "application/octet-stream")

    @_route
    def _serve_predictions(self, request):
        return Reply(self._reader.predictions(_scope(request), _str_arg(request, "run"),
                                              _int_arg(request, "step")), _JSON)

    @_route
    def _serve_probe(self, request):
        return Reply(self._reader.probe_png(_scope(request), _str_arg(request, "run"),
                                            _int_arg(request, "image")), "image/png")

    @_route
    def _serve_static(self, request):
        name = request.path.rsplit("/static/", 1)[-1]
        path = os.path.join(STATIC_DIR, name)
        if not _STATIC_NAME.fullmatch(name) or not os.path.isfile(path):
            raise ReadError(f"no static file {name[:60]!r}", 404)
        with open(path, "rb") as f:
            return Reply(f.read(), _CONTENT_TYPES[name.rsplit(".", 1)[1]])
