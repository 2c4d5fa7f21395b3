"""The autonomy measures on a history made row by row (``tests/autonomy_support.py``), each figure
against a count made by hand from that file's comments, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.autonomy.measures import autonomy_measures
from core.runtime import Runtime
from core.store.db import UnknownTenantError
from tests.autonomy_support import CARD, HISTORY, REFUND, Made, seed_autonomy_history

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def runtime(settings, db):
    seed_autonomy_history(db, "acme", NOW)
    # another tenant's auto-resolved ticket, in the period: never counted for acme
    seed_autonomy_history(db, "beta", NOW, [Made("B1", CARD, timedelta(days=1), csat=1, answer_intent=CARD,
                                                   answer_after=timedelta(seconds=5), outcome="confirmed")])
    found = Runtime(settings)
    yield found
    found.close()


def test_the_overall_figures_are_the_hand_counts(runtime):
    found = autonomy_measures(runtime, "acme", now=NOW)
    assert (found.days, found.since, found.until, found.hold_days) == (28, NOW - timedelta(days=28), NOW, 7)
    overall = found.overall
    assert overall.intent == "all"
    assert overall.new_tickets == 12  # T8 is older than 28 days
    assert overall.answers_posted == 8  # R4's answer failed: never posted
    assert overall.auto_resolved == 3 and overall.auto_resolution_rate == 0.25  # T1, T2, T5
    assert overall.wrong_replies == 3 and overall.wrong_reply_rate == 0.375  # T3 negative, R1 reopened, R2 corrected
    # autonomous: 10 20 30 45 50 60 90 120 s; people: R4 30 min, T7 1 h, R3 2 h (T7's holding echo is not a person)
    assert overall.first_response_autonomous.model_dump() == {"count": 8, "median_seconds": 47.5, "p90_seconds": 120}
    assert overall.first_response_human.model_dump() == {"count": 3, "median_seconds": 3600, "p90_seconds": 7200}
    assert overall.csat_autonomous.model_dump() == {"rated": 2, "mean": 4.5}  # T1 5, T2 4 (T5 unrated)
    assert overall.csat_human.model_dump() == {"rated": 6, "mean": round(20 / 6, 3)}  # T3 T6 T7 R2 R3 R4
    assert overall.handoffs == 5


def test_each_intent_is_counted_on_its_own(runtime):
    intents = {i.intent: i for i in autonomy_measures(runtime, "acme", now=NOW).intents}
    assert sorted(intents) == ["(none)", CARD, REFUND]  # R2 labelled billing goes with its answer's intent
    card, refund, none = intents[CARD], intents[REFUND], intents["(none)"]
    assert (card.new_tickets, card.answers_posted, card.auto_resolved, card.wrong_replies,
            card.handoffs) == (7, 6, 3, 1, 2)
    assert card.auto_resolution_rate == round(3 / 7, 4) and card.wrong_reply_rate == round(1 / 6, 4)
    assert card.first_response_autonomous.model_dump() == {"count": 6, "median_seconds": 55, "p90_seconds": 120}
    assert card.first_response_human.model_dump() == {"count": 1, "median_seconds": 3600, "p90_seconds": 3600}
    assert card.csat_autonomous.model_dump() == {"rated": 2, "mean": 4.5}
    assert card.csat_human.model_dump() == {"rated": 3, "mean": 3.0}  # T3 2, T6 3, T7 4
    assert (refund.new_tickets, refund.answers_posted, refund.auto_resolved, refund.wrong_replies,
            refund.handoffs) == (4, 2, 0, 2, 3)
    assert refund.auto_resolution_rate == 0.0 and refund.wrong_reply_rate == 1.0
    assert refund.first_response_autonomous.model_dump() == {"count": 2, "median_seconds": 15, "p90_seconds": 20}
    assert refund.first_response_human.model_dump() == {"count": 2, "median_seconds": 4500, "p90_seconds": 7200}
    assert refund.csat_autonomous.model_dump() == {"rated": 0, "mean": None}
    assert refund.csat_human.model_dump() == {"rated": 3, "mean": round(11 / 3, 3)}  # R2 1, R3 5, R4 5
    assert (none.new_tickets, none.answers_posted, none.auto_resolution_rate,
            none.wrong_reply_rate) == (1, 0, 0.0, None)
    assert none.first_response_human.count == 0 and none.first_response_human.median_seconds is None


def test_the_weeks_and_the_handoffs_by_reason(runtime):
    found = autonomy_measures(runtime, "acme", now=NOW)
    weeks = [(w.start, w.end, w.new_tickets, w.auto_resolved, w.auto_resolution_rate) for w in found.weeks]
    week = timedelta(days=7)
    assert weeks == [
        (NOW - 4 * week, NOW - 3 * week, 0, 0, None),
        (NOW - 3 * week, NOW - 2 * week, 3, 1, round(1 / 3, 4)),  # T5 T6 R2; T5 resolved
        (NOW - 2 * week, NOW - week, 3, 0, 0.0),  # T3 T4 X1
        (NOW - week, NOW, 6, 2, round(2 / 6, 4)),  # T1 T2 T7 R1 R3 R4; T1 T2 resolved
    ]
    assert sum(w[2] for w in weeks) == found.overall.new_tickets
    assert [(h.reason, h.count, h.done, h.done_share) for h in found.handoffs] == [
        ("agent_took_over", 1, 0, 0.0), ("below_threshold", 1, 0, 0.0), ("negative_answer", 1, 1, 1.0),
        ("reopened", 1, 1, 1.0), ("reply_failed", 1, 1, 1.0)]
    assert found.handoffs[0].description == "an agent touched the ticket"


def test_a_shorter_period_and_a_partial_week(runtime):
    found = autonomy_measures(runtime, "acme", days=10, now=NOW)
    assert found.overall.new_tickets == 8  # created under 10 days ago: T1 T2 T7 R1 R3 R4 X1, and T3 at exactly 10
    assert [(w.end - w.start, w.new_tickets) for w in found.weeks] == [(timedelta(days=3), 2), (timedelta(days=7), 6)]


def test_more_human_replies_and_tickets_count_the_same_way(db, settings):
    """Hand counts on a second history: of ten answered tickets half are solved without a person, so
    the rate is 5/10 whatever order the rows were written in."""
    now = NOW
    history = [Made(f"A{i}", CARD, timedelta(days=1, minutes=i), answer_intent=CARD,
                    answer_after=timedelta(seconds=10 * (i + 1)), status="solved" if i % 2 else "pending")
               for i in range(10)]
    seed_autonomy_history(db, "gamma", now, list(reversed(history)))
    runtime = Runtime(settings)
    try:
        found = autonomy_measures(runtime, "gamma", now=now)
    finally:
        runtime.close()
    assert (found.overall.new_tickets, found.overall.auto_resolved, found.overall.auto_resolution_rate) == (10, 5, 0.5)
    assert found.overall.first_response_autonomous.median_seconds == 55  # 10..100 s: (50 + 60) / 2
    assert found.overall.first_response_autonomous.p90_seconds == 90  # nearest rank: the 9th of 10


def test_an_unknown_tenant_is_refused(runtime):
    with pytest.raises(UnknownTenantError):
        autonomy_measures(runtime, "nobody", now=NOW)


def test_the_history_file_says_what_it_counts():
    assert len([m for m in HISTORY if m.age <= timedelta(days=28)]) == 12
