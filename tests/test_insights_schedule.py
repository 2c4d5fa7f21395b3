"""The scan runs by itself: the scheduler queues one scan per tenant and minute in Redis (a second
scheduler, or a second tick in the same minute, queues nothing more), and a queued scan counts."""

from __future__ import annotations

from dataclasses import replace

from core.background.scheduler import enqueue_insight_scans
from core.runtime import Runtime


def test_one_scan_per_tenant_and_minute(settings, db, redis_url):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    runtime = Runtime(replace(settings, redis_url=redis_url))
    try:
        minute = 1_790_000_000 // 60 * 60
        first = enqueue_insight_scans(runtime, now=minute + 5)
        assert first == [f"insights:acme:{minute // 60}", f"insights:beta:{minute // 60}"]
        assert enqueue_insight_scans(runtime, now=minute + 40) == []  # the same minute: duplicates
        assert len(enqueue_insight_scans(runtime, now=minute + 65)) == 2  # the next minute
    finally:
        runtime.close()


def test_without_redis_the_scan_runs_inline(settings, db):
    db.ensure_tenant("acme")
    runtime = Runtime(replace(settings, redis_url=None))
    try:
        assert enqueue_insight_scans(runtime, now=1_790_000_000) == ["insights:acme:29833333"]
    finally:
        runtime.close()
