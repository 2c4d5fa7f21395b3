"""The spike test on small counts, the tenant's rhythm, and the incident lifecycle as pure code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from core.demo.incidents import rhythm_shape
from core.insights import rhythm, spikes

NOW = datetime(2026, 3, 4, 10, 40, tzinfo=UTC)  # a Wednesday morning
HOUR = NOW.replace(minute=0)


def _assess(counts, expected, fraction=40 / 60):
    """Hourly counts (oldest first, the last the current hour, ``fraction`` of it gone) spread
    evenly over their hours, tested as the scan tests them."""
    minute = fraction * 60
    ages = []
    for back, count in enumerate(reversed(counts)):
        low, high = (0.0, minute) if back == 0 else (minute + (back - 1) * 60, minute + back * 60)
        ages += [low + (high - low) * (i + 0.5) / count for i in range(count)]
    return spikes.assess(spikes.recent_windows(HOUR + timedelta(minutes=minute), ages, expected, minute))


def test_three_tickets_at_night_where_one_was_expected_is_no_alarm():
    """P(X >= 3 | 1 expected) is about 0.08: it happens every few nights in every category. Waking
    someone for it would teach them to ignore the alerts, so a spike needs an excess of several
    tickets as well as a tiny tail probability."""
    assessment = _assess([0, 0, 3], [1.0, 1.0, 1.0], fraction=1.0)
    assert 0.01 < spikes.tail(3, 1.0) < 0.2
    assert not assessment.hot


def test_a_dozen_tickets_where_one_was_expected_is_a_spike_even_at_night():
    assessment = _assess([0, 0, 12], [0.3, 0.3, 0.3])
    assert assessment.hot and assessment.window.start >= HOUR - timedelta(hours=1)
    assert assessment.window.observed == 12


def test_a_busy_category_at_its_usual_volume_is_no_spike():
    assert not _assess([11, 9, 8], [10.0, 10.0, 10.0]).hot


def test_a_busy_category_at_three_times_its_volume_is_a_spike_within_the_hour():
    """The price of at most one false alarm per tenant-week: 3x of 10 an hour is certain only
    after about an hour (at 45 minutes, 17 in the last half hour where 5 were expected, p ~ 1e-4,
    is not yet enough); 4x is caught in under 45 minutes."""
    assert not _assess([10, 9, 25], [10.0, 10.0, 10.0], fraction=0.75).hot
    assert _assess([10, 9, 30], [10.0, 10.0, 10.0], fraction=1.0).hot
    assert _assess([10, 9, 40], [10.0, 10.0, 10.0], fraction=0.75).hot


def test_the_tail_is_poisson_like_for_small_means_and_wider_for_large_ones():
    from scipy.stats import poisson

    assert abs(spikes.tail(3, 1.0) - poisson.sf(2, 1.0)) < 0.01
    assert spikes.tail(150, 100.0) > poisson.sf(149, 100.0)  # days vary more than chance
    assert spikes.tail(0, 5.0) == 1.0


def test_the_rhythm_learns_office_hours_and_weekends_and_ignores_a_past_incident():
    rng = np.random.default_rng(3)
    shape = np.tile(rhythm_shape(), 6)
    counts = rng.poisson(8 * shape).astype(float)
    monday_10 = 10
    counts[2 * 168 + monday_10] += 60  # an incident three weeks ago
    fitted = rhythm.fit(counts, 0)
    weekday_peak, sunday_night = fitted.expected(2 * 24 + 10), fitted.expected(6 * 24 + 3)
    assert 5 < weekday_peak < 11 and sunday_night < 1.5
    assert fitted.expected(monday_10) < 12  # the incident did not teach it 18 an hour


def test_a_rhythm_with_no_history_still_expects_a_little():
    fitted = rhythm.fit(np.zeros(0), 0)
    assert fitted.expected(5) == rhythm.FLOOR_PER_HOUR


def test_the_incident_id_is_deterministic_and_names_the_start_hour():
    a = spikes.incident_id("acme", "intent", "card_lost", HOUR)
    assert a == spikes.incident_id("acme", "intent", "card_lost", HOUR.replace(minute=30))
    assert a != spikes.incident_id("acme", "intent", "card_lost", HOUR + timedelta(hours=1))
    assert a != spikes.incident_id("beta", "intent", "card_lost", HOUR)


def test_lifecycle_opens_grows_and_ends():
    hot = _assess([0, 0, 20], [1.0, 1.0, 1.0])
    state, change = spikes.step("acme", "intent", "x", None, hot, None, NOW)
    assert change == "opened" and state is not None and state.published_observed == 20
    state2, change = spikes.step("acme", "intent", "x", state, hot, 22, NOW + timedelta(minutes=1))
    assert change is None  # not grown enough to say so again
    state3, change = spikes.step("acme", "intent", "x", state2, hot, 45, NOW + timedelta(minutes=30))
    assert change == "grew" and state3 is not None and state3.published_observed == 45
    calm = _assess([1, 1, 1], [1.0, 1.0, 1.0])
    state4, change = spikes.step("acme", "intent", "x", state3, calm, 45, NOW + timedelta(minutes=90))
    assert change is None and state4 is not None  # quiet, but not for long enough yet
    ended, change = spikes.step("acme", "intent", "x", state4, calm, 45, NOW + timedelta(hours=3))
    assert change == "ended" and ended is None


def test_windows_cut_to_the_minute_catch_a_sharp_rise_an_hourly_window_would_dilute():
    """Ten tickets in the last quarter hour of a category expecting 2 an hour: the hour so far
    holds its normal 40 minutes too, but the 15-minute window sees the rise alone."""
    now = HOUR + timedelta(minutes=55)
    ages = [i * 1.4 for i in range(10)] + [20.0, 35.0]
    windows = spikes.recent_windows(now, ages, [2.0, 2.0, 2.0], 55)
    assert [w.start for w in windows][:2] == [now - timedelta(minutes=15), now - timedelta(minutes=30)]
    assert windows[0].observed == 10 and abs(windows[0].expected - 0.5) < 1e-9
    assert abs(windows[-1].expected - 2.0 * (2 + 55 / 60)) < 1e-9  # never beyond the hours it has
    assessment = spikes.assess(windows)
    assert assessment.hot and assessment.window.start == now - timedelta(minutes=15)


def _assess_long(counts, expected, fraction=1.0):
    """As :func:`_assess`, with the long windows too (``expected`` covers every hour of ``counts``)."""
    minute = fraction * 60
    ages = []
    for back, count in enumerate(reversed(counts)):
        low, high = (0.0, minute) if back == 0 else (minute + (back - 1) * 60, minute + back * 60)
        ages += [low + (high - low) * (i + 0.5) / count for i in range(count)]
    now = HOUR + timedelta(minutes=minute)
    short = expected[-(spikes.SHORT_LOOKBACK_HOURS + 1):]
    return spikes.assess(spikes.windows_now(now, ages, [(spikes.WINDOW_MINUTES, short),
                                                        (spikes.LONG_WINDOW_MINUTES, expected)], minute))


def test_a_slow_night_incident_is_found_by_the_long_window_alone():
    """Four tickets an hour for six hours where one was expected: no three-hour window is
    improbable enough (12 where 3 were expected, p ~ 1e-4), six hours of it are (24 where 6)."""
    hours = spikes.LOOKBACK_HOURS + 1
    slow = _assess_long([4] * hours, [1.0] * hours)
    assert slow.hot and slow.window.minutes == 360 and slow.window.observed == 24
    assert not _assess([4, 4, 4], [1.0, 1.0, 1.0], fraction=1.0).hot


def test_a_busy_day_is_no_slow_incident():
    """Six hours at 1.4 times a busy category's rhythm: improbable under Poisson, but days vary
    more than chance and the ratio is far from an incident's."""
    hours = spikes.LOOKBACK_HOURS + 1
    assert not _assess_long([14] * hours, [10.0] * hours).hot


def test_a_slow_trickle_of_a_few_extra_tickets_is_no_alarm():
    """Seven tickets over six quiet hours where one was expected is improbable, but too few to wake
    anyone: a long window must add :data:`core.insights.spikes.LONG_MIN_EXCESS` tickets."""
    hours = spikes.LOOKBACK_HOURS + 1
    assert not _assess_long([1, 1, 1, 2, 1, 1], [0.17] * hours).hot


def test_the_long_windows_reuse_a_longer_expectation_of_the_same_fit():
    """A scan already holds the long lookback's expectation over the incident's span; its last
    hours are the long windows' expectation, so passing it changes nothing but the work."""
    series = np.round(np.tile(rhythm_shape(), 2) * 6)
    first = 0
    longer = rhythm.expected_recent(series, first, spikes.LOOKBACK_HOURS, spikes.LOOKBACK_HOURS + 9)
    assert spikes.expectations(series, first, longer) == spikes.expectations(series, first)
