"""Simulated ticket arrivals with planted incidents, to measure spike detection (``bench/spikes.py``).

A tenant has categories of very different sizes (one or two busy ones, a long tail seeing a
ticket a day), all following the office rhythm of :class:`core.demo.simulate.HistorySimulator`
(quiet nights, a morning peak, light weekends), with a slow trend and day-to-day variation beyond
chance. Into the last week go planted incidents: a chosen category, a start (any hour, nights and
weekends too), a size of 2x to 5x what was expected, a duration, and for some a deploy marker a
few minutes to an hour before. A quiet history plants none. The same seed gives the same history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.demo.simulate import _hour_weights

HOURS_PER_WEEK = 168
#: Tickets per hour at the busiest hour of a weekday, per category, busiest first.
PEAK_RATES = (14.0, 10.0, 6.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05)


@dataclass(frozen=True)
class Planted:
    category: int
    start_minute: int
    minutes: int
    multiplier: float
    extra: int  # tickets added over what the rhythm gave
    deploy_minute: int | None  # the deploy marker placed before it, if any


@dataclass
class History:
    weeks: int
    arrivals: list[np.ndarray]  # per category: minutes since the start, sorted
    peak_rates: tuple[float, ...]
    incidents: list[Planted] = field(default_factory=list)
    deploys: list[int] = field(default_factory=list)  # minutes, sorted

    @property
    def hours(self) -> int:
        return self.weeks * HOURS_PER_WEEK


def rhythm_shape() -> np.ndarray:
    """Relative volume for each hour of the week (Monday 00:00 first), peaking at 1.0."""
    hours = np.array(_hour_weights())
    days = np.array([1.1, 1.0, 1.0, 1.0, 0.95, 0.35, 0.3])
    shape = (days[:, None] * hours[None, :]).ravel()
    return shape / shape.max()


def simulate(seed: int, weeks: int = 7, incidents: int = 3, deploy_share: float = 0.4, busy: bool = False) -> History:
    """A history of ``weeks`` weeks (starting on a Monday) with ``incidents`` planted in the last week;
    ``busy``: in the two busiest categories during weekday office hours (10 or more tickets an hour)."""
    rng = np.random.default_rng(seed)
    hours = weeks * HOURS_PER_WEEK
    shape = np.tile(rhythm_shape(), weeks)
    trend = np.linspace(1.0, 1.0 + rng.uniform(-0.1, 0.25), hours)
    day_noise = np.repeat(rng.gamma(25.0, 1 / 25.0, size=(len(PEAK_RATES), weeks * 7)), 24, axis=1)
    rates = np.array(PEAK_RATES)[:, None] * shape[None, :] * trend[None, :] * day_noise
    per_hour = rng.poisson(rates)
    arrivals = [_spread(rng, counts) for counts in per_hour]
    history = History(weeks, arrivals, PEAK_RATES)
    deploys = sorted(int(m) for m in rng.integers(0, hours * 60, size=weeks * 3))
    for _ in range(incidents):
        history.incidents.append(_plant(rng, history, rates, deploy_share, deploys, busy))
    history.deploys = sorted(set(deploys))
    history.arrivals = [np.sort(a) for a in history.arrivals]
    return history


def _spread(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    hours = np.repeat(np.arange(counts.size), counts)
    return hours * 60 + rng.integers(0, 60, size=hours.size)


def _plant(rng: np.random.Generator, history: History, rates: np.ndarray, deploy_share: float,
           deploys: list[int], busy: bool) -> Planted:
    last_week = (history.weeks - 1) * HOURS_PER_WEEK * 60
    minutes = int(rng.choice([60, 90, 120, 180, 240, 360]))
    if busy:
        category = int(rng.integers(0, 2))
        start = last_week + int(rng.integers(0, 5)) * 1440 + int(rng.integers(9 * 60, 11 * 60 + 30))
    else:
        category = int(rng.integers(0, 8))  # the categories that see at least a ticket an hour at peak
        start = int(rng.integers(last_week, history.hours * 60 - minutes - 180))
    multiplier = float(rng.uniform(2.0, 5.0))
    added = []
    for minute in range(start, start + minutes):
        rate = rates[category, minute // 60] / 60 * (multiplier - 1)
        added.extend([minute] * int(rng.poisson(rate)))
    history.arrivals[category] = np.concatenate([history.arrivals[category], np.array(added, dtype=int)])
    deploy = None
    if rng.uniform() < deploy_share:
        deploy = start - int(rng.integers(5, 60))
        deploys.append(deploy)
    return Planted(category, start, minutes, multiplier, len(added), deploy)
