"""Helpdesk events: stored once when a webhook arrives, applied to the ticket by a worker.

Receiving (:func:`store_events`) only inserts rows: the unique key (tenant, helpdesk, event id)
turns a duplicate delivery into nothing, and the webhook answers at once. Applying
(:func:`process_events`, an RQ job) updates the ticket under a row lock, in the order the events
happened, with one rule against rollbacks: a ticket's fields are only overwritten by an event at
least as new as the last one applied (helpdesks retry and reorder deliveries). Messages are added
once per helpdesk message id whatever their order, raw bodies cut to the ticket's budget
(:mod:`core.text.limits`), and the ticket's model text is rebuilt from them in time order.
Without Redis the same drain runs on a background thread of the web process
(:func:`start_drain`). An event that fails to apply is pinned on itself, retried with backoff and
then quarantined (:mod:`core.helpdesk.event_failures`); the tenant's other events go on.

Then the listeners hear about it (:mod:`core.dispatch.listeners`, the seam after every event; a notifier
or autonomy subscribes there). The two registered here: the learning loop (inline), where an
agent's reply on a ticket that had a draft becomes the draft-versus-sent signal, and a reopen, a
CSAT rating, a changed tag list or a reassignment to another group become their signals (each
keyed by its event, so it counts once); and write-back (a job), where a new customer message is
answered with a suggestion written back to the helpdesk when the tenant wants it. Anything
Deskloop itself wrote (our tags, our note) is stored but heard by nobody.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, bindparam, func, select, union_all, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import InterfaceError, OperationalError

from core.clock import aware_utc
from core.dispatch import drains
from core.dispatch.listeners import Occurrence, listen, publish
from core.dispatch.outbox import seconds_until_due
from core.dispatch.requeue import requeue_unfinished
from core.errors import BadInput, NotFound
from core.events import HelpdeskEvent
from core.helpdesk.event_failures import due_condition, record_failure
from core.helpdesk.page_fields import merged as merged_page_context
from core.labelling.taxonomy import load_aliases
from core.learning.kinds import TEACHING_EVENTS
from core.runtime import Runtime
from core.store.db import upsert_insert
from core.store.fitting import fit_and_note, fit_values
from core.store.tables import HelpdeskEventRow, MessageRow, SuggestionRow, TenantRow, TicketRow
from core.store.tenants import tenant_stamp
from core.store.tickets import apply_aliases, in_time_order, kept_raw, message_values, ticket_tone
from core.text.limits import MESSAGE_RAW_CHARS
from core.text.normalize import clean_message, clean_subject, text_for_model
from core.types import Csat, Message, Signal

log = logging.getLogger(__name__)


def store_events(runtime: Runtime, tenant_id: int, helpdesk: str, events: Sequence[HelpdeskEvent],
                 db: Connection | None = None) -> list[int]:
    """Insert ``events``; returns the ids of the rows that are new (duplicates are skipped). One
    Core statement, committed before this returns: this runs inside every webhook request, where
    the ORM session's bookkeeping would be pure overhead. ``db``: the request's connection (one
    checkout per delivery), committed here; else a connection of its own."""
    if not events:
        return []
    engine = runtime.db.engine
    statement = _insert_new_events(engine.dialect.name)
    rows = _event_rows(tenant_id, helpdesk, events)
    if db is None:
        with engine.begin() as own:
            return list(own.execute(statement, rows).scalars())
    new_ids = list(db.execute(statement, rows).scalars())
    db.commit()
    return new_ids


def store_events_at_stamp(tenant_id: int, helpdesk: str, events: Sequence[HelpdeskEvent], stamp: int,
                          db: Connection) -> list[int] | None:
    """Insert ``events`` only while the tenant's ``config_version`` is still ``stamp``, the one the
    delivery was verified at; returns the new rows' ids, ``[]`` when nothing was new, ``None`` when
    the stamp moved (or the tenant went) and nothing was written. One statement, committed on
    ``db``: the webhook's check that its cached secret is current costs no round trip of its own
    and can never pass a rotation that commits between a check and the insert."""
    if not events:
        return []
    rows = _event_rows(tenant_id, helpdesk, events)
    params = {f"{name}_{i}": value for i, row in enumerate(rows) for name, value in row.items()}
    new_ids = list(db.execute(_insert_at_stamp(db.dialect.name, len(rows)),
                              {**params, "stamp_tenant": tenant_id, "stamp": stamp}).scalars())
    db.commit()
    if new_ids:
        return new_ids
    # Nothing new: all duplicates, or a stamp that moved. Only the stamp tells them apart.
    return [] if tenant_stamp(db, tenant_id) == stamp else None


def _event_rows(tenant_id: int, helpdesk: str, events: Sequence[HelpdeskEvent]) -> list[dict]:
    now = datetime.now(UTC)
    return [{"tenant_id": tenant_id, "helpdesk": helpdesk, "event_id": e.event_id, "kind": e.kind,
             "ticket_external_id": e.ticket_external_id, "occurred_at": e.occurred_at,
             "data": e.model_dump(mode="json"), "received_at": now} for e in events]


_EVENT_COLUMNS = ("tenant_id", "helpdesk", "event_id", "kind", "ticket_external_id", "occurred_at", "data",
                  "received_at")


@functools.cache
def _insert_at_stamp(dialect: str, count: int):
    """``INSERT .. SELECT`` of ``count`` events, each row selected only where the tenant's stamp
    is the expected one; built once per dialect and row count. PostgreSQL gets the JSON column's
    type spelled out (a bare parameter in a select list would be text)."""
    table = HelpdeskEventRow.__table__
    current = select(TenantRow.config_version).where(TenantRow.id == bindparam("stamp_tenant")).scalar_subquery()

    def value(name: str, i: int):
        parameter = bindparam(f"{name}_{i}", type_=table.c[name].type)
        return sql_cast(parameter, table.c[name].type) if dialect == "postgresql" and name == "data" else parameter

    rows = [select(*[value(name, i).label(name) for name in _EVENT_COLUMNS]) for i in range(count)]
    incoming = (rows[0] if count == 1 else union_all(*rows)).subquery("incoming")
    # The condition on the outer select (SQLite reads ``.. FROM (..) ON CONFLICT`` as a join without one).
    source = select(*incoming.c).where(current == bindparam("stamp"))
    return upsert_insert(dialect, table).from_select(list(_EVENT_COLUMNS), source).on_conflict_do_nothing(
        index_elements=["tenant_id", "helpdesk", "event_id"]).returning(table.c.id)


@functools.cache
def _insert_new_events(dialect: str):
    """The insert that skips events already stored, built once per dialect (every delivery runs it)."""
    return upsert_insert(dialect, HelpdeskEventRow.__table__).on_conflict_do_nothing(
        index_elements=["tenant_id", "helpdesk", "event_id"]).returning(HelpdeskEventRow.__table__.c.id)


#: Pending events applied per transaction: one commit (one WAL flush) for a batch instead of
#: one per event; small enough that a batch's row locks are held only briefly.
BATCH_SIZE = 100


#: How long a tenant's "events are pending" flag lives in Redis: deliveries within this window
#: share one processing job (a drain) instead of enqueueing one each.
PENDING_FLAG_MS = 500


def _pending_flag(tenant_slug: str) -> str:
    return f"deskloop:events-pending:{tenant_slug}"


#: Of the flag's remaining life (read with it), the share a process trusts it without asking Redis
#: again (Redis counts from its receipt, after the time the process noted; the rest is a margin).
_TRUSTED_SHARE = 0.8


def schedule_processing(runtime: Runtime, tenant_slug: str) -> str:
    """Make sure a job will apply the tenant's pending events; called after every stored delivery.

    Without Redis the events are applied in this process, on a background drain thread
    (:mod:`core.dispatch.drains`, one per tenant), so the webhook is answered first. With Redis,
    the first delivery in a :data:`PENDING_FLAG_MS` window sets the tenant's flag and enqueues a
    drain; the others only find the flag set (one Redis round trip instead of an enqueue: at 200
    deliveries a second an enqueue each cost the web process and the workers a core), or ask
    nothing while this process knows the flag set (the same round trip reads how long it has
    left). No event is left behind: a drain only stops after seeing the flag expired *and then* no
    pending event, and the flag outlives every delivery that found it set (or knew it set), so
    anything stored under the flag is seen by that last look. (A Redis that restarts loses the
    flag early: the scheduler's sweep finds what was left pending.)
    """
    from core.dispatch.queue import enqueue, redis_connection

    redis_url = runtime.settings.redis_url
    if not redis_url:
        return "background" if start_drain(runtime, tenant_slug) else "draining"
    key = ("events-pending", tenant_slug)
    if runtime.knows(key):
        return "pending"
    # The trust window is measured from before the commands reach Redis, so it ends before the flag.
    asked_at = time.monotonic()
    pipe = redis_connection(runtime.settings).pipeline(transaction=False)
    pipe.set(_pending_flag(tenant_slug), 1, nx=True, px=PENDING_FLAG_MS)
    pipe.pttl(_pending_flag(tenant_slug))
    was_set, left_ms = pipe.execute()
    mode = enqueue(process_events, tenant_slug, settings=runtime.settings).mode if was_set else "pending"
    if left_ms > 0:  # set by this delivery or another: it lives at least this long after asked_at
        runtime.remember(key, asked_at + left_ms / 1000 * _TRUSTED_SHARE - time.monotonic())
    return mode


def process_events(tenant_slug: str) -> dict[str, int]:
    """The worker job: apply the tenant's pending events, oldest first, in batches, then act on
    them. Enqueued by :func:`schedule_processing` (once per tenant per flag window) and by the
    scheduler's sweep; a job drains whatever is pending, whoever stored it. Concurrent workers skip
    each other's locked rows; an event already processed is never applied twice. An event that
    fails to apply is set aside for a later attempt (:mod:`core.helpdesk.event_failures`) and the
    others go on."""
    from core.runtime import for_jobs

    return drain_events(for_jobs(), tenant_slug)


def start_drain(runtime: Runtime, tenant_slug: str) -> bool:
    """The embedded default's drain: :func:`drain_events` on a background thread of this process,
    one per tenant at a time, woken again when the tenant's next retry is due, or its next listener
    job that has not completed is (:func:`core.dispatch.outbox.seconds_until_due`). Returns whether a
    new thread started (False: the running one goes round once more)."""
    def work() -> float | None:
        drain_events(runtime, tenant_slug)
        waits = [w for w in (seconds_until_retry(runtime, tenant_slug), seconds_until_due(runtime, tenant_slug))
                 if w is not None]
        return min(waits, default=None)

    return drains.start((id(runtime), tenant_slug), tenant_slug, work)


def seconds_until_retry(runtime: Runtime, tenant_slug: str) -> float | None:
    """Seconds until the tenant's next event waiting for a retry is due (None: none waits)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        due = session.scalar(select(func.min(HelpdeskEventRow.next_attempt_at)).where(
            HelpdeskEventRow.processed_at.is_(None), HelpdeskEventRow.quarantined_at.is_(None)))
    if due is None:
        return None
    return max((aware_utc(due) - datetime.now(UTC)).total_seconds(), 0.0) + 0.1


