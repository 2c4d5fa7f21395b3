"""The embedded default (no Redis): a webhook is answered at once and its events are applied
after, on a background drain thread of the web process, one per tenant (a few threads at most); a
delivery arriving while that drain runs is not lost; a drain that dies leaves its events pending
for the next one."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from core.dispatch import drains, listeners
from core.dispatch.listeners import listen
from core.events import HelpdeskEvent
from core.helpdesk.webhook_events import store_events
from core.store.tables import HelpdeskEventRow, TicketRow
from core.types import Message
from tests.test_event_failures import poison_refused  # noqa: F401
from tests.test_webhooks import acme, app, at, client, deliver, fixture, ticket  # noqa: F401


def pending(db) -> int:
    with acme(db) as session:
        return session.scalar(select(func.count(HelpdeskEventRow.id)).where(HelpdeskEventRow.processed_at.is_(None)))


@pytest.fixture
def applying_threads():
    """The names of the threads that applied each ticket_created event."""
    names: list[str] = []

    @listen("test-thread-probe", "event", ("ticket_created",))
    def probe(runtime, occurrence):
        names.append(threading.current_thread().name)

    yield names
    listeners.forget("test-thread-probe")


def test_the_webhook_is_answered_and_the_event_applied_after_on_a_drain_thread(client, db, applying_threads):
    created = fixture("ticket.created")
    answer = deliver(client, created, wait=False)
    assert answer.status_code == 200 and answer.get_json()["accepted"] >= 1
    drains.wait_idle(timeout=30)
    assert pending(db) == 0 and ticket(db, str(created["detail"]["id"])).subject
    assert applying_threads == ["deskloop-drain-acme"] != [threading.current_thread().name]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_answer_does_not_wait_for_the_drain_and_deliveries_during_it_are_not_lost(client, db):
    """The tickets table is locked by another session: the drain cannot apply anything, yet every
    delivery is answered; once the lock goes, all of them are applied."""
    now = datetime.now(UTC)
    with db.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE tickets IN EXCLUSIVE MODE"))
        assert deliver(client, at(fixture("ticket.created"), now - timedelta(hours=1)), wait=False).status_code == 200
        for i in range(5):
            update = at(fixture("ticket.status_changed"), now - timedelta(minutes=30 - i), f"status-{i}")
            assert deliver(client, update, wait=False).status_code == 200
        assert drains.running() == ["deskloop-drain-acme"]  # one drain, blocked, for all six
        assert pending(db) == 6
        blocker.rollback()  # the lock goes
    drains.wait_idle(timeout=30)
    assert pending(db) == 0
    assert ticket(db, "48213").status == "solved"


def test_events_a_dead_drain_left_pending_are_applied_by_the_next_delivery(app, client, db, caplog):
    """As if the process had exited mid-drain: events stored, never applied. A drain that fails
    (here: the database goes away under it) logs without values and leaves them pending too."""
    runtime = app.extensions["deskloop"]
    tenant_id = db.tenant_id("acme")
    store_events(runtime, tenant_id, "zendesk", [HelpdeskEvent(
        kind="ticket_created", event_id="left-behind", ticket_external_id="T-50", subject="Left behind",
        occurred_at=datetime.now(UTC) - timedelta(minutes=10),
        message=Message(author_role="customer", body="Still waiting on my refund"))])
    assert pending(db) == 1

    def dies():
        raise ConnectionError("refund for priya@example.org")

    drains.start("dying", "dying", dies)
    drains.wait_idle()
    assert "background drain dying stopped by ConnectionError" in caplog.text
    assert "priya@example.org" not in caplog.text

    assert deliver(client, fixture("ticket.created")).status_code == 200
    assert pending(db) == 0
    with acme(db) as session:
        assert session.scalar(select(TicketRow.subject).where(TicketRow.external_id == "T-50")) == "Left behind"


def test_a_drain_wakes_itself_when_a_retry_is_due():
    """A drain whose work asks to run again in a moment (an event waiting for its retry) runs again
    then, with no delivery to wake it."""
    runs: list[float] = []
    ran_twice = threading.Event()

    def work():
        runs.append(1)
        if len(runs) == 2:
            ran_twice.set()
            return None
        return 0.2

    assert drains.start("retrying", "retrying", work)
    assert ran_twice.wait(timeout=10) and len(runs) == 2
    drains.wait_idle()


def test_a_refused_event_is_retried_by_the_drain_itself_when_its_time_comes(client, db, poison_refused,
                                                                               monkeypatch):
    """No delivery and no scheduler: the drain wakes when the failed event's retry is due, and
    applies it once the database accepts it."""
    from core.helpdesk import event_failures

    monkeypatch.setattr(event_failures, "FIRST_BACKOFF", timedelta(milliseconds=500))
    created = fixture("ticket.created")
    created["detail"].update(id="77", description="POISON in the first message")
    assert deliver(client, created).status_code == 200
    with acme(db) as session:
        [failed] = session.scalars(select(HelpdeskEventRow)).all()
    assert failed.processed_at is None and failed.attempts >= 1 and failed.quarantined_at is None
    poison_refused()  # the fix, before the retry comes
    deadline = time.monotonic() + 20
    while pending(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    drains.wait_idle()
    assert pending(db) == 0 and ticket(db, "77") is not None


def test_drains_for_many_tenants_share_a_few_threads_and_all_run():
    """A burst of deliveries for 40 tenants: at most MAX_THREADS drains run at once, each of the 40
    runs once, and a drain asked for again while waiting still runs only once."""
    lock, ran, at_once, peak = threading.Lock(), [], [0], [0]

    def work_for(tenant):
        def work():
            with lock:
                at_once[0] += 1
                peak[0] = max(peak[0], at_once[0])
            time.sleep(0.02)
            with lock:
                at_once[0] -= 1
                ran.append(tenant)
            return None
        return work

    before = threading.active_count()
    for tenant in range(40):
        drains.start(("burst", tenant), f"burst-{tenant}", work_for(tenant))
    drains.start(("burst", 39), "burst-39", work_for(39))  # asked again while it waits
    assert threading.active_count() - before <= drains.MAX_THREADS
    drains.wait_idle(timeout=30)
    assert sorted(ran) == list(range(40))
    assert peak[0] <= drains.MAX_THREADS
