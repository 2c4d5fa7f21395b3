"""Webhooks end to end through the app: verified, parsed, stored once, applied in order, learned from.

Deliveries are Zendesk event-subscription payloads from the integration's fixtures, signed the way
Zendesk signs them; the same endpoint serves every helpdesk (the contract test covers the others'
parsing, tests/test_helpdesk_deliveries.py their signatures through this endpoint).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.app import create_app
from core.dispatch import drains
from core.helpdesk.connections import add_tenant, forget_connections
from core.store.tables import (
    HelpdeskEventRow,
    MessageRow,
    SignalRow,
    SuggestionRow,
    TicketRow,
)
from integrations.zendesk import webhooks as zendesk

FIXTURES = Path(zendesk.__file__).parent / "fixtures"
CREDENTIALS = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-acme-42"}
URL = "/webhooks/zendesk/acme"


def fixture(name: str, variant: bool = False) -> dict:
    return json.loads((FIXTURES / ("webhook_variants" if variant else "webhooks") / f"{name}.json").read_text())


def at(payload: dict, when: datetime, event_id: str | None = None) -> dict:
    """The payload as delivered at ``when`` (and with another event id)."""
    changed = copy.deepcopy(payload)
    changed["time"] = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if event_id is not None:
        changed["id"] = event_id
    return changed


@pytest.fixture
def app(settings, db):
    forget_connections()
    app = create_app(settings)
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False})
    yield app
    drains.wait_idle()
    drains.cancel_timers()
    app.extensions["deskloop"].close()
    forget_connections()


@pytest.fixture
def client(app):
    return app.test_client()


def deliver(client, payload: dict | bytes, secret: str = CREDENTIALS["webhook_secret"],
            signed_at: datetime | None = None, wait: bool = True):
    """Post a signed delivery; with ``wait``, also wait until the background drain has applied it
    (the embedded default answers first and applies after)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = (signed_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {**zendesk.sign(body, secret, stamp), "Content-Type": "application/json"}
    answer = client.post(URL, data=body, headers=headers)
    if wait:
        drains.wait_idle()
    return answer


def acme(db):
    """A session reading the test tenant's rows."""
    return db.tenant_session(db.tenant_id("acme"))


def count(db, table) -> int:
    with acme(db) as session:
        return session.scalar(select(func.count(table.id)))


def ticket(db, external_id: str) -> TicketRow:
    with acme(db) as session:
        return session.scalar(select(TicketRow).where(TicketRow.external_id == external_id))


def test_a_new_ticket_is_stored_applied_and_acknowledged(client, db):
    created = fixture("ticket.created")
    answer = deliver(client, created)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["accepted"] >= 1
    stored = ticket(db, created["detail"]["id"])
    assert stored.source == "zendesk" and stored.subject == created["detail"]["subject"]
    assert stored.status is not None and stored.text
    with acme(db) as session:
        events = session.scalars(select(HelpdeskEventRow)).all()
    assert events and all(e.processed_at is not None for e in events)


def test_type_group_and_form_are_set_by_a_new_ticket_and_changed_by_later_events(app, client, db):
    """Named with the names ``tenant add`` learned; a later import or backfill that does not know
    the group (None) leaves it as the webhook set it."""
    from core.store.tickets import get_ticket, upsert_tickets
    from core.types import Message, Ticket

    names = {"group_names": {"360009871234": "Order Support", "360009871299": "Returns & Warranty"},
             "form_names": {"360001874412": "Order issue", "360001874499": "Product question"}}
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False, **names}, replace=True)
    now = datetime.now(UTC)
    deliver(client, at(fixture("ticket.created"), now - timedelta(hours=3)))
    stored = ticket(db, "48213")
    assert (stored.ticket_type, stored.assigned_group, stored.form, stored.macros) == (
        "incident", "Order Support", "Order issue", [])
    for name, minutes in [("ticket.type_changed", 120), ("ticket.form_changed", 90),
                          ("ticket.group_assignment_changed", 60)]:
        assert deliver(client, at(fixture(name), now - timedelta(minutes=minutes))).status_code == 200
    stored = ticket(db, "48213")
    assert (stored.ticket_type, stored.assigned_group, stored.form) == ("problem", "Returns & Warranty",
                                                                        "Product question")
    with db.transaction(stored.tenant_id) as session:
        upsert_tickets(session, stored.tenant_id, [Ticket(
            source="zendesk", external_id="48213", subject="Damaged water bottle", updated_at=now,
            messages=[Message(author_role="customer", body="It leaks.")], ticket_type="question", group=None,
            macros=["Replacement sent"])])
    with acme(db) as session:
        again = get_ticket(session, stored.id).ticket
    assert (again.ticket_type, again.group, again.form, again.macros) == ("question", "Returns & Warranty",
                                                                          "Product question", ["Replacement sent"])