def drain_events(runtime: Runtime, tenant_slug: str) -> dict[str, int]:
    """Apply the tenant's due events until none is left (see :func:`process_events`). First it
    tells the listeners of events an earlier drain applied without telling, and queues again the
    listener jobs that never completed (:func:`core.dispatch.requeue.requeue_unfinished`)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    counts = {"applied": 0, "stale": 0, "failed": 0, "batches": 0}
    flagged = _flag_reader(runtime, tenant_slug)
    counts["told_late"] = tell_untold(runtime, tenant_slug, tenant_id)
    counts["jobs_requeued"] = requeue_unfinished(runtime, tenant_slug)
    while True:
        deliveries_pending = flagged()  # read before looking for events: see schedule_processing
        seen, done = _apply_batch(runtime, tenant_id)
        if not seen:
            if not deliveries_pending:
                log.info("webhook events of %s: %d applied, %d stale, %d failed, in %d batches", tenant_slug,
                         counts["applied"], counts["stale"], counts["failed"], counts["batches"])
                return counts
            time.sleep(0.05)  # a delivery may be storing its events right now
            continue
        counts["batches"] += 1
        counts["failed"] += seen - len(done)
        told = []
        for applied in done:  # after the commit: signals read what was applied
            counts["stale" if applied.outcome.startswith("stale") else "applied"] += 1
            if _after(runtime, tenant_slug, applied.helpdesk, applied.event, applied.tags_changed):
                told.append(applied.row_id)
        _mark_told(runtime, tenant_id, told)


#: An applied event whose listeners were not told this long after it was applied was left by a
#: drain that died between its commit and the telling (a killed worker): the next drain tells them.
#: Long enough that a live drain is done telling its batch; listener jobs have fixed ids and the
#: learning signal one per event, so telling twice does not act twice.
TELL_GRACE_SECONDS = 60


def untold_condition(now: datetime):
    """Applied events whose listeners were still not told :data:`TELL_GRACE_SECONDS` later."""
    return (HelpdeskEventRow.processed_at.is_not(None) & HelpdeskEventRow.published_at.is_(None)
            & (HelpdeskEventRow.processed_at < now - timedelta(seconds=TELL_GRACE_SECONDS)))


def tell_untold(runtime: Runtime, tenant_slug: str, tenant_id: int, limit: int = 1000) -> int:
    """Tell the listeners of applied events nobody told (see :data:`TELL_GRACE_SECONDS`); returns how many."""
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.execute(select(HelpdeskEventRow.id, HelpdeskEventRow.helpdesk, HelpdeskEventRow.data,
                                      HelpdeskEventRow.tags_changed)
                               .where(untold_condition(datetime.now(UTC)))
                               .order_by(HelpdeskEventRow.processed_at).limit(limit)).all()
    told = [row_id for row_id, helpdesk, data, tags_changed in rows
            if _after(runtime, tenant_slug, helpdesk, HelpdeskEvent.model_validate(data), bool(tags_changed))]
    _mark_told(runtime, tenant_id, told)
    if rows:
        log.warning("webhook events of %s: told the listeners of %d applied events an earlier drain had not",
                    tenant_slug, len(told))
    return len(told)


def _mark_told(runtime: Runtime, tenant_id: int, row_ids: list[int]) -> None:
    if not row_ids:
        return
    with runtime.db.transaction(tenant_id) as session:
        session.execute(update(HelpdeskEventRow).where(HelpdeskEventRow.id.in_(row_ids))
                        .values(published_at=datetime.now(UTC)))


@dataclass(frozen=True)
class _Applied:
    row_id: int
    helpdesk: str
    event: HelpdeskEvent
    outcome: str
    tags_changed: bool


#: Errors that say nothing about the event (the database is unreachable, locked or shutting
#: down): the drain stops and the events stay pending, without counting an attempt against them.
_TRANSIENT = (OperationalError, InterfaceError)


def _apply_batch(runtime: Runtime, tenant_id: int) -> tuple[int, list[_Applied]]:
    """Apply up to :data:`BATCH_SIZE` due events in one transaction; returns how many were due and
    those applied. When any of them fails, the batch is rolled back and its events are applied one
    by one, each in its own transaction, so the failure is pinned on its event alone."""
    ids: list[int] = []
    try:
        with runtime.db.transaction(tenant_id) as session:
            rows = session.scalars(_due_events().limit(BATCH_SIZE)).all()
            ids = [row.id for row in rows]
            return len(rows), _apply_rows(session, tenant_id, rows)
    except _TRANSIENT:
        raise
    except Exception:  # noqa: BLE001 - pinned on its event below, and recorded there
        if not ids:
            raise  # the batch could not even be read: nothing to pin it on
    done = [_apply_alone(runtime, tenant_id, event_row_id) for event_row_id in ids]
    return len(ids), [applied for applied in done if applied is not None]


def _due_events():
    return (select(HelpdeskEventRow).where(due_condition(datetime.now(UTC)))
            .order_by(HelpdeskEventRow.occurred_at, HelpdeskEventRow.id).with_for_update(skip_locked=True))


def _apply_alone(runtime: Runtime, tenant_id: int, event_row_id: int, operator_retry: bool = False) -> _Applied | None:
    """Apply one event in its own transaction; a failure is recorded on the event (see
    :func:`core.helpdesk.event_failures.record_failure`) and returns None. Why catch everything
    here: whatever the cause (a value the database refuses, data that no longer reads, our bug),
    one event must not hold up the tenant's others; the failure is kept on the row, logged without
    values, and listed for an operator."""
    try:
        with runtime.db.transaction(tenant_id) as session:
            statement = select(HelpdeskEventRow).where(HelpdeskEventRow.id == event_row_id)
            if not operator_retry:
                statement = statement.where(due_condition(datetime.now(UTC)))
            row = session.scalar(statement.with_for_update(skip_locked=True))
            if row is None or row.processed_at is not None:
                return None  # applied meanwhile, or another worker holds it
            return _apply_rows(session, tenant_id, [row])[0]
    except _TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        record_failure(runtime, tenant_id, event_row_id, exc, quarantine_now=operator_retry)
        return None


def _apply_rows(session, tenant_id: int, rows: Sequence[HelpdeskEventRow]) -> list[_Applied]:
    """Apply locked events in order, then mark them applied (:func:`_mark_applied`)."""
    applied = [_apply_row(session, tenant_id, row) for row in rows]
    _mark_applied(session, tenant_id, applied)
    return applied


def _apply_row(session, tenant_id: int, row: HelpdeskEventRow) -> _Applied:
    """Apply one locked event to its ticket; the event's own row is marked later, by
    :func:`_mark_applied`."""
    event = HelpdeskEvent.model_validate(row.data)
    outcome, tags_changed = _apply(session, tenant_id, row.helpdesk, event)
    session.flush()  # a value the database refuses fails here, on this event
    return _Applied(row.id, row.helpdesk, event, outcome, tags_changed)


def _mark_applied(session, tenant_id: int, applied: list[_Applied]) -> None:
    """Mark the transaction's applied events processed, in one statement just before it commits.

    Why last: a stored event that is *updated* by an open transaction makes PostgreSQL's unique
    index wait for that transaction when the event is delivered again (``ON CONFLICT`` must know
    whether the row survives), so marking each event as it was applied made a webhook redelivery
    wait for the rest of the worker's batch, a second or more under load. Rows that are only
    locked (``FOR UPDATE``) cost the redelivery no wait."""
    if not applied:
        return
    table = HelpdeskEventRow.__table__
    now = datetime.now(UTC)
    session.execute(
        update(table).where(table.c.tenant_id == tenant_id, table.c.id == bindparam("row_id"))
        .values(processed_at=now, outcome=bindparam("applied_outcome"), next_attempt_at=None,
                tags_changed=bindparam("applied_tags_changed")),
        [{"row_id": a.row_id, "applied_outcome": a.outcome, "applied_tags_changed": a.tags_changed} for a in applied])


class NotQuarantined(BadInput):
    """``events retry`` was given an event that is not waiting in quarantine."""


def retry_quarantined(runtime: Runtime, tenant_slug: str, event_row_id: int) -> HelpdeskEventRow:
    """Apply one quarantined event of the tenant now (after a fix) and tell the listeners. Returns
    its row: applied (``processed_at`` set) or, if it failed again, back in quarantine with the new
    error. Raises :class:`~core.errors.NotFound` for an id the tenant does not have (another
    tenant's included) and :class:`NotQuarantined` for one that is not quarantined."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(HelpdeskEventRow).where(HelpdeskEventRow.id == event_row_id).with_for_update())
        if row is None:
            raise NotFound(f"tenant {tenant_slug!r} has no webhook event {event_row_id}")
        if row.processed_at is not None or row.quarantined_at is None:
            state = "already applied" if row.processed_at is not None else "not quarantined (it is still pending)"
            raise NotQuarantined(f"webhook event {event_row_id} is {state}; only a quarantined event is retried")
        row.quarantined_at, row.next_attempt_at = None, None
    applied = _apply_alone(runtime, tenant_id, event_row_id, operator_retry=True)
    if applied is not None and _after(runtime, tenant_slug, applied.helpdesk, applied.event, applied.tags_changed):
        _mark_told(runtime, tenant_id, [applied.row_id])
    with runtime.db.tenant_session(tenant_id) as session:
        return session.scalars(select(HelpdeskEventRow).where(HelpdeskEventRow.id == event_row_id)).one()


def _flag_reader(runtime: Runtime, tenant_slug: str):
    """A function telling whether the tenant's pending flag is set (always False without Redis)."""
    if not runtime.settings.redis_url:
        return lambda: False
    from core.dispatch.queue import redis_connection

    client, key = redis_connection(runtime.settings), _pending_flag(tenant_slug)
    return lambda: bool(client.exists(key))


def _apply(session, tenant_id: int, helpdesk: str, event: HelpdeskEvent) -> tuple[str, bool]:
    """Apply one locked, pending event to its ticket. Returns what happened and whether the
    ticket's tags changed."""
    ticket = _locked_ticket(session, tenant_id, helpdesk, event)
    tags_before = list(ticket.tags or [])
    newest = aware_utc(ticket.updated_at)
    fresh = newest is None or event.occurred_at >= newest
    if fresh:
        _apply_fields(ticket, event, _tag_aliases(session) if event.tags is not None else {})
    if event.kind == "reopened":
        ticket.reopen_count = (ticket.reopen_count or 0) + 1
    added = _add_message(session, tenant_id, ticket, event, event.message) if event.message is not None else False
    outcome = ("applied" if fresh else "stale: fields kept (a newer event was applied)") + \
        ("; message added" if added else "")
    return outcome, sorted(ticket.tags or []) != sorted(tags_before)


def _tag_aliases(session) -> dict[str, str]:
    """The tenant's tag aliases, read once per transaction: a batch's events share them instead of
    reading the table once each."""
    if "tag_aliases" not in session.info:
        session.info["tag_aliases"] = load_aliases(session)
    return session.info["tag_aliases"]


def _locked_ticket(session, tenant_id: int, helpdesk: str, event: HelpdeskEvent) -> TicketRow:
    """The ticket the event is about, locked; created (empty) when this is the first word of it.
    Looked for first: most events are about a ticket already stored, and the insert it then skips
    was a round trip per event. Two drains creating one ticket at once meet at the insert's
    ``ON CONFLICT``; the loser's lock then waits for the winner's commit."""
    key, _ = fit_values(TicketRow.__table__, {"source": helpdesk, "external_id": event.ticket_external_id})
    locked = (select(TicketRow).where(TicketRow.source == key["source"], TicketRow.external_id == key["external_id"])
              .with_for_update().execution_options(populate_existing=True))
    ticket = session.scalar(locked)
    if ticket is not None:
        return ticket
    session.execute(upsert_insert(session.get_bind().dialect.name, TicketRow.__table__).on_conflict_do_nothing(
        index_elements=["tenant_id", "source", "external_id"]).values(
        tenant_id=tenant_id, **key, subject="", text="",
        tags=[], reopen_count=0, custom_fields={}, macros=[], content_hash="", imported_at=datetime.now(UTC),
        created_at=event.created_at or event.occurred_at))
    return session.scalar(locked)


def _apply_fields(ticket: TicketRow, event: HelpdeskEvent, aliases: dict[str, str]) -> None:
    """Set what the event says on the ticket, every value fitted to its column first
    (:mod:`core.store.fitting`): a NUL or an over-long name must not make the event unstorable."""
    changes: dict[str, object] = {}
    if event.subject is not None:
        changes["subject"] = event.subject
    if event.requester is not None:
        changes["requester_name"] = event.requester.name or ticket.requester_name
        changes["requester_email"] = event.requester.email or ticket.requester_email
        changes["requester_external_id"] = event.requester.external_id or ticket.requester_external_id
    for name in ("organization", "priority", "status", "channel", "assignee", "ticket_type", "form"):
        if getattr(event, name) is not None:
            changes[name] = getattr(event, name)
    if event.group is not None:
        changes["assigned_group"] = event.group
    if event.tags is not None:
        changes["tags"] = apply_aliases(event.tags, aliases)
    if event.custom_fields is not None:
        changes["custom_fields"] = {**(ticket.custom_fields or {}), **event.custom_fields}
    if event.macros is not None:
        changes["macros"] = list(event.macros)
    if event.page_context is not None:
        changes["page_context"] = merged_page_context(ticket.page_context, event.page_context)
    if event.csat is not None:
        changes["csat_score"], changes["csat_comment"] = event.csat.score, event.csat.comment
    if event.status in ("solved", "closed") and ticket.solved_at is None:
        changes["solved_at"] = event.occurred_at
    changes["updated_at"] = event.occurred_at
    changes["content_hash"] = ""  # no longer what an import wrote: a re-import must not be skipped
    fitted = fit_and_note(TicketRow.__table__, changes, f"ticket {ticket.source}:{ticket.external_id}")
    for name, value in fitted.items():
        setattr(ticket, name, value)


def _add_message(session, tenant_id: int, ticket: TicketRow, event: HelpdeskEvent, message: Message) -> bool:
    """Add the event's ``message`` unless the ticket has it already; rebuild the ticket's text."""
    existing = session.scalars(select(MessageRow).where(MessageRow.ticket_id == ticket.id)).all()
    raw = kept_raw([message], already=sum(len(m.body_raw or "") for m in existing))[0]
    values = message_values(tenant_id, position=max((m.position for m in existing), default=-1) + 1,
                            message=message, created_at=message.created_at or event.occurred_at,
                            external_id=event.message_external_id, raw=raw)  # fitted to the columns there
    if values["external_id"] is not None and any(m.external_id == values["external_id"] for m in existing):
        return False
    added = MessageRow(ticket_id=ticket.id, **values)
    session.add(added)
    if message.author_role == "agent" and message.public and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at or event.occurred_at
    _rebuild_text(ticket, [*existing, added])
    return True


def _rebuild_text(ticket: TicketRow, messages: list[MessageRow]) -> None:
    """The model text and tone from the customer's public messages in time order (deliveries
    may have added them out of order)."""
    customer = [m for m in in_time_order(messages) if m.author_role == "customer" and m.public and m.body]
    ticket.text = text_for_model(clean_subject(ticket.subject or ""), [m.body for m in customer])
    tone = ticket_tone(customer)
    if tone is not None:
        ticket.sentiment, ticket.urgent = tone


# What the learning loop and the helpdesk hear ------------------------------------------------


def _after(runtime: Runtime, tenant_slug: str, helpdesk: str, event: HelpdeskEvent, tags_changed: bool) -> bool:
    """Tell the listeners (:mod:`core.dispatch.listeners`) about one applied event; anything Deskloop wrote
    itself (our tags, our note) is heard by nobody. A listener's failure is logged, not raised:
    the event is stored and applied, and retrying it would not make a signal any truer. Returns
    False when a listener's job could not be queued: the event is then told again later."""
    if event.from_deskloop:
        return True
    return publish(runtime, Occurrence("event", tenant_slug, helpdesk, event.kind, event.event_id,
                                       event.model_dump(mode="json"), {"tags_changed": tags_changed}))


@listen("learning-signal", "event", TEACHING_EVENTS)
def _record_learning_signal(runtime: Runtime, occurrence: Occurrence) -> None:
    """The learning signal the event carries (see :mod:`core.learning.kinds`), inline: the next
    suggestion must already see it."""
    event = HelpdeskEvent.model_validate(occurrence.data)
    if event.kind == "fields_changed" and not occurrence.extra.get("tags_changed"):
        return
    signal = _signal_for(runtime, occurrence.tenant, occurrence.source, event)
    if signal is not None:
        from core.learning.feedback import record_signal

        record_signal(runtime, occurrence.tenant, signal)


def _write_back_wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return _wants_write_back(runtime, occurrence.tenant)


@listen("write-back", "event", ("ticket_created", "customer_replied"), as_job=True, wanted=_write_back_wanted)
def _write_back(runtime: Runtime, occurrence: Occurrence) -> str:
    """Suggest for a new customer message and write back what the tenant allows (a job); returns
    what was written."""
    from core.helpdesk.write_back import write_back

    return write_back(occurrence.tenant, occurrence.source, occurrence.data["ticket_external_id"])


def _wants_write_back(runtime: Runtime, tenant_slug: str) -> bool:
    from core.helpdesk.connections import connection

    settings = connection(runtime, tenant_slug).settings
    return bool(settings.get("write_back_tags") or settings.get("private_note"))


def _signal_for(runtime: Runtime, tenant_slug: str, helpdesk: str, event: HelpdeskEvent) -> Signal | None:
    """The learning signal an event carries, about the ticket's latest suggestion (none without one)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.source == helpdesk,
                                                              TicketRow.external_id == event.ticket_external_id))
        latest = session.scalar(select(SuggestionRow).where(SuggestionRow.ticket_id == ticket_id)
                                .order_by(SuggestionRow.id.desc()).limit(1)) if ticket_id else None
        if latest is None:
            return None
        with_draft = latest if latest.draft else session.scalar(
            select(SuggestionRow).where(SuggestionRow.ticket_id == ticket_id, SuggestionRow.draft.is_not(None))
            .order_by(SuggestionRow.id.desc()).limit(1))
        latest_tags = sorted(t["tag"] for t in latest.tags or [])
    source = f"{helpdesk}:{event.event_id}"
    actor = event.assignee or (event.message.author_name if event.message else None)
    # A checked event has the fields its kind needs (core.events.REQUIRED_FIELDS).
    if event.kind == "agent_replied" and cast(Message, event.message).public and with_draft is not None:
        return Signal(kind="draft_sent", suggestion_id=with_draft.id, actor=actor, source_event=source,
                      payload={"sent": clean_message(cast(Message, event.message).body, MESSAGE_RAW_CHARS)})
    if event.kind == "reopened":
        return Signal(kind="reopened", ticket_id=ticket_id, source_event=source)
    if event.kind == "csat_received":
        rating = cast(Csat, event.csat)
        return Signal(kind="csat", ticket_id=ticket_id, source_event=source,
                      payload={"rating": rating.score, "comment": rating.comment})
    if event.kind == "fields_changed" and event.tags is not None and sorted(event.tags) != latest_tags:
        return Signal(kind="tag_changed", suggestion_id=latest.id, actor=actor, source_event=source,
                      payload={"tags": event.tags})
    if event.kind == "reassigned" and event.group is not None:
        return Signal(kind="escalated", suggestion_id=latest.id, actor=actor, source_event=source,
                      payload={"group": event.group, "assignee": event.assignee})
    return None
