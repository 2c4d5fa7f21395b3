"""The Linear issue per requested capability runs by itself: the scheduler queues one sync a day
for each tenant whose Linear notifier has ``feature_requests=on`` (the same day again queues
nothing, a tenant without the opt-in gets no job), a queued sync opens the issue on the local
Linear server, a sync of a tenant without the opt-in sends nothing, and the embedded default's
insights loop runs the same sync without Redis."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.background import tasks
from core.background.scheduler import CAPABILITIES_EVERY, enqueue_capability_syncs
from core.commands.web import start_insights_loop
from core.notify.store import add_notifier
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket
from tests.integrations.linear.fake_linear import API_KEY, fake_linear
from tests.notify_support import runtime  # noqa: F401  (fixture)

TEAM = "22222222-2222-4222-8222-222222222222"
DAY = 1_790_000_000 // CAPABILITIES_EVERY
#: A subject the page shows and Linear must never receive.
SUBJECT = "Invoices for Jane Roe as CSV"


@pytest.fixture
def linear(runtime):
    with fake_linear() as server:
        yield server


def _tenant_with_requests(db, slug: str) -> None:
    """The tenant (made unless it exists) with two customers asking for CSV export of invoices."""
    if slug != "acme":
        with db.transaction() as session:
            session.add(TenantRow(slug=slug, helpdesk="zendesk", domain=f"{slug}.zendesk.com", settings={}))
    tenant_id = db.tenant_id(slug)
    now = datetime.now(UTC)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [
            make_ticket("r-1", "Can I export my invoices as CSV?", created=now - timedelta(days=1),
                        organization="Initech", subject=SUBJECT),
            make_ticket("r-2", "Is there a way to export invoices to CSV?", created=now - timedelta(days=2),
                        organization="Globex", subject=SUBJECT)])


def _linear_notifier(runtime, slug: str, server, opted_in: bool) -> None:
    add_notifier(runtime, slug, "linear", {"api_key": API_KEY},
                 [("default_team", TEAM), ("api_url", server.url), ("feature_requests", "on" if opted_in else "off")],
                 replace=True)


def test_one_sync_a_day_for_each_opted_in_tenant_only(runtime, linear, db, settings, redis_url):
    _tenant_with_requests(db, "acme")
    _tenant_with_requests(db, "beta")
    _tenant_with_requests(db, "gamma")  # no Linear notifier at all
    _linear_notifier(runtime, "acme", linear, opted_in=True)
    _linear_notifier(runtime, "beta", linear, opted_in=False)
    queued = Runtime(replace(settings, redis_url=redis_url))
    try:
        first = DAY * CAPABILITIES_EVERY
        assert enqueue_capability_syncs(queued, now=first + 5) == [f"capabilities:acme:{DAY}"]
        assert enqueue_capability_syncs(queued, now=first + 3600) == []  # the same day: already queued
        assert enqueue_capability_syncs(queued, now=first + CAPABILITIES_EVERY + 1) == [f"capabilities:acme:{DAY + 1}"]
    finally:
        queued.close()
    assert not linear.operations  # queued, not run: the worker runs it


def test_a_sync_opens_the_issue_for_an_opted_in_tenant_and_sends_nothing_for_another(runtime, linear, db):
    _tenant_with_requests(db, "acme")
    _tenant_with_requests(db, "beta")
    _linear_notifier(runtime, "acme", linear, opted_in=True)
    _linear_notifier(runtime, "beta", linear, opted_in=False)

    assert tasks.sync_capabilities("beta") == {"tenant": "beta", "skipped": "not opted in"}
    assert not linear.operations

    assert enqueue_capability_syncs(runtime, now=DAY * CAPABILITIES_EVERY) == [f"capabilities:acme:{DAY}"]  # inline
    [issue] = linear.issues.values()
    assert "csv" in issue["fields"]["title"] and "**2 request(s)** from 2 account(s)" in issue["fields"]["description"]
    sent = json.dumps(linear.issues)
    assert "Can I export" not in sent and SUBJECT not in sent  # the customers' words and subjects stay here

    assert tasks.sync_capabilities("acme") == {"tenant": "acme", "capabilities": 1}
    assert len(linear.issues) == 1 and not linear.comments  # nothing new: nothing sent

    _linear_notifier(runtime, "acme", linear, opted_in=False)  # turned off after the job was queued
    assert tasks.sync_capabilities("acme")["skipped"] == "not opted in"


def test_the_embedded_loop_syncs_without_redis_once_a_day(runtime, linear, db, settings, monkeypatch):
    from core.notify import capability_sync

    _tenant_with_requests(db, "acme")
    _linear_notifier(runtime, "acme", linear, opted_in=True)
    runs = []
    real_sync_all = capability_sync.sync_all
    monkeypatch.setattr(capability_sync, "sync_all", lambda r: runs.append(1) or real_sync_all(r))
    embedded = Runtime(replace(settings, redis_url=None))
    loop = start_insights_loop(embedded, every=0.05)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not linear.issues:
            time.sleep(0.05)
        assert len(linear.issues) == 1, "the loop never sent the capability to Linear"
        time.sleep(0.5)  # ten more ticks within the same day: no second sync
        assert runs == [1] and len(linear.issues) == 1
    finally:
        loop.stop()
        embedded.close()
