"""Is a category seeing more tickets than its rhythm says, and what does that do to its incident?

The test is a tail probability under a negative binomial around the expected count: Poisson for
the few-tickets-an-hour categories most tenants have (a normal approximation would cry wolf at
3 tickets where 1 was expected), with a little extra variance for the busy ones whose days vary
more than chance. It is asked of windows ending now (the current hour so far, plus one or two
hours before it), so a sharp rise is caught within minutes and a slow one within hours. Besides
being improbable, a spike must add :data:`MIN_EXCESS` tickets and be :data:`MIN_RATIO` times the
expectation: "3 tickets at night where 1 was expected" is improbable enough to notice only once
in a while, and nobody should be woken for it.

The lifecycle (:func:`step`) is pure, so the benchmark runs the very code the scan runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from scipy.special import betainc

from core.insights import rhythm

#: Opening threshold on the tail probability: many categories, tested every minute, so small. Tuned on
#: bench/spikes.py (3e-5: about 0.5 false alarm per tenant-week; 1e-4 crossed one).
ALPHA = 3e-5
#: A window that stays this improbable keeps an open incident alive.
KEEP_ALPHA = 0.01
MIN_EXCESS = 6.0
MIN_RATIO = 1.8
#: Windows longer than this many minutes catch slow incidents (a few tickets an hour above a quiet
#: night, for hours); over so many hours a busy day also adds up, so they must show a larger ratio.
SHORT_WINDOW_MINUTES = 180
LONG_MIN_RATIO = 1.8
LONG_MIN_EXCESS = 12.0
#: The negative binomial's size: variance = mean + mean^2 / DISPERSION.
DISPERSION = 30.0
#: Hours before the current one that windows may reach back: the short windows, and the long ones.
SHORT_LOOKBACK_HOURS = 2
LOOKBACK_HOURS = 5
#: An incident ends once no window has been above expectation for this long.
QUIET_TO_END = timedelta(hours=2)
#: It "grew" when its tickets reached this multiple of the count last published.
GROWTH = 1.5
GROWTH_MIN = 10


@dataclass(frozen=True)
class Window:
    start: datetime
    observed: int
    expected: float
    minutes: float = 60.0


@dataclass(frozen=True)
class Assessment:
    window: Window
    p_value: float
    hot: bool  # enough to open an incident
    warm: bool  # enough to keep one open


def tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X around ``expected`` tickets."""
    if observed <= 0:
        return 1.0
    # The negative binomial's survival function, P(X > k) = I_{1-p}(k + 1, n) with p = n / (n + mean),
    # through the regularized incomplete beta directly: scipy.stats' wrapper costs 20x more per call.
    size = DISPERSION
    return float(betainc(observed, size, max(expected, 1e-9) / (size + max(expected, 1e-9))))


#: Windows ending now, in minutes: short ones catch a sharp rise within minutes, long ones a slow
#: rise within hours. Their expectation is learned from the hours before the last three.
WINDOW_MINUTES = (15, 30, 60, 120, 180)
#: Windows for the slow incident: a few tickets an hour over a quiet night, for hours, which no
#: three-hour window finds improbable enough. Their expectation is learned from the hours before the
#: last six, so today's level (:func:`core.insights.rhythm.level`) never includes the incident.
LONG_WINDOW_MINUTES = (360,)


Expectations = list[tuple[Sequence[int], list[float]]]


def expectations(series: np.ndarray, first_hour_of_week: int,
                 long_expected: Sequence[float] | None = None) -> Expectations:
    """The expected tickets per hour for each set of windows, from the category's hourly counts
    (oldest first, the last one the current hour). Changes only when the hour does.

    ``long_expected`` is the long lookback's expectation over a longer span, if the caller already
    has it (``rhythm.expected_recent(series, ..., LOOKBACK_HOURS, span)``): its last hours are the
    same numbers, so the long windows reuse them instead of fitting the rhythm a second time."""
    short = rhythm.expected_recent(series, first_hour_of_week, SHORT_LOOKBACK_HOURS, SHORT_LOOKBACK_HOURS + 1)
    if long_expected is not None and len(long_expected) >= LOOKBACK_HOURS + 1:
        long = list(long_expected[-(LOOKBACK_HOURS + 1):])
    else:
        long = rhythm.expected_recent(series, first_hour_of_week, LOOKBACK_HOURS, LOOKBACK_HOURS + 1)
    return [(WINDOW_MINUTES, short), (LONG_WINDOW_MINUTES, long)]


def windows_now(now: datetime, ages: Sequence[float], expected: Expectations, minute: float) -> list[Window]:
    """Every window ending ``now`` (the current hour ``minute`` minutes old), from the recent tickets'
    ages in minutes."""
    return [w for lengths, per_hour in expected for w in recent_windows(now, ages, per_hour, minute, lengths)]


