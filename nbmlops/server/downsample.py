"""Downsampling a metric series for a chart without hiding its extremes.

LTTB (largest triangle three buckets, Steinarsson 2013) keeps the visual shape of a series, but
like any sampler it may drop a one-step spike. So every bucket keeps three points: its LTTB pick,
its minimum and its maximum. A spike, a dip, an inf or a NaN anywhere in the series survives.

Bound: for `n` points and `max_points >= 5`, the result has `n` points when `n <= max_points`,
else at most `2 + 3 * ((max_points - 2) // 3) <= max_points` points (first, last, three per
bucket; fewer when a bucket's pick, min and max coincide).

Non-finite values: -inf is a bucket's minimum and +inf its maximum, as numbers would be; in a
bucket holding a NaN, the first NaN takes the LTTB pick's place (a NaN is a divergence to see,
not shape to draw), and the triangles are computed from finite values only.
"""

from __future__ import annotations

import numpy as np

from nbmlops.errors import InvalidInputError

MIN_POINTS = 5


def downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most `max_points` points of (x, y), in x order, keeping shape and extremes.

    >>> keep = downsample(steps, values, 1000)
    >>> steps[keep], values[keep]
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < MIN_POINTS:
        raise InvalidInputError(f"max_points must be an integer of at least {MIN_POINTS}, got {max_points!r}")
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise InvalidInputError("x and y must be 1-D arrays of the same length")
    n = len(ys)
    if n <= max_points:
        return np.argsort(xs, kind="stable")
    order = None
    if np.any(np.diff(xs) < 0):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    keep = _select(xs, ys, (int(max_points) - 2) // 3)
    return keep if order is None else order[keep]


def _select(xs: np.ndarray, ys: np.ndarray, buckets: int) -> np.ndarray:
    """First, last, and per bucket of the interior the LTTB pick, the min and the max."""
    n = len(ys)
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.int64)  # bucket b is [edges[b], edges[b+1])
    starts, sizes = edges[:-1], np.diff(edges)  # every size >= 3 since n > 3 * buckets + 2
    inner = slice(1, n - 1)
    finite = np.isfinite(ys)
    nan = np.isnan(ys)
    bucket_of = np.repeat(np.arange(buckets), sizes)
    lows = _first_per_bucket(np.where(nan, np.inf, ys)[inner], bucket_of, starts, np.minimum)
    highs = _first_per_bucket(np.where(nan, -np.inf, ys)[inner], bucket_of, starts, np.maximum)

    # Anchors for the triangles: each bucket's mean position and mean finite value.
    offsets = starts - 1
    mean_x = np.add.reduceat(xs[inner], offsets) / sizes
    finite_count = np.add.reduceat(finite[inner].astype(np.int64), offsets)
    finite_sum = np.add.reduceat(np.where(finite, ys, 0.0)[inner], offsets)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_y = finite_sum / finite_count  # NaN where a bucket has no finite value

    picks = np.empty(buckets, dtype=np.int64)
    ax = xs[0]
    ay = ys[0] if finite[0] else (ys[finite][0] if finite.any() else 0.0)
    for b in range(buckets):
        lo, hi = int(edges[b]), int(edges[b + 1])
        if b + 1 < buckets:
            cx, cy = mean_x[b + 1], mean_y[b + 1]
        else:
            cx, cy = xs[n - 1], ys[n - 1]
        if not np.isfinite(cy):
            cy = ay
        seg_x, seg_y = xs[lo:hi], ys[lo:hi]
        with np.errstate(invalid="ignore", over="ignore"):
            area = np.abs((ax - cx) * (seg_y - ay) - (ax - seg_x) * (cy - ay))
        area[~np.isfinite(area)] = -1.0
        j = lo + int(np.argmax(area))
        if finite[j]:
            ax, ay = xs[j], ys[j]
        picks[b] = j

    nan_at = np.flatnonzero(nan[inner])
    if len(nan_at):
        nan_buckets, first = np.unique(bucket_of[nan_at], return_index=True)
        picks[nan_buckets] = nan_at[first] + 1
    return np.unique(np.concatenate(([0], picks, lows, highs, [n - 1])))


def _first_per_bucket(values: np.ndarray, bucket_of: np.ndarray, starts: np.ndarray,
                      ufunc: np.ufunc) -> np.ndarray:
    """Index (in the full series) of the first point of each bucket equal to its min or max."""
    best = ufunc.reduceat(values, starts - 1)
    hits = np.flatnonzero(values == best[bucket_of])
    _, first = np.unique(bucket_of[hits], return_index=True)
    return hits[first] + 1
