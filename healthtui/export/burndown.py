"""Burn-down estimates: when a metric reaches its target if it keeps the recent trend.

The rate is the least-squares slope of the metric over the window's points (value per day), so one
noisy commit does not swing the estimate. The window ends at the newest point, never at the wall
clock, so the same database always gives the same estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from store.readmodels import Point

DAY = 86_400
WINDOW_DAYS = 14

MET = "met"
CONVERGING = "converging"
NOT_CONVERGING = "not_converging"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Burndown:
    status: str  # MET, CONVERGING, NOT_CONVERGING or UNKNOWN (too little history)
    days: float | None = None  # CONVERGING: days from the newest point until the target
    rate_per_day: float | None = None  # the fitted slope; None when UNKNOWN
    window_days: int = WINDOW_DAYS
    points: int = 0  # how many points the window held


def slope_per_day(points: Sequence[Point]) -> float | None:
    """Least-squares slope of value over time, in units per day; None without two distinct times."""
    if len(points) < 2:
        return None
    xs = [p.at / DAY for p in points]
    ys = [p.value for p in points]
    mx = sum(xs) / len(xs)
    my = sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def is_met(value: float, target: float, *, lower_is_better: bool) -> bool:
    return value <= target if lower_is_better else value >= target


def estimate(
    series: Sequence[Point],
    *,
    target: float,
    lower_is_better: bool,
    window_days: int = WINDOW_DAYS,
) -> Burndown:
    """How many days until `target` at the rate of the last `window_days` of `series` (oldest first)."""
    if not series:
        return Burndown(UNKNOWN, window_days=window_days)
    newest = series[-1]
    if is_met(newest.value, target, lower_is_better=lower_is_better):
        return Burndown(MET, days=0.0, window_days=window_days, points=len(series))
    start = newest.at - window_days * DAY
    window = [p for p in series if p.at >= start]
    rate = slope_per_day(window)
    if rate is None:
        return Burndown(UNKNOWN, window_days=window_days, points=len(window))
    gap = target - newest.value  # negative when the value must come down
    toward = rate < 0 if lower_is_better else rate > 0
    if not toward or abs(rate) < 1e-12:
        return Burndown(
            NOT_CONVERGING, rate_per_day=rate, window_days=window_days, points=len(window)
        )
    return Burndown(
        CONVERGING,
        days=gap / rate,
        rate_per_day=rate,
        window_days=window_days,
        points=len(window),
    )


def describe(b: Burndown, *, target_text: str) -> str:
    """One phrase: "at the last 14 days' rate: zero in ~9 days", "not converging", …"""
    if b.status == MET:
        return "target met"
    if b.status == UNKNOWN:
        return "too little history for a trend"
    rate = f"at the last {b.window_days} days' rate"
    if b.status == NOT_CONVERGING:
        return f"{rate}: not converging"
    assert b.days is not None
    days = math.ceil(b.days - 1e-9)
    when = "under a day" if days <= 1 and b.days < 1 else f"~{days} day{'s' if days != 1 else ''}"
    return f"{rate}: {target_text} in {when}"