def recent_windows(now: datetime, ages: Sequence[float], expected: list[float], minute: float,
                   lengths: Sequence[int] = WINDOW_MINUTES) -> list[Window]:
    """Windows of ``lengths`` minutes ending ``now``, from the tickets' ages (minutes before now) and
    the expected count per hour for the hours ending with the current one, ``minute`` minutes old."""
    ordered = np.sort(np.asarray(ages, dtype=float))
    reach = (len(expected) - 1) * 60 + minute
    found, seen = [], set()
    for length in lengths:
        span = min(float(length), reach)
        if span in seen or span <= 0:
            continue
        seen.add(span)
        observed = int(np.searchsorted(ordered, span, side="left"))
        found.append(Window(now - timedelta(minutes=span), observed, _expected_over(expected, minute, span), span))
    return found


def _expected_over(expected: list[float], minute: float, span: float) -> float:
    """Expected tickets in the last ``span`` minutes: each hour's expectation spread evenly over it."""
    total, left = 0.0, span
    for index, per_hour in enumerate(reversed(expected)):
        available = minute if index == 0 else 60.0
        used = min(available, left)
        total += per_hour * used / 60
        left -= used
        if left <= 0:
            break
    return total


def assess(candidates: list[Window]) -> Assessment:
    """The most improbable window that is a spike (else the most improbable one), and whether an
    open incident goes on: a window of the last three hours still above expectation. The long
    windows never keep one alive, or a burst would hold its incident open for six hours after."""
    scored = sorted(((tail(w.observed, w.expected), w) for w in candidates), key=lambda pair: pair[0])
    spiking = [(p, w) for p, w in scored if is_hot(w.observed, w.expected, p, w.minutes)]
    p_value, window = (spiking or scored)[0]
    warm = any(p < KEEP_ALPHA and w.observed > w.expected for p, w in scored if w.minutes <= SHORT_WINDOW_MINUTES)
    return Assessment(window, p_value, bool(spiking), warm)


def is_hot(observed: int, expected: float, p_value: float, minutes: float = 60.0) -> bool:
    """Enough to open an incident: improbable, and big enough to matter (more so over long windows)."""
    short = minutes <= SHORT_WINDOW_MINUTES
    ratio, least = (MIN_RATIO, MIN_EXCESS) if short else (LONG_MIN_RATIO, LONG_MIN_EXCESS)
    return p_value < ALPHA and observed - expected >= least and observed >= ratio * expected


def _first(count_passes, start: int = 0) -> int:
    """The smallest count from ``start`` on for which ``count_passes`` holds (it must hold from some
    count on, and keep holding above it): doubling, then halving the gap."""
    high = max(start, 1)
    while not count_passes(high):
        high *= 2
    low = start - 1  # fails (or lies below the range)
    while high - low > 1:
        middle = (low + high) // 2
        if count_passes(middle):
            high = middle
        else:
            low = middle
    return high


def opening_count(expected: float) -> int:
    """The fewest tickets in one window of ``expected`` that open an incident: the line a chart
    draws so that a count above it is what the scan alerts on."""
    return _first(lambda k: is_hot(k, expected, tail(k, expected)), start=1)


def usual_range(expected: float) -> tuple[int, int]:
    """The counts a window of ``expected`` tickets sees but for a 1-in-:data:`KEEP_ALPHA` chance on
    either side, under the test's own distribution: above the upper end a window is "warm" (enough
    to keep an incident open), below the lower end unusually quiet."""
    upper = _first(lambda k: tail(k, expected) < KEEP_ALPHA, start=1) - 1
    lower = _first(lambda k: 1.0 - tail(k + 1, expected) >= KEEP_ALPHA)  # P(X <= k)
    return lower, upper


def incident_id(tenant: str, kind: str, category: str, started_at: datetime) -> str:
    """Stable for the incident's whole life: the same tenant, category and start hour."""
    raw = f"{tenant}\x1f{kind}\x1f{category}\x1f{started_at.replace(minute=0, second=0, microsecond=0).isoformat()}"
    return "inc_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class OpenIncident:
    incident_id: str
    started_at: datetime
    last_hot_at: datetime
    published_observed: int  # the count in the last change published
    changes: int  # changes published so far: the next one's number


def step(tenant: str, kind: str, category: str, current: OpenIncident | None, assessment: Assessment,
         observed_since_start: int | None, now: datetime) -> tuple[OpenIncident | None, str | None]:
    """The incident's next state and the change to publish (opened, grew, ended or None).

    ``observed_since_start``: the open incident's tickets from its start until now."""
    if current is None:
        if not assessment.hot:
            return None, None
        start = assessment.window.start
        opened = OpenIncident(incident_id(tenant, kind, category, start), start, now,
                              assessment.window.observed, 0)
        return opened, "opened"
    if assessment.warm:
        current = replace(current, last_hot_at=now)
    if now - current.last_hot_at >= QUIET_TO_END:
        return None, "ended"
    seen = observed_since_start or 0
    if seen >= GROWTH * current.published_observed and seen - current.published_observed >= GROWTH_MIN:
        return replace(current, published_observed=seen), "grew"
    return current, None