def test_a_duplicate_delivery_is_processed_once(client, db):
    created = fixture("ticket.created")
    first = deliver(client, created).get_json()
    messages, events = count(db, MessageRow), count(db, HelpdeskEventRow)
    again = deliver(client, created)
    assert again.status_code == 200
    assert again.get_json() == {"accepted": 0, "duplicates": first["accepted"]}
    assert count(db, MessageRow) == messages and count(db, HelpdeskEventRow) == events


@pytest.mark.parametrize("problem", ["wrong secret", "stale timestamp", "tampered body", "no signature"])
def test_an_unverified_delivery_is_refused_and_nothing_is_stored(client, db, problem):
    created = fixture("ticket.created")
    body = json.dumps(created).encode()
    if problem == "wrong secret":
        answer = deliver(client, body, secret="not-the-secret")
    elif problem == "stale timestamp":
        answer = deliver(client, body, signed_at=datetime.now(UTC) - timedelta(minutes=30))
    elif problem == "tampered body":
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = zendesk.sign(body, CREDENTIALS["webhook_secret"], stamp)
        answer = client.post(URL, data=body.replace(b"Damaged", b"Damagex", 1) if b"Damaged" in body
                             else body + b" ", headers=headers, content_type="application/json")
    else:
        answer = client.post(URL, data=body, content_type="application/json")
    assert answer.status_code == 401
    assert "signature not accepted" in answer.get_json()["error"]["reason"]
    assert CREDENTIALS["webhook_secret"] not in answer.get_data(as_text=True)
    assert count(db, HelpdeskEventRow) == 0 and count(db, TicketRow) == 0


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "body is not JSON"),
    (json.dumps({"type": "zen:event-type:ticket.status_changed", "id": "e-1"}).encode(), "missing"),
])
def test_a_malformed_payload_is_a_400_with_the_reason(client, db, body, reason):
    answer = deliver(client, body)
    assert answer.status_code == 400
    assert reason in answer.get_json()["error"]["reason"]
    assert count(db, HelpdeskEventRow) == 0 and count(db, TicketRow) == 0


def test_a_valid_event_deskloop_does_not_use_is_acknowledged_and_ignored(client, db):
    answer = deliver(client, fixture("user.active_changed", variant=True))
    assert answer.status_code == 200
    assert answer.get_json()["accepted"] == 0 and answer.get_json()["ignored"]
    assert count(db, HelpdeskEventRow) == 0


def test_unknown_tenant_or_helpdesk_is_a_404(client):
    body = json.dumps(fixture("ticket.created")).encode()
    assert client.post("/webhooks/zendesk/nobody", data=body, content_type="application/json").status_code == 404
    assert client.post("/webhooks/intercom/acme", data=body, content_type="application/json").status_code == 404
    assert client.post("/webhooks/myspace/acme", data=body, content_type="application/json").status_code == 404


def test_an_older_update_arriving_late_never_rolls_the_ticket_back(client, db):
    now = datetime.now(UTC)
    deliver(client, at(fixture("ticket.created"), now - timedelta(hours=2)))
    newer = at(fixture("ticket.status_changed"), now - timedelta(minutes=5), "status-newer")
    newer["event"].update(previous="OPEN", current="SOLVED")
    older = at(fixture("ticket.status_changed"), now - timedelta(minutes=50), "status-older")
    older["event"].update(previous="OPEN", current="PENDING")
    older["detail"]["status"] = "PENDING"
    assert deliver(client, newer).status_code == 200
    assert deliver(client, older).status_code == 200  # arrives after, happened before
    stored = ticket(db, newer["detail"]["id"])
    assert stored.status == "solved"
    with acme(db) as session:
        outcome = session.scalar(select(HelpdeskEventRow.outcome).where(HelpdeskEventRow.event_id == "status-older"))
    assert outcome.startswith("stale")


