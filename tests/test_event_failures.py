"""A webhook event the database refuses is retried, then quarantined; the tenant's later events go
on meanwhile; an operator lists it and retries it after the fix. Values that used to be refused
(a NUL, an over-long name) are fitted to their columns instead, on both databases.

The refusing database is real: a trigger on ``messages`` refuses any message holding POISON, on
SQLite and on PostgreSQL alike, and dropping it is "the fix".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from core.background.scheduler import enqueue_stuck_events
from core.cli import main
from core.events import HelpdeskEvent
from core.helpdesk.event_failures import MAX_ATTEMPTS, quarantined_events
from core.helpdesk.webhook_events import process_events, retry_quarantined, store_events
from core.runtime import Runtime
from core.store.tables import HelpdeskEventRow, MessageRow, TicketRow
from core.types import Message, Person

SECRET_NAME = "Priya Ramaswamy-Okonkwo"
SECRET_EMAIL = "priya.r@example.org"
TRIGGERS = {
    "sqlite": ["""CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.body_raw LIKE '%POISON%'
                  BEGIN SELECT RAISE(ABORT, 'message refused by policy'); END"""],
    "postgresql": ["""CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$
                      BEGIN
                        IF NEW.body_raw LIKE '%POISON%' THEN
                          RAISE EXCEPTION 'message refused: % wrote %', NEW.author_name, NEW.body_raw;
                        END IF;
                        RETURN NEW;
                      END $$ LANGUAGE plpgsql""",
                   "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW "
                   "EXECUTE FUNCTION refuse_poison()"],
}
DROP = {"sqlite": ["DROP TRIGGER IF EXISTS refuse_poison"],
        "postgresql": ["DROP TRIGGER IF EXISTS refuse_poison ON messages", "DROP FUNCTION IF EXISTS refuse_poison()"]}


@pytest.fixture
def runtime(settings, db):
    runtime = Runtime(settings)
    runtime.db.ensure_tenant("acme")
    runtime.db.ensure_tenant("beta")
    yield runtime
    runtime.close()


@pytest.fixture
def poison_refused(db):
    """The database refuses any message holding POISON until the test drops the trigger."""
    def run(statements):
        with db.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))

    run(TRIGGERS[db.dialect])
    yield lambda: run(DROP[db.dialect])
    run(DROP[db.dialect])


def event(event_id: str, ticket: str, minutes_ago: int, body: str, **fields) -> HelpdeskEvent:
    return HelpdeskEvent(kind="ticket_created", event_id=event_id, ticket_external_id=ticket,
                         occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), subject="Help",
                         message=Message(author_role="customer", body=body, author_name=SECRET_NAME), **fields)


def rows(db, tenant: str = "acme") -> dict[str, HelpdeskEventRow]:
    with db.tenant_session(db.tenant_id(tenant)) as session:
        return {r.event_id: r for r in session.scalars(select(HelpdeskEventRow)).all()}


def ticket(db, external_id: str, tenant: str = "acme") -> TicketRow | None:
    with db.tenant_session(db.tenant_id(tenant)) as session:
        return session.scalar(select(TicketRow).where(TicketRow.external_id == external_id))


def make_retry_due(db) -> None:
    """As if the backoff had passed."""
    with db.engine.begin() as connection:
        connection.execute(update(HelpdeskEventRow).where(HelpdeskEventRow.next_attempt_at.is_not(None))
                           .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


def quarantine_poison(runtime, db) -> HelpdeskEventRow:
    """Store a poison event (oldest) and a good one; drain until the poison is quarantined."""
    tenant_id = db.tenant_id("acme")
    store_events(runtime, tenant_id, "zendesk", [
        event("poison", "T-1", 30, f"POISON from {SECRET_EMAIL}", requester=Person(name=SECRET_NAME,
                                                                                   email=SECRET_EMAIL)),
        event("good", "T-2", 20, "My card has not arrived")])
    first = process_events("acme")
    assert first["applied"] == 1 and first["failed"] == 1
    for _ in range(MAX_ATTEMPTS - 1):
        make_retry_due(db)
        process_events("acme")
    return rows(db)["poison"]


def test_a_refused_event_is_retried_with_backoff_while_later_events_apply(runtime, db, poison_refused, caplog):
    tenant_id = db.tenant_id("acme")
    store_events(runtime, tenant_id, "zendesk", [
        event("poison", "T-1", 30, f"POISON from {SECRET_EMAIL}", requester=Person(name=SECRET_NAME,
                                                                                   email=SECRET_EMAIL)),
        event("good", "T-2", 20, "My card has not arrived"),
        event("also-good", "T-1", 10, "Any news?")])
    with caplog.at_level(logging.DEBUG):
        counts = process_events("acme")
    assert counts["applied"] == 2 and counts["failed"] == 1
    found = rows(db)
    assert found["good"].processed_at is not None and found["also-good"].processed_at is not None
    poison = found["poison"]
    assert poison.processed_at is None and poison.quarantined_at is None and poison.attempts == 1
    assert poison.next_attempt_at.replace(tzinfo=UTC) > datetime.now(UTC)
    assert "Error" in poison.last_error  # the class: IntegrityError on SQLite, InternalError/RaiseException on PG
    for secret in (SECRET_NAME, SECRET_EMAIL, "POISON", "Priya"):
        assert secret not in poison.last_error
        assert secret not in caplog.text
    assert ticket(db, "T-2").text and ticket(db, "T-1") is not None  # the later event on T-1 went in too

    # Not due yet: a drain leaves it alone, and the sweep wakes nobody for it.
    assert process_events("acme")["failed"] == 0 and rows(db)["poison"].attempts == 1
    assert enqueue_stuck_events(runtime) == []
    make_retry_due(db)
    assert enqueue_stuck_events(runtime) == ["acme"]  # the sweep drains it (in-process here)
    assert rows(db)["poison"].attempts == 2


def test_after_the_last_attempt_it_is_quarantined_and_the_tenant_goes_on(runtime, db, poison_refused):
    poison = quarantine_poison(runtime, db)
    assert poison.attempts == MAX_ATTEMPTS and poison.quarantined_at is not None and poison.next_attempt_at is None
    make_retry_due(db)
    assert process_events("acme") == {"applied": 0, "stale": 0, "failed": 0, "batches": 0, "told_late": 0,
                                    "jobs_requeued": 0}
    assert enqueue_stuck_events(runtime, older_than_seconds=0) == []  # quarantine wakes nobody
    store_events(runtime, db.tenant_id("acme"), "zendesk", [event("later", "T-3", 1, "Thanks")])
    assert process_events("acme")["applied"] == 1
    [listed] = quarantined_events(runtime, "acme")
    assert (listed.id, listed.kind, listed.ticket_external_id, listed.attempts) == (
        poison.id, "ticket_created", "T-1", MAX_ATTEMPTS)
    assert quarantined_events(runtime, "beta") == []


def test_retry_after_the_fix_applies_it_and_a_retry_that_fails_again_goes_back(runtime, db, poison_refused):
    poison = quarantine_poison(runtime, db)
    again = retry_quarantined(runtime, "acme", poison.id)  # not fixed yet
    assert again.processed_at is None and again.quarantined_at is not None and again.attempts == MAX_ATTEMPTS + 1
    poison_refused()  # the fix
    applied = retry_quarantined(runtime, "acme", poison.id)
    assert applied.processed_at is not None and applied.quarantined_at is None
    with db.tenant_session(db.tenant_id("acme")) as session:
        bodies = session.scalars(select(MessageRow.body_raw)).all()
    assert any("POISON" in b for b in bodies)
    assert quarantined_events(runtime, "acme") == []


def test_events_cli_lists_and_retries_with_exit_codes_and_tenant_scoping(runtime, db, poison_refused):
    poison = quarantine_poison(runtime, db)
    store_events(runtime, db.tenant_id("beta"), "zendesk", [event("beta-1", "B-1", 5, "Hello")])
    process_events("beta")
    beta_event = rows(db, "beta")["beta-1"]
    cli = CliRunner()

    listed = cli.invoke(main, ["events", "--tenant", "acme", "--failed"])
    assert listed.exit_code == 0, listed.output
    assert str(poison.id) in listed.output and "ticket_created" in listed.output and "T-1" in listed.output
    assert f"attempts {MAX_ATTEMPTS}" in listed.output and SECRET_EMAIL not in listed.output
    as_json = json.loads(cli.invoke(main, ["events", "--tenant", "acme", "--failed", "--json"]).output)
    [entry] = as_json["quarantined"]
    assert entry["id"] == poison.id and entry["helpdesk"] == "zendesk" and entry["error"] and entry["quarantined_at"]
    summary = json.loads(cli.invoke(main, ["events", "--tenant", "acme", "--json"]).output)
    assert summary["quarantined"] == 1 and summary["applied"] == 1
    assert "no quarantined" in cli.invoke(main, ["events", "--tenant", "beta", "--failed"]).output

    for args, reason in [
        (["events", "retry", "999999", "--tenant", "acme"], "has no webhook event 999999"),
        (["events", "retry", str(beta_event.id), "--tenant", "acme"], f"has no webhook event {beta_event.id}"),
        (["events", "retry", str(poison.id), "--tenant", "beta"], f"has no webhook event {poison.id}"),
        (["events", "retry", str(beta_event.id), "--tenant", "beta"], "already applied"),
        (["events", "retry", str(poison.id), "--tenant", "nobody"], "no tenant named"),
        (["events", "--failed"], "--tenant"),
    ]:
        refused = cli.invoke(main, args)
        assert refused.exit_code == 2 and reason in refused.output, (args, refused.output)
    assert rows(db)["poison"].quarantined_at is not None  # none of that touched it

    failed_again = cli.invoke(main, ["events", "retry", str(poison.id), "--tenant", "acme"])
    assert failed_again.exit_code == 1 and "back in quarantine" in failed_again.output
    poison_refused()
    retried = cli.invoke(main, ["events", "retry", str(poison.id), "--tenant", "acme"])
    assert retried.exit_code == 0 and "applied" in retried.output, retried.output
    assert rows(db)["poison"].processed_at is not None


def test_values_the_database_used_to_refuse_are_fitted_on_both_databases(runtime, db, caplog):
    """The events that used to block a tenant on PostgreSQL: a requester name over 255 characters
    and NUL characters in a message, a subject, tags and custom fields."""
    long_name = "N" * 300
    store_events(runtime, db.tenant_id("acme"), "zendesk", [HelpdeskEvent(
        kind="ticket_created", event_id="nul-1", ticket_external_id="T-9", occurred_at=datetime.now(UTC),
        subject="Card\x00 lost", requester=Person(name=long_name, email="a\x00b@example.org"),
        organization="O" * 400, tags=["vip\x00"], custom_fields={"note\x00": "x\x00y", "list": ["a\x00"]},
        message=Message(author_role="customer", body="It never \x00arrived", author_name="M" * 300))])
    with caplog.at_level(logging.WARNING):
        counts = process_events("acme")
    assert counts == {"applied": 1, "stale": 0, "failed": 0, "batches": 1, "told_late": 0,
                      "jobs_requeued": 0}
    stored = ticket(db, "T-9")
    assert stored.subject == "Card lost" and stored.requester_name == "N" * 255
    assert stored.requester_email == "ab@example.org" and stored.organization == "O" * 255
    assert stored.tags == ["vip"] and stored.custom_fields == {"note": "xy", "list": ["a"]}
    with db.tenant_session(db.tenant_id("acme")) as session:
        message = session.scalar(select(MessageRow))
    assert message.body_raw == "It never arrived" and message.author_name == "M" * 255
    assert "requester_name" in caplog.text and "organization" in caplog.text and long_name not in caplog.text
