"""Decoding and validation of the format's JSON blobs (probes header, map header,
predictions body), for readers. Pure Python: no NumPy, no TensorFlow.

Each decoder returns a dict holding exactly the fields of the current format version,
with their types checked, or raises `FormatError` naming the field: data that passes
TensorBoard's checksums can still be malformed (a hand-written or truncated log, another
tool's writer), and a reader must say so rather than fail later. Version 1 map headers
are upgraded: `abs_quantiles` is max(|lo|, |hi|) at every level (all that a range says)
and `constant_output` is false; version 1 predictions get `constant_output` false.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tensorboard_picasso.summary.layout import QUANTILE_LEVELS, FormatError, check_version


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    """Type checks that raise FormatError naming the blob and the field."""

    def __init__(self, what: str):
        self.what = what

    def fail(self, where: str, expected: str, value: Any) -> FormatError:
        return FormatError(f"malformed Picasso {self.what}: {where} must be {expected}, "
                           f"got {_short(value)}")

    def integer(self, value: Any, where: str, minimum: int | None = None) -> int:
        if type(value) is not int or (minimum is not None and value < minimum):
            raise self.fail(where, "an integer" + ("" if minimum is None else
                                                   f" >= {minimum}"), value)
        return value

    def optional_integer(self, value: Any, where: str) -> int | None:
        return None if value is None else self.integer(value, where)

    def number(self, value: Any, where: str) -> float:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise self.fail(where, "a finite number", value)
        return value

    def optional_number(self, value: Any, where: str) -> float | None:
        return None if value is None else self.number(value, where)

    def array(self, value: Any, where: str, length: int | None = None,
             nonempty: bool = False) -> list:
        if not isinstance(value, list) or (length is not None and len(value) != length) \
                or (nonempty and not value):
            expected = ("a list" + (f" of {length}" if length is not None else "")
                        + (" (not empty)" if nonempty else ""))
            raise self.fail(where, expected, value)
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, "true or false", value)
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "a string", value)
        return value

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "a JSON object", value)
        return value


def _decode(blob: bytes, what: str) -> tuple[dict, _Checker]:
    """The JSON object in `blob` (version checked) and a checker naming `what`."""
    try:
        value = json.loads(bytes(blob).decode())
    except (UnicodeDecodeError, ValueError, TypeError) as err:
        raise FormatError(f"unreadable Picasso {what}: {err}") from None
    check = _Checker(what)
    check.mapping(value, "the blob")
    check_version(value.get("version"), what)
    return value, check


def probes_header(blob: bytes) -> dict:
    """The probes header: {"version", "images": [{"hash", "label", "height", "width"}],
    "class_names": [str] | None}; FormatError when malformed."""
    header, check = _decode(blob, "probes header")
    images = []
    for i, image in enumerate(check.array(header.get("images"), "images", nonempty=True)):
        check.mapping(image, f"images[{i}]")
        images.append({"hash": check.string(image.get("hash"), f"images[{i}].hash"),
                       "label": None if image.get("label") is None else
                       check.integer(image["label"], f"images[{i}].label", 0),
                       "height": check.integer(image.get("height"),
                                               f"images[{i}].height", 1),
                       "width": check.integer(image.get("width"), f"images[{i}].width", 1)})
    names = header.get("class_names")
    if names is not None:
        names = [check.string(n, f"class_names[{i}]")
                 for i, n in enumerate(check.array(names, "class_names"))]
    return {"version": header["version"], "images": images, "class_names": names}


def _targets(check: _Checker, value: Any) -> list[list[int]]:
    return [[check.integer(c, f"targets[{i}][{j}]", 0)
             for j, c in enumerate(check.array(row, f"targets[{i}]", nonempty=True))]
            for i, row in enumerate(check.array(value, "targets", nonempty=True))]


def _per_map(check: _Checker, value: Any, name: str, targets: list[list[int]],
             width: int) -> list[list[list[float]]]:
    """A [image][map][width numbers] list shaped like `targets`."""
    check.array(value, name, len(targets))
    return [[[check.number(v, f"{name}[{i}][{j}][{k}]")
              for k, v in enumerate(check.array(entry, f"{name}[{i}][{j}]", width))]
             for j, entry in enumerate(check.array(row, f"{name}[{i}]", len(targets[i])))]
            for i, row in enumerate(value)]


def map_header(blob: bytes) -> dict:
    """A map header in version 2 form: {"version", "method", "params", "targets",
    "ranges", "abs_quantiles", "height", "width", "seconds", "epoch", "batch", "metrics",
    "constant_output"} (see layout.py); FormatError when malformed."""
    header, check = _decode(blob, "map header")
    targets = _targets(check, header.get("targets"))
    ranges = _per_map(check, header.get("ranges"), "ranges", targets, 2)
    for i, row in enumerate(ranges):
        for j, (low, high) in enumerate(row):
            if low > high:
                raise check.fail(f"ranges[{i}][{j}]", "[lo, hi] with lo <= hi", [low, high])
    if header["version"] == 1:
        quantiles = [[[max(abs(low), abs(high))] * len(QUANTILE_LEVELS)
                      for low, high in row] for row in ranges]
        constant_output = False
    else:
        quantiles = _per_map(check, header.get("abs_quantiles"), "abs_quantiles", targets,
                             len(QUANTILE_LEVELS))
        constant_output = check.boolean(header.get("constant_output"), "constant_output")
    metrics = {}
    for name, values in check.mapping(header.get("metrics", {}), "metrics").items():
        metrics[name] = [check.optional_number(v, f"metrics[{name!r}][{i}]") for i, v in
                         enumerate(check.array(values, f"metrics[{name!r}]", len(targets)))]
    return {"version": header["version"],
            "method": check.string(header.get("method"), "method"),
            "params": check.mapping(header.get("params", {}), "params"),
            "targets": targets, "ranges": ranges, "abs_quantiles": quantiles,
            "height": check.integer(header.get("height"), "height", 1),
            "width": check.integer(header.get("width"), "width", 1),
            "seconds": check.optional_number(header.get("seconds"), "seconds"),
            "epoch": check.optional_integer(header.get("epoch"), "epoch"),
            "batch": check.optional_integer(header.get("batch"), "batch"),
            "metrics": metrics, "constant_output": constant_output}


def predictions_body(blob: bytes) -> dict:
    """A predictions body: {"version", "classes": N x k ints, "probabilities": N x k
    numbers, "epoch", "batch", "constant_output"}; FormatError when malformed."""
    body, check = _decode(blob, "predictions")
    classes = [[check.integer(c, f"classes[{i}][{j}]", 0)
                for j, c in enumerate(check.array(row, f"classes[{i}]"))]
               for i, row in enumerate(check.array(body.get("classes"), "classes",
                                                  nonempty=True))]
    probabilities = check.array(body.get("probabilities"), "probabilities", len(classes))
    probabilities = [[check.number(p, f"probabilities[{i}][{j}]")
                      for j, p in enumerate(check.array(row, f"probabilities[{i}]",
                                                       len(classes[i])))]
                     for i, row in enumerate(probabilities)]
    constant_output = False if body["version"] == 1 else \
        check.boolean(body.get("constant_output"), "constant_output")
    return {"version": body["version"], "classes": classes, "probabilities": probabilities,
            "epoch": check.optional_integer(body.get("epoch"), "epoch"),
            "batch": check.optional_integer(body.get("batch"), "batch"),
            "constant_output": constant_output}