def test_the_agents_sent_reply_becomes_the_draft_versus_sent_signal(client, db):
    now = datetime.now(UTC)
    created = at(fixture("ticket.created"), now - timedelta(hours=1))
    deliver(client, created)
    stored = ticket(db, created["detail"]["id"])
    draft = "Hi Priya, sorry about the dented bottle! I've sent a replacement; it should reach you Friday."
    with db.transaction(stored.tenant_id) as session:
        suggestion = SuggestionRow(tenant_id=stored.tenant_id, ticket_id=stored.id, text=stored.text,
                                   intent="damaged_item", confidence=0.9, abstained=False, tags=[], entities=[],
                                   draft=draft, evidence=[], model_version="v1")
        session.add(suggestion)
        session.flush()
        suggestion_id = suggestion.id
    reply = at(fixture("ticket.comment_added.agent_reply", variant=True), now)
    reply["detail"]["id"] = created["detail"]["id"]
    assert deliver(client, reply).status_code == 200
    with acme(db) as session:
        signal = session.scalar(select(SignalRow))
    assert signal is not None and signal.kind == "draft_edited" and signal.suggestion_id == suggestion_id
    sent = reply["event"]["comment"]["body"]
    assert signal.payload["sent"] == sent and signal.payload["draft"] == draft
    assert 0.5 < signal.payload["similarity"] < 1.0
    assert signal.source_event == f"zendesk:{reply['id']}"
    # The same reply delivered again teaches nothing twice.
    deliver(client, reply)
    assert count(db, SignalRow) == 1


def test_a_reopen_counts_and_is_a_negative_signal_about_the_last_suggestion(client, db):
    now = datetime.now(UTC)
    created = at(fixture("ticket.created"), now - timedelta(hours=3))
    deliver(client, created)
    stored = ticket(db, created["detail"]["id"])
    with db.transaction(stored.tenant_id) as session:
        session.add(SuggestionRow(tenant_id=stored.tenant_id, ticket_id=stored.id, text=stored.text, intent="x",
                                  confidence=0.8, abstained=False, tags=[], entities=[], draft="Try this.",
                                  evidence=[]))
    reopened = at(fixture("ticket.status_changed.reopened", variant=True), now)
    reopened["detail"]["id"] = created["detail"]["id"]
    assert deliver(client, reopened).status_code == 200
    assert ticket(db, created["detail"]["id"]).reopen_count == 1
    with acme(db) as session:
        signal = session.scalar(select(SignalRow))
    assert signal.kind == "reopened" and signal.weight < 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_with_redis_deliveries_share_a_queued_drain_and_none_is_left_behind(settings, db, redis_url, monkeypatch):
    """The production path: the webhook only stores and flags; an RQ worker (its own process,
    as in the Procfile) applies every stored event, however many deliveries shared one job."""
    import os
    import subprocess
    import sys

    from core.config import Settings
    from core.dispatch.queue import queue

    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    forget_connections()
    app = create_app(Settings.from_env())
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False})
    client = app.test_client()
    now = datetime.now(UTC)
    created = at(fixture("ticket.created"), now - timedelta(hours=1))
    for i in range(6):
        update = at(fixture("ticket.status_changed"), now - timedelta(minutes=30 - i), f"status-{i}")
        assert deliver(client, created if i == 0 else update).status_code == 200
    assert len(queue(app.extensions["deskloop"].settings)) < 6  # deliveries in one window share a job
    assert count(db, HelpdeskEventRow) == 6
    done = subprocess.run([str(Path(sys.executable).with_name("deskloop")), "worker", "--burst"],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with acme(db) as session:
        pending = select(func.count(HelpdeskEventRow.id)).where(HelpdeskEventRow.processed_at.is_(None))
        assert session.scalar(pending) == 0
    assert ticket(db, created["detail"]["id"]).status == "solved"
    app.extensions["deskloop"].close()
    forget_connections()


def test_with_the_queue_down_a_stored_delivery_is_still_acknowledged(settings, db, monkeypatch, caplog):
    """Redis restarting must not turn a stored event into a 5xx: the helpdesk's retry would be a
    duplicate (which schedules nothing), while the scheduler's sweep finds the pending event."""
    import socket

    from core.config import Settings

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    monkeypatch.setenv("DESKLOOP_REDIS_URL", f"redis://127.0.0.1:{closed_port}/0")
    forget_connections()
    app = create_app(Settings.from_env())
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False})
    answer = deliver(app.test_client(), at(fixture("ticket.created"), datetime.now(UTC)))
    assert answer.status_code == 200 and answer.get_json()["accepted"] == 1
    with acme(db) as session:
        pending = select(func.count(HelpdeskEventRow.id)).where(HelpdeskEventRow.processed_at.is_(None))
        assert session.scalar(pending) == 1
    assert "sweep will apply them" in caplog.text
    app.extensions["deskloop"].close()
    forget_connections()


