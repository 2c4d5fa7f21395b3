"""A webhook's events are stored only while the tenant's stamp is the one its secret was read at:
the check rides on the insert itself, so a rotation that commits between the delivery's
verification and its insert leaves nothing written, and a delivery verified with a stale secret
is never stored. Duplicates and a moved stamp are told apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.events import HelpdeskEvent
from core.helpdesk import webhook_events
from core.helpdesk.connections import add_tenant, forget_connections
from core.helpdesk.webhook_events import store_events_at_stamp
from core.runtime import Runtime
from core.store.tables import HelpdeskEventRow, TenantRow
from core.types import Message

ZENDESK = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-1"}


def _event(event_id: str, minutes_ago: int = 1) -> HelpdeskEvent:
    return HelpdeskEvent(kind="ticket_created", event_id=event_id, ticket_external_id=f"T-{event_id}",
                         occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), subject="Help",
                         tags=["billing"], message=Message(author_role="customer", body="Charged twice"))


def _stored(runtime: Runtime) -> dict[str, dict]:
    with runtime.db.tenant_session(runtime.db.tenant_id("acme")) as session:
        return {row.event_id: row.data for row in session.scalars(select(HelpdeskEventRow))}


def _stamp(runtime: Runtime) -> int:
    with runtime.db.admin_session() as session:
        return session.scalar(select(TenantRow.config_version).where(TenantRow.slug == "acme"))


@pytest.fixture
def acme(settings, db):
    """A runtime with tenant ``acme`` on Zendesk: (runtime, its id, its stamp)."""
    forget_connections()
    runtime = Runtime(settings)
    try:
        add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK, {"write_back_tags": False})
        yield runtime, runtime.db.tenant_id("acme"), _stamp(runtime)
    finally:
        runtime.close()
        forget_connections()


def test_events_are_stored_at_the_current_stamp_and_a_moved_stamp_writes_nothing(acme):
    runtime, tenant_id, stamp = acme
    with runtime.db.engine.connect() as conn:
        first = store_events_at_stamp(tenant_id, "zendesk", [_event("a"), _event("b", 2)], stamp, conn)
        assert first is not None and len(first) == 2
        # The same delivery again, with one new event: only the new one is stored.
        again = store_events_at_stamp(tenant_id, "zendesk", [_event("a"), _event("c")], stamp, conn)
        assert again is not None and len(again) == 1
        assert store_events_at_stamp(tenant_id, "zendesk", [_event("a")], stamp, conn) == []

    stored = _stored(runtime)
    assert sorted(stored) == ["a", "b", "c"]
    assert stored["a"]["tags"] == ["billing"] and stored["a"]["message"]["body"] == "Charged twice"

    with runtime.db.admin_session() as session:  # another process rotates a secret
        session.execute(update(TenantRow).where(TenantRow.slug == "acme")
                        .values(config_version=TenantRow.config_version + 1))
        session.commit()
    with runtime.db.engine.connect() as conn:
        assert store_events_at_stamp(tenant_id, "zendesk", [_event("d"), _event("e")], stamp, conn) is None
        # A duplicate at the old stamp is not "nothing new" either: the stamp moved.
        assert store_events_at_stamp(tenant_id, "zendesk", [_event("a")], stamp, conn) is None
        assert store_events_at_stamp(tenant_id, "zendesk", [_event("d")], stamp + 1, conn) is not None
    assert sorted(_stored(runtime)) == ["a", "b", "c", "d"]


def test_a_redelivery_is_answered_while_a_worker_batch_holds_the_stored_event(settings, acme, monkeypatch):
    """A worker applying a batch holds its events' rows for the whole batch (a second or more
    under load). A redelivery of one of them, arriving mid-batch, must not wait for the batch to
    commit: it is answered ``[]`` at once. On PostgreSQL the unique index waits for a transaction
    that has *updated* the stored row, so the batch marks its events applied only at its end; the
    lock timeout turns a wait into a failure here."""
    if settings.database_url.startswith("sqlite"):
        pytest.skip("one writer at a time: SQLite has no concurrent batch to wait for")
    runtime, tenant_id, stamp = acme
    with runtime.db.engine.connect() as conn:
        assert len(store_events_at_stamp(tenant_id, "zendesk", [_event("a", 3), _event("b", 2)], stamp, conn)) == 2

    answers = []
    apply_row = webhook_events._apply_row

    def apply_then_redeliver(session, tenant, row):
        applied = apply_row(session, tenant, row)
        with runtime.db.engine.connect() as web:  # the webhook's own connection, mid-batch
            web.exec_driver_sql("SET lock_timeout = '2s'")
            answers.append(store_events_at_stamp(tenant_id, "zendesk", [_event(row.event_id, 9)], stamp, web))
        return applied

    monkeypatch.setattr(webhook_events, "_apply_row", apply_then_redeliver)
    seen, done = webhook_events._apply_batch(runtime, tenant_id)
    assert (seen, len(done)) == (2, 2)
    assert answers == [[], []]
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.scalars(select(HelpdeskEventRow)).all()
    assert all(row.processed_at is not None and row.outcome.startswith("applied") for row in rows)
    assert sorted(row.event_id for row in rows) == ["a", "b"]
