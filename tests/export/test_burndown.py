"""Burn-down arithmetic on constructed series: converging, flat, rising, met, windowed."""

from __future__ import annotations

import pytest

from healthtui.export import burndown
from healthtui.export.burndown import CONVERGING, MET, NOT_CONVERGING, UNKNOWN, estimate
from store.readmodels import Point

DAY = burndown.DAY
T0 = 1_790_000_000


def series(values, *, step=DAY, start=T0):
    return [
        Point(sha=f"{i:040x}", seq=i, at=start + i * step, value=v) for i, v in enumerate(values)
    ]


def test_converging_linear_series_gives_exact_days():
    # 30, 28, ..., 12: two a day, 12 left
    b = estimate(series([30 - 2 * d for d in range(10)]), target=0, lower_is_better=True)
    assert b.status == CONVERGING
    assert b.rate_per_day == pytest.approx(-2.0)
    assert b.days == pytest.approx(6.0)
    assert burndown.describe(b, target_text="zero") == "at the last 14 days' rate: zero in ~6 days"


def test_days_round_up_to_whole_days():
    # 9 left at 2 a day: 4.5 days, said as ~5
    b = estimate(series([11, 9]), target=0, lower_is_better=True)
    assert b.days == pytest.approx(4.5)
    assert burndown.describe(b, target_text="zero").endswith("zero in ~5 days")


def test_flat_series_is_not_converging():
    b = estimate(series([7, 7, 7, 7]), target=0, lower_is_better=True)
    assert b.status == NOT_CONVERGING
    assert b.rate_per_day == 0
    assert burndown.describe(b, target_text="zero") == "at the last 14 days' rate: not converging"


def test_rising_series_is_not_converging():
    b = estimate(series([3, 4, 6, 9]), target=0, lower_is_better=True)
    assert b.status == NOT_CONVERGING
    assert b.rate_per_day > 0


def test_higher_is_better_converges_upwards():
    # pass rate 0.50 -> 0.68 at 0.02 a day, target 0.90: 11 more days
    b = estimate(series([0.5 + 0.02 * d for d in range(10)]), target=0.9, lower_is_better=False)
    assert b.status == CONVERGING
    assert b.days == pytest.approx(11.0)
    falling = estimate(series([0.7, 0.6, 0.5]), target=0.9, lower_is_better=False)
    assert falling.status == NOT_CONVERGING


def test_met_and_unknown():
    assert estimate(series([5, 0]), target=0, lower_is_better=True).status == MET
    assert estimate(series([5]), target=0, lower_is_better=True).status == UNKNOWN
    assert estimate([], target=0, lower_is_better=True).status == UNKNOWN
    # two points at the same instant give no slope
    same = [Point("a" * 40, 0, T0, 5), Point("b" * 40, 1, T0, 4)]
    assert estimate(same, target=0, lower_is_better=True).status == UNKNOWN


def test_only_the_last_fourteen_days_count():
    # a long rise long ago, then 14+ days of falling by one a day
    old = [100 + d for d in range(30)]
    recent = [40 - d for d in range(20)]
    b = estimate(series(old + recent), target=0, lower_is_better=True)
    assert b.status == CONVERGING
    assert b.points == 15  # the newest point and the 14 days before it
    assert b.rate_per_day == pytest.approx(-1.0)
    assert b.days == pytest.approx(21.0)


def test_least_squares_ignores_one_noisy_commit_direction():
    # falls by one a day with a one-day spike in the middle: still converging
    values = [20 - d for d in range(11)]
    values[5] += 6
    b = estimate(series(values), target=0, lower_is_better=True)
    assert b.status == CONVERGING
    assert -1.2 < b.rate_per_day < -0.8


def test_under_a_day():
    b = estimate(series([10, 1], step=DAY), target=0, lower_is_better=True)
    assert b.days == pytest.approx(1 / 9)
    assert burndown.describe(b, target_text="zero").endswith("zero in under a day")
