"""What a category's volume should be this hour: its own hour-of-week profile times its trend.

Most categories see a few tickets an hour or fewer, so a raw hour-of-week mean over a few weeks is
mostly noise. Each level borrows from the one above it (hour of week from hour of day, hour of
day from the overall rate) in proportion to how little data it has, and a past incident is
clipped before it teaches the profile that a spike is normal. The trend is the last week against
the average week, bounded, so a growing product is not a permanent incident.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_WEEK = 168
#: Pseudo-observations each level borrows from the coarser one (hours).
SHRINK_HOURS = 3.0
#: Never expect less than this per hour: a category that was silent can still see a ticket.
FLOOR_PER_HOUR = 0.02
TREND_BOUNDS = (0.6, 1.8)
#: Added to both sides of the trend ratio, so a category with a handful of tickets has none.
TREND_PRIOR = 10.0


@dataclass(frozen=True)
class Rhythm:
    """Expected tickets per hour for each hour of the week (0 = Monday 00:00 UTC)."""

    per_hour_of_week: np.ndarray

    def expected(self, hour_of_week: int) -> float:
        return float(self.per_hour_of_week[hour_of_week % HOURS_PER_WEEK])


def fit(counts: np.ndarray, first_hour_of_week: int) -> Rhythm:
    """The rhythm of hourly ``counts`` (oldest first, the first at ``first_hour_of_week``)."""
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return Rhythm(np.full(HOURS_PER_WEEK, FLOOR_PER_HOUR))
    profile = _profile(counts, first_hour_of_week)
    # Clip the hours far above the first estimate (past incidents) and estimate again.
    how = (np.arange(counts.size) + first_hour_of_week) % HOURS_PER_WEEK
    cap = 2.0 * profile[how] + 4.0
    clipped = np.minimum(counts, cap)
    profile = _profile(clipped, first_hour_of_week)
    return Rhythm(np.maximum(profile * _trend(clipped, profile, how), FLOOR_PER_HOUR))


def _profile(counts: np.ndarray, first_hour_of_week: int) -> np.ndarray:
    how = (np.arange(counts.size) + first_hour_of_week) % HOURS_PER_WEEK
    overall = counts.mean()
    hod = how % 24
    day_sum = np.bincount(hod, weights=counts, minlength=24)
    day_n = np.bincount(hod, minlength=24)
    per_hour_of_day = (day_sum + SHRINK_HOURS * overall) / (day_n + SHRINK_HOURS)
    week_sum = np.bincount(how, weights=counts, minlength=HOURS_PER_WEEK)
    week_n = np.bincount(how, minlength=HOURS_PER_WEEK)
    prior = per_hour_of_day[np.arange(HOURS_PER_WEEK) % 24]
    # Weekends differ from weekdays: the day's own level, shrunk, scales the hour-of-day prior.
    days = np.arange(HOURS_PER_WEEK) // 24
    day_of_week_sum = np.bincount(how // 24, weights=counts, minlength=7)
    day_of_week_n = np.bincount(how // 24, minlength=7)
    day_rate = (day_of_week_sum + 24 * SHRINK_HOURS * overall) / (day_of_week_n + 24 * SHRINK_HOURS)
    prior = prior * (day_rate[days] / max(overall, 1e-9)) if overall > 0 else prior
    return (week_sum + SHRINK_HOURS * prior) / (week_n + SHRINK_HOURS)


def _trend(counts: np.ndarray, profile: np.ndarray, how: np.ndarray) -> float:
    """The last week's volume against what the profile says it should have been."""
    if counts.size < 2 * HOURS_PER_WEEK:
        return 1.0
    recent = counts[-HOURS_PER_WEEK:].sum()
    predicted = profile[how[-HOURS_PER_WEEK:]].sum()
    low, high = TREND_BOUNDS
    return float(np.clip((recent + TREND_PRIOR) / (predicted + TREND_PRIOR), low, high))


#: Hours before the tested window whose volume sets today's level.
LEVEL_HOURS = 12
#: Tickets of prior on both sides of today's level: a quiet category keeps its profile.
LEVEL_PRIOR = 15.0
LEVEL_BOUNDS = (0.75, 1.5)


def level(observed: float, expected: float) -> float:
    """Today's level against the profile, from the hours just before the tested window: some days
    are simply busier (a newsletter went out), and a busy day is not an incident. Bounded, so
    a slow incident cannot teach the test to expect it."""
    low, high = LEVEL_BOUNDS
    return float(np.clip((observed + LEVEL_PRIOR) / (expected + LEVEL_PRIOR), low, high))


def expected_recent(series: np.ndarray, first_hour_of_week: int, lookback: int, span: int) -> list[float]:
    """Expected tickets for the last ``span`` hours of ``series`` (hourly counts, oldest first, the
    last one the current hour), learned from the hours before the last ``lookback + 1`` (the
    windows under test never teach their own expectation), times today's level."""
    window_start = series.size - 1 - lookback
    fitted = fit(series[:max(window_start, 0)], first_hour_of_week)

    def at(index: int) -> float:
        return fitted.expected(first_hour_of_week + index)

    before = range(max(0, window_start - LEVEL_HOURS), max(window_start, 0))
    today = level(float(sum(series[i] for i in before)), sum(at(i) for i in before))
    return [at(i) * today for i in range(series.size - span, series.size)]
