"""Which class each map explains.

A target is one of:
  "predicted"  the model's top-1 class for each image (the default);
  "label"      the true label (needs `labels`);
  an int       a fixed class index for every image;
  "topK"       the K most probable classes, one map each (e.g. "top3"), as Picasso did.
Resolved to an int array of shape (N, T): T maps per image.
"""

import re

import numpy as np

_TOP_K = re.compile(r"^top(\d+)$")
TARGET_HELP = ('target must be "predicted", "label", a class index (int) or "topK" '
               '(e.g. "top3")')


def validate_target(target, num_classes=None, has_labels=True):
    """Raise ValueError for a target spec that can never resolve; return it otherwise."""
    if isinstance(target, (bool, np.bool_)):
        raise ValueError(f"{TARGET_HELP}, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if target < 0 or (num_classes is not None and target >= num_classes):
            limit = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
            raise ValueError(f"target={target} is not a class index ({limit})")
        return target
    if target == "label":
        if not has_labels:
            raise ValueError('target="label" needs labels; pass labels=... or use '
                             'target="predicted"')
        return target
    if target == "predicted":
        return target
    match = _TOP_K.match(target) if isinstance(target, str) else None
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"{TARGET_HELP}, got {target!r}")
    k = int(match.group(1))
    if num_classes is not None and k > num_classes:
        raise ValueError(f"target={target!r} asks for {k} classes but the model has "
                         f"{num_classes}")
    return target


def resolve_targets(target, probabilities, labels=None):
    """Class indices (N, T) for `target` given the probabilities (N, classes)."""
    n, num_classes = probabilities.shape
    validate_target(target, num_classes, has_labels=labels is not None)
    if isinstance(target, (int, np.integer)):
        return np.full((n, 1), int(target), dtype=np.int64)
    if target == "predicted":
        return np.argmax(probabilities, axis=1)[:, None].astype(np.int64)
    if target == "label":
        return check_labels(labels, n, num_classes)[:, None]
    k = int(_TOP_K.match(target).group(1))
    return np.argsort(-probabilities, axis=1, kind="stable")[:, :k].astype(np.int64)


def check_labels(labels, n, num_classes=None):
    """Labels as int64 (N,): class indices, or one-hot rows."""
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[0] == n and array.shape[1] > 1:
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
