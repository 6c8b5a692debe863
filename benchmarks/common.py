"""Timing helpers shared by the benchmark scripts: best-of-k wall time."""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_time(fn, repeats=3):
    """Minimum wall time of `fn()` over `repeats` runs, after one warm-up run."""
    fn()
    return min(_timed(fn) for _ in range(repeats))


def ratio(fn, limit_fn, repeats=3):
    """min time of fn / min time of limit_fn, the two runs interleaved (noisy machines).

    Both are warmed up first; interleaving exposes them to the same background load.
    """
    fn(), limit_fn()
    times, limits = [], []
    for _ in range(repeats):
        times.append(_timed(fn))
        limits.append(_timed(limit_fn))
    return min(times) / min(limits)


def report(name, value, limit=None, unit="x"):
    """Print one figure, with its target when there is one."""
    target = f"  (target <= {limit}{unit})" if limit is not None else ""
    verdict = "" if limit is None else ("  ok" if value <= limit else "  OVER")
    print(f"{name:<58} {value:8.3f}{unit}{target}{verdict}", flush=True)