def test_the_scheduler_outlives_an_outage(settings, monkeypatch, caplog):
    """A tick that fails (Redis or the database restarting) is logged; the next one runs."""
    from core.background import scheduler
    from core.runtime import Runtime

    ticks: list[int] = []

    def tick(runtime, interval, stuck_after):
        ticks.append(stuck_after)
        if len(ticks) == 1:
            raise ConnectionError("Redis is restarting")

    def sleep(seconds):
        if len(ticks) >= 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(scheduler, "_tick", tick)
    monkeypatch.setattr(scheduler.time, "sleep", sleep)
    with pytest.raises(KeyboardInterrupt):
        scheduler.run_scheduler(Runtime(settings), 86400, tick_seconds=5, stuck_after_seconds=30)
    assert ticks == [30, 30, 30] and "scheduler tick failed (ConnectionError" in caplog.text


def test_the_scheduler_drains_events_left_pending(client, db, app):
    """A worker that died mid-job leaves events pending; the scheduler's sweep gets them applied."""
    from sqlalchemy import update

    from core.background.scheduler import enqueue_stuck_events

    deliver(client, fixture("ticket.created"))
    runtime = app.extensions["deskloop"]
    with runtime.db.transaction(runtime.db.tenant_id("acme")) as session:  # as if never applied, an hour ago
        session.execute(update(HelpdeskEventRow).values(processed_at=None,
                                                        received_at=datetime.now(UTC) - timedelta(hours=1)))
        session.execute(update(TicketRow).values(subject=""))
    assert enqueue_stuck_events(runtime) == ["acme"]  # embedded default: drained in-process, right now
    with acme(db) as session:
        pending = select(func.count(HelpdeskEventRow.id)).where(HelpdeskEventRow.processed_at.is_(None))
        assert session.scalar(pending) == 0
    assert enqueue_stuck_events(runtime) == []


def test_a_new_ticket_gets_its_suggested_tags_and_draft_written_back(settings, db):
    """Through the whole path: webhook, stored event, suggestion from the trained model, and the
    tags and the private note written to the helpdesk by its client library (zenpy, against a
    local server answering like Zendesk)."""
    from core.learning.training import train_tenant
    from core.store.tickets import upsert_tickets
    from tests.factories import small_inbox
    from tests.fake_api import serve
    from tests.integrations.zendesk import fake_zendesk

    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    forget_connections()
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    train_tenant(runtime, "acme")
    zendesk_api = fake_zendesk.make_app(tickets=3)
    with serve(zendesk_api) as url:
        add_tenant(runtime, "acme", "zendesk", "larkspur.zendesk.com", CREDENTIALS,
                   {"api_url": url, "write_back_tags": True, "private_note": True})
        created = at(fixture("ticket.created"), datetime.now(UTC))
        created["detail"].update(id="2", subject="Card", description="My new card still has not arrived")
        assert deliver(app.test_client(), created).status_code == 200  # waits for the drain, server still up
    state = fake_zendesk.fake(zendesk_api)
    with acme(db) as session:
        suggestion = session.scalar(select(SuggestionRow).order_by(SuggestionRow.id.desc()))
    assert suggestion is not None and suggestion.intent == "card_arrival" and not suggestion.abstained
    assert set(t["tag"] for t in suggestion.tags) <= set(state.tags[2]) and state.tags[2]
    [note] = state.notes[2]
    assert note["public"] is False and suggestion.draft.split(",")[0] in str(note)
    runtime.close()
    forget_connections()
