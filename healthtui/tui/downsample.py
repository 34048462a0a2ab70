"""Downsampling series for drawing: a year of hourly points becomes a few hundred, spikes kept."""

from __future__ import annotations

from collections.abc import Sequence


def min_max(
    xs: Sequence[float], ys: Sequence[float], buckets: int
) -> tuple[list[float], list[float]]:
    """Keep each bucket's lowest and highest point (in order), so no spike disappears.

    Returns at most `2 * buckets` points; shorter series come back unchanged.
    """
    n = len(xs)
    if buckets <= 0 or n <= 2 * buckets:
        return list(xs), list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    size = n / buckets
    for b in range(buckets):
        lo, hi = int(b * size), int((b + 1) * size)
        if hi <= lo:
            continue
        i_min = min(range(lo, hi), key=ys.__getitem__)
        i_max = max(range(lo, hi), key=ys.__getitem__)
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    if out_x[-1] != xs[-1]:
        out_x.append(xs[-1])
        out_y.append(ys[-1])
    return out_x, out_y


def bucket_last(values: Sequence[float], buckets: int) -> list[float]:
    """Sparkline data: `buckets` values, each the last value of its slice of the series."""
    n = len(values)
    if buckets <= 0 or n <= buckets:
        return list(values)
    size = n / buckets
    return [values[min(int((b + 1) * size), n) - 1] for b in range(buckets)]


def bucket_max(values: Sequence[float], buckets: int) -> list[float]:
    """Sparkline bars: `buckets` values, each the largest of its slice (a spike stays visible)."""
    n = len(values)
    if buckets <= 0 or n <= buckets:
        return list(values)
    size = n / buckets
    return [
        max(values[int(b * size) : max(int((b + 1) * size), int(b * size) + 1)])
        for b in range(buckets)
    ]


def stretch(values: Sequence[float], width: int) -> list[float]:
    """Exactly `width` values: fewer are widened (each repeated over its share), more are
    bucketed keeping each slice's largest, so a short series still spans the whole sparkline."""
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if n >= width:
        return bucket_max(values, width)
    return [values[min(i * n // width, n - 1)] for i in range(width)]
