"""Numbers computed from explanation maps (pure NumPy, no TensorFlow).

These helpers turn the maps that :mod:`tensorboard_picasso.methods` return into
scalars that can be checked by a test or printed in a report, e.g. "how much of
what the model looks at lies on the object and how much on the background".
"""

from __future__ import annotations

import numpy as np

__all__ = ["rank_correlation", "shortcut_share", "trapezoid"]


def shortcut_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    r"""Share of each map's positive attribution that falls inside a mask.

    For a map :math:`m` and a mask :math:`M` over the same pixels,

    .. math::

        \mathrm{share}(m, M) = \frac{\sum_{i,j} \max(m_{ij}, 0)\, M_{ij}}
                                    {\sum_{i,j} \max(m_{ij}, 0)}

    i.e. only evidence *for* the target counts (negative values are set to
    0), and the result lies in ``[0, 1]``: 1 means all positive attribution is
    inside the mask, 0 means all of it is outside. With a mask of the object,
    this is the object's share and ``1 - share`` the background's (the
    "shortcut" share when the background carries a spurious cue, such as the
    sky in the tank story).

    Args:
        maps: array of shape ``(N, H, W)`` (one map per image) or
            ``(N, T, H, W)`` (``T`` maps per image, as in
            ``Explanation.maps``). Must be finite.
        masks: array of shape ``(N, H, W)``, boolean or numbers in ``[0, 1]``
            (1 = inside). Fractional values weight pixels. The same mask is
            used for all ``T`` maps of an image.

    Returns:
        float64 array of shape ``(N,)`` for 3-D ``maps`` or ``(N, T)`` for 4-D
        ``maps``. A map with no positive value (all ``<= 0``) has no share to
        speak of: its entry is ``NaN`` (use ``np.nanmean`` to average).

    Raises:
        ValueError: naming ``maps`` or ``masks`` when a shape does not match,
            ``maps`` is not finite or ``masks`` has values outside ``[0, 1]``.

    Example:

    >>> import numpy as np
    >>> maps = np.array([[[0.0, 3.0], [1.0, -5.0]]])
    >>> masks = np.array([[[False, True], [False, False]]])
    >>> shortcut_share(maps, masks)
    array([0.75])
    """
    maps = np.asarray(maps)
    masks = np.asarray(masks)
    if maps.ndim not in (3, 4):
        raise ValueError(
            "maps must have shape (N, H, W) or (N, T, H, W), got shape %s"
            % (maps.shape,))
    if masks.ndim != 3:
        raise ValueError(
            "masks must have shape (N, H, W), got shape %s" % (masks.shape,))
    expected = (maps.shape[0],) + maps.shape[-2:]
    if masks.shape != expected:
        raise ValueError(
            "masks has shape %s but maps of shape %s need masks of shape %s "
            "(one H x W mask per image)" % (masks.shape, maps.shape, expected))
    if not (np.issubdtype(maps.dtype, np.number)
            or maps.dtype == np.bool_):
        raise ValueError("maps must be numeric, got dtype %s" % maps.dtype)
    maps = maps.astype(np.float64)
    if not np.all(np.isfinite(maps)):
        raise ValueError("maps must be finite (found NaN or inf)")
    if masks.dtype == np.bool_:
        weights = masks.astype(np.float64)
    else:
        try:
            weights = masks.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "masks must be boolean or numbers in [0, 1], got dtype %s"
                % masks.dtype) from None
        if weights.size and not (np.all(weights >= 0) and np.all(weights <= 1)):
            raise ValueError(
                "masks must be boolean or numbers in [0, 1] (found values "
                "outside [0, 1])")
    if maps.ndim == 4:
        weights = weights[:, None, :, :]
    positive = np.maximum(maps, 0.0)
    total = positive.sum(axis=(-2, -1))
    inside = (positive * weights).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, inside / np.where(total > 0, total, 1.0),
                         np.nan)
    return share


def _average_ranks(values):
    """Ranks 0..n-1 of each row of `values` (M, n), ties sharing their mean rank."""
    order = np.argsort(values, axis=1, kind="stable")
    ranks = np.empty(values.shape, dtype=np.float64)
    for row, (v, o) in enumerate(zip(values, order)):
        sorted_v = v[o]
        starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
        ends = np.r_[starts[1:], len(v)]
        mean_rank = np.repeat((starts + ends - 1) / 2.0, ends - starts)
        ranks[row, o] = mean_rank
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Spearman rank correlation of each pair of maps, with ties at their mean rank.

    .. math::

        \rho(a, b) = \mathrm{corr}(\mathrm{rank}(a), \mathrm{rank}(b))

    over the pixels of each map: 1 = same ordering of pixels, -1 = reversed. A
    constant map has no ordering: its entry is ``NaN``.

    Args:
        a, b: maps of one shape ``(N, H, W)`` or ``(N, T, H, W)``.

    Returns:
        float64 array of shape ``a.shape[:-2]``.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim < 3:
        raise ValueError(f"maps to correlate must share one shape (N, [T,] H, W), got "
                         f"{a.shape} and {b.shape}")
    lead = a.shape[:-2]
    ra = _average_ranks(a.reshape(-1, a.shape[-2] * a.shape[-1]))
    rb = _average_ranks(b.reshape(-1, b.shape[-2] * b.shape[-1]))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    norm = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(norm > 0, (ra * rb).sum(axis=1) / np.where(norm > 0, norm, 1), np.nan)
    return rho.reshape(lead)


def trapezoid(curves: np.ndarray, dx: float) -> np.ndarray:
    r"""Area under each row of `curves` (M, K + 1) sampled every `dx`, by the trapezoid
    rule: :math:`dx \, (\sum_k y_k - (y_0 + y_K) / 2)`. Returns float64 (M,)."""
    y = np.asarray(curves, np.float64)
    return dx * (y.sum(axis=1) - (y[:, 0] + y[:, -1]) / 2)
