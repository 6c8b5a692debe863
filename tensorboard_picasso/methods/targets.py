"""Which classes each map explains.

A target spec is one of:
  "predicted"  the model's top-1 class for each image;
  "label"      the true label (needs `labels`);
  an int       a fixed class index for every image;
  "topK"       the K most probable classes, one map each (e.g. "top3"), as Picasso did;
  a list or tuple of those: their classes in order, each class once per image (so
               ("predicted", "label") maps the true class too where the model is wrong).
`resolve_targets` turns a spec into `Targets`: for image i the classes c_i1, c_i2, ...,
T_i >= 1 of them (images may differ in T_i when a list spec is used).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Union

import numpy as np

TargetSpec = Union[str, int, Sequence[Union[str, int]]]

_TOP_K = re.compile(r"^top(\d+)$")
TARGET_HELP = ('target must be "predicted", "label", a class index (int), "topK" '
               '(e.g. "top3"), or a list of these')


@dataclasses.dataclass(frozen=True)
class Targets:
    """The classes mapped per image: `rows[i]` is image i's class list (length T_i >= 1).

    `pairs()` flattens them to (image index (P,), class (P,)) in row order, P = sum T_i.
    """

    rows: tuple[tuple[int, ...], ...]

    @classmethod
    def from_array(cls, classes: np.ndarray) -> "Targets":
        """From a rectangular (N, T) int array."""
        return cls(tuple(tuple(int(c) for c in row) for row in np.asarray(classes)))

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def counts(self) -> np.ndarray:
        """T_i per image, (N,) int."""
        return np.array([len(row) for row in self.rows])

    @property
    def rectangular(self) -> bool:
        """Whether every image has the same number of classes."""
        return len(set(self.counts.tolist())) == 1

    def array(self) -> np.ndarray:
        """(N, T) int64; ValueError when the rows differ in length."""
        if not self.rectangular:
            raise ValueError("these targets differ in number per image; use rows or pairs()")
        return np.array(self.rows, dtype=np.int64)

    def first(self) -> np.ndarray:
        """The first class of each image, (N,) int64 (the one the quality metrics score)."""
        return np.array([row[0] for row in self.rows], dtype=np.int64)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(image index (P,), class (P,)), both int64, in row order."""
        images = np.repeat(np.arange(len(self.rows)), self.counts)
        classes = np.array([c for row in self.rows for c in row], dtype=np.int64)
        return images, classes

    def split(self, maps: np.ndarray) -> list[np.ndarray]:
        """Maps (P, H, W) in `pairs()` order -> one (T_i, H, W) array per image."""
        return np.split(maps, np.cumsum(self.counts)[:-1])


def _specs(target: TargetSpec) -> list[str | int]:
    if isinstance(target, (list, tuple)):
        if not target:
            raise ValueError(f"{TARGET_HELP}; got an empty list")
        return list(target)
    return [target]


def validate_target(target: TargetSpec, num_classes: int | None = None,
                    has_labels: bool = True) -> TargetSpec:
    """Raise ValueError for a target spec that can never resolve; return it otherwise."""
    for spec in _specs(target):
        _validate_one(spec, num_classes, has_labels)
    return target


def _validate_one(target: str | int, num_classes: int | None, has_labels: bool) -> None:
    if isinstance(target, (bool, np.bool_)):
        raise ValueError(f"{TARGET_HELP}, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if target < 0 or (num_classes is not None and target >= num_classes):
            limit = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
            raise ValueError(f"target={target} is not a class index ({limit})")
        return
    if target == "label":
        if not has_labels:
            raise ValueError('target="label" needs labels; pass labels=... or use '
                             'target="predicted"')
        return
    if target == "predicted":
        return
    match = _TOP_K.match(target) if isinstance(target, str) else None
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"{TARGET_HELP}, got {target!r}")
    k = int(match.group(1))
    if num_classes is not None and k > num_classes:
        raise ValueError(f"target={target!r} asks for {k} classes but the model has "
                         f"{num_classes}")


def resolve_targets(target: TargetSpec, probabilities: np.ndarray,
                    labels: np.ndarray | None = None) -> Targets:
    """The classes per image for a spec already validated against the model (see
    `validate_target`), given this round's probabilities (N, classes) and the labels
    (N,) int (already checked by `check_labels`)."""
    n = probabilities.shape[0]
    order = None
    columns = []
    for spec in _specs(target):
        if isinstance(spec, (int, np.integer)):
            columns.append(np.full((n, 1), int(spec)))
        elif spec == "label":
            columns.append(np.asarray(labels, np.int64)[:, None])
        else:
            if order is None:
                order = np.argsort(-probabilities, axis=1, kind="stable")
            k = 1 if spec == "predicted" else int(_TOP_K.match(spec).group(1))
            columns.append(order[:, :k])
    table = np.concatenate(columns, axis=1)
    return Targets(tuple(tuple(dict.fromkeys(int(c) for c in row)) for row in table))


def check_labels(labels: object, n: int, num_classes: int | None = None) -> np.ndarray:
    """Labels as int64 (N,): class indices, or one-hot rows of `num_classes` columns."""
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[0] == n and array.shape[1] > 1:
        if num_classes is not None and array.shape[1] != num_classes:
            raise ValueError(f"labels are one-hot rows of {array.shape[1]} columns but the "
                             f"model outputs {num_classes} classes; pass one column per "
                             "class, or class indices")
        array = np.argmax(array, axis=1)
    array = array.reshape(-1) if array.ndim == 2 and array.shape[1] == 1 else array
    if array.shape != (n,):
        raise ValueError(f"labels has shape {np.shape(labels)} but there are {n} images; "
                         "pass one class index (or one-hot row) per image")
    if not np.issubdtype(array.dtype, np.number) or np.any(array != np.round(array)):
        raise ValueError("labels must be integer class indices (or one-hot rows)")
    array = array.astype(np.int64)
    if array.min() < 0 or (num_classes is not None and array.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{(num_classes or 1) - 1}, got "
                         f"{array.min()}..{array.max()}")
    return array
