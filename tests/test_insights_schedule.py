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


def test_serve_without_redis_scans_in_a_thread_of_its_own(settings, db):
    import time

    from sqlalchemy import select

    from core.commands.web import start_insights_loop
    from core.store.tables import VolumeCursorRow
    from core.store.tickets import upsert_tickets
    from tests.factories import make_ticket

    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket("t-1", "hello", intent="greeting")])
    runtime = Runtime(replace(settings, redis_url=None))
    loop = start_insights_loop(runtime, every=0.05)
    try:
        deadline = time.monotonic() + 10
        counted = None
        while time.monotonic() < deadline and not counted:
            time.sleep(0.05)
            with db.tenant_session(tenant_id) as session:
                counted = session.scalar(select(VolumeCursorRow.last_ticket_id))
        assert counted, "the loop never counted the ticket"
    finally:
        loop.stop()
        runtime.close()


def test_insights_run_scans_a_tenant_and_exits_2_for_an_unknown_one(settings, db):
    from click.testing import CliRunner

    from core.cli import main
    from core.store.tickets import upsert_tickets
    from tests.factories import make_ticket

    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket("t-1", "hello", intent="greeting")])
    runner = CliRunner()
    ran = runner.invoke(main, ["insights", "run", "--tenant", "acme"])
    assert ran.exit_code == 0 and "acme: 1 new ticket(s) counted" in ran.output, ran.output
    again = runner.invoke(main, ["insights", "run"])
    assert again.exit_code == 0 and "acme: 0 new ticket(s) counted" in again.output
    assert runner.invoke(main, ["insights", "run", "--tenant", "nobody"]).exit_code == 2
