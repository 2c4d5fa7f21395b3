"""The weekly digest goes out by itself: from Monday 08:00 UTC the scheduler queues last week's
digest per tenant under ``digest:<slug>:<week>`` (a second tick or scheduler queues nothing more),
and once a digest is published its tenant is no longer due; the embedded default publishes the
due digests inline, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.background.scheduler import enqueue_weekly_digests
from core.notify.weekly_digest import due_week, publish_digest, publish_due
from core.runtime import Runtime

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)  # the first day of 2026-W50


def _at(hour: int, minute: int = 0) -> float:
    return MONDAY.replace(hour=hour, minute=minute).timestamp()


def test_the_scheduler_queues_last_weeks_digest_from_monday_8_and_once(settings, db, redis_url):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    runtime = Runtime(replace(settings, redis_url=redis_url))
    try:
        assert due_week(MONDAY.replace(hour=7, minute=59)).label == "2026-W48"
        first = enqueue_weekly_digests(runtime, now=_at(8))
        assert first == ["digest:acme:2026-W49", "digest:beta:2026-W49"]
        assert enqueue_weekly_digests(runtime, now=_at(8, 1)) == []  # the next tick: duplicates
        assert enqueue_weekly_digests(runtime, now=_at(8) + 7 * 86_400) == ["digest:acme:2026-W50",
                                                                             "digest:beta:2026-W50"]
    finally:
        runtime.close()


def test_a_published_digest_is_not_due_again_and_the_embedded_loop_publishes_once(settings, db):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    runtime = Runtime(replace(settings, redis_url=None))
    try:
        week = due_week(MONDAY.replace(hour=9))
        assert publish_digest(runtime, "acme", week)["published"] is True
        assert enqueue_weekly_digests(runtime, now=_at(9)) == ["digest:beta:2026-W49"]  # run inline: published
        assert enqueue_weekly_digests(runtime, now=_at(10)) == []
        assert [d["week"] for d in publish_due(runtime, now=MONDAY.replace(hour=9))] == []
        later = publish_due(runtime, now=datetime(2026, 12, 14, 8, 30, tzinfo=UTC))
        assert [(d["tenant"], d["week"], d["published"]) for d in later] == [("acme", "2026-W50", True),
                                                                             ("beta", "2026-W50", True)]
        assert publish_due(runtime, now=datetime(2026, 12, 14, 9, tzinfo=UTC)) == []
    finally:
        runtime.close()
