"""The seam after every applied event (``core.dispatch.listeners``): a listener subscribes to event kinds,
runs inline or as a job with a deterministic id, hears nothing Deskloop wrote itself, and a failing
listener neither stops the others nor the event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.dispatch import listeners
from core.dispatch.listeners import Occurrence, listen
from core.runtime import Runtime
from core.store.tables import HelpdeskEventRow
from tests.test_webhooks import acme, app, client, deliver, fixture  # noqa: F401


@pytest.fixture
def heard():
    got: list[Occurrence] = []

    @listen("test-probe", "event", ("ticket_created",))
    def probe(runtime, occurrence):
        got.append(occurrence)

    @listen("test-broken", "event")
    def broken(runtime, occurrence):
        raise RuntimeError("a notifier is down")

    yield got
    listeners.forget("test-probe")
    listeners.forget("test-broken")


def test_a_listener_hears_the_kinds_it_subscribed_to_once_per_event(client, db, heard):
    created = fixture("ticket.created")
    assert deliver(client, created).status_code == 200
    assert deliver(client, created).status_code == 200  # a retried delivery is heard once
    [occurrence] = heard
    assert occurrence.tenant == "acme" and occurrence.source == "zendesk" and occurrence.kind == "ticket_created"
    assert occurrence.data["ticket_external_id"] == str(created["detail"]["id"])
    with acme(db) as session:  # the broken listener did not stop the event from being applied
        assert all(e.processed_at is not None for e in session.scalars(select(HelpdeskEventRow)))


def test_listeners_that_run_as_jobs_get_json_and_a_deterministic_id(monkeypatch, db, settings):
    db.ensure_tenant("acme")  # the job is recorded in the tenant's outbox before it is queued
    queued = []

    def fake_enqueue(func, *args, job_id=None, settings=None, **_):
        queued.append((func.__module__ + "." + func.__name__, args, job_id))

    monkeypatch.setattr("core.dispatch.queue.enqueue", fake_enqueue)

    @listen("test-job", "event", ("reopened",), as_job=True)
    def job(runtime, occurrence):
        raise AssertionError("runs in a worker, not inline")

    try:
        occurrence = Occurrence("event", "acme", "zendesk", "reopened", "ev-7", {"a": 1}, {"tags_changed": False})
        listeners.publish(Runtime(settings), occurrence)
    finally:
        listeners.forget("test-job")
    [(path, args, job_id)] = [q for q in queued if q[2].endswith(":test-job:ev-7")]
    assert path == "core.dispatch.listeners.run_listener" and job_id == "zendesk:acme:test-job:ev-7"
    assert args == ("test-job", {"topic": "event", "tenant": "acme", "source": "zendesk", "kind": "reopened",
                                 "key": "ev-7", "data": {"a": 1}, "extra": {"tags_changed": False}})


def test_two_listeners_cannot_share_a_name():
    @listen("test-twice", "event")
    def first(runtime, occurrence):
        pass

    try:
        with pytest.raises(ValueError):
            @listen("test-twice", "event")
            def second(runtime, occurrence):
                pass
    finally:
        listeners.forget("test-twice")


def test_the_core_subscribes_learning_and_write_back():
    import core.helpdesk.webhook_events  # noqa: F401  registers them

    names = {x.name: x for x in listeners._listeners.values()}
    assert not names["learning-signal"].as_job and names["write-back"].as_job
    taught_by = names["learning-signal"].kinds
    assert taught_by == {"agent_replied", "reopened", "csat_received", "fields_changed", "reassigned"}


def test_a_recorded_signal_is_heard_once_by_its_listeners(settings, db):
    from core.learning.feedback import record_signal
    from core.runtime import Runtime
    from core.store.tickets import upsert_tickets
    from core.types import Signal
    from tests.factories import small_inbox

    heard: list[Occurrence] = []

    @listen("test-signals", "signal", ("reopened",))
    def probe(runtime, occurrence):
        heard.append(occurrence)

    runtime = Runtime(settings)
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox()[:2])
    with db.tenant_session(tenant_id) as session:
        from core.store.tables import TicketRow

        ticket_id = session.scalars(select(TicketRow.id)).first()
    try:
        for _ in range(2):  # the same source event twice: one signal, heard once
            record_signal(runtime, "acme", Signal(kind="reopened", ticket_id=ticket_id, source_event="zendesk:ev-3"))
        record_signal(runtime, "acme", Signal(kind="confirmed", ticket_id=ticket_id))  # not subscribed
    finally:
        listeners.forget("test-signals")
        runtime.close()
    [occurrence] = heard
    assert occurrence.topic == "signal" and occurrence.kind == "reopened" and occurrence.tenant == "acme"
    assert occurrence.data["ticket_id"] == ticket_id and occurrence.key == str(occurrence.data["id"])


def _store_without_telling(app, monkeypatch, payload) -> None:
    """Deliver ``payload`` and apply it as a drain killed right after its commit would: applied,
    its listeners never told."""
    from core.helpdesk import webhook_events

    monkeypatch.setattr(webhook_events, "_after", lambda *args: (_ for _ in ()).throw(SystemExit("killed")))
    runtime = app.extensions["deskloop"]
    with pytest.raises(SystemExit):
        webhook_events.drain_events(runtime, "acme")
    monkeypatch.undo()


def _age_applied(db, seconds: float) -> None:
    from datetime import timedelta

    with db.transaction(db.tenant_id("acme")) as session:
        for row in session.scalars(select(HelpdeskEventRow)):
            row.processed_at -= timedelta(seconds=seconds)


def test_an_event_applied_by_a_drain_that_died_before_telling_is_told_once_later(app, client, db, heard,
                                                                                 monkeypatch):
    from core.helpdesk import webhook_events
    from core.helpdesk.webhook_events import TELL_GRACE_SECONDS, drain_events

    runtime = app.extensions["deskloop"]
    monkeypatch.setattr(webhook_events, "start_drain", lambda *args: True)  # no background drain
    assert deliver(client, fixture("ticket.created"), wait=False).status_code == 200
    _store_without_telling(app, monkeypatch, None)
    with acme(db) as session:
        [row] = session.scalars(select(HelpdeskEventRow)).all()
        assert row.processed_at is not None and row.published_at is None
    assert drain_events(runtime, "acme")["told_late"] == 0  # within the grace: a live drain may be telling
    assert heard == []
    _age_applied(db, TELL_GRACE_SECONDS + 1)
    assert drain_events(runtime, "acme")["told_late"] == 1
    assert [o.kind for o in heard] == ["ticket_created"]
    assert drain_events(runtime, "acme")["told_late"] == 0  # told once
    assert len(heard) == 1


def test_an_event_whose_job_the_queue_refused_is_told_again(app, client, db, monkeypatch):
    from core.helpdesk.webhook_events import TELL_GRACE_SECONDS, drain_events

    runtime = app.extensions["deskloop"]
    attempts = []

    def refusing(*args, **kwargs):
        attempts.append(kwargs.get("job_id"))
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr("core.dispatch.queue.enqueue", refusing)

    @listen("test-queued", "event", ("ticket_created",), as_job=True)
    def queued(runtime, occurrence):
        raise AssertionError("runs in a worker")

    try:
        assert deliver(client, fixture("ticket.created")).status_code == 200
        with acme(db) as session:
            [row] = session.scalars(select(HelpdeskEventRow)).all()
            assert row.processed_at is not None and row.published_at is None  # applied, not told
        _age_applied(db, TELL_GRACE_SECONDS + 1)
        monkeypatch.setattr("core.dispatch.queue.enqueue", lambda *args, **kwargs: attempts.append(kwargs["job_id"]))
        assert drain_events(runtime, "acme")["told_late"] == 1
        assert attempts[0] == attempts[-1] and attempts[-1].endswith(":test-queued:" + row.event_id)
        with acme(db) as session:
            assert session.scalars(select(HelpdeskEventRow)).one().published_at is not None
    finally:
        listeners.forget("test-queued")
