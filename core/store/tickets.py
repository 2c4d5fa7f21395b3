"""Writing tickets in bulk and reading them back in the common shape.

Imports and helpdesk syncs send the same ticket again and again, so writes are upserts on the
natural key ``(tenant_id, source, external_id)``: one ``INSERT ... ON CONFLICT DO UPDATE`` per
batch (the SQLite and PostgreSQL dialects both have it), then the ticket's messages are replaced.
A ticket whose ``content_hash`` has not changed is skipped entirely, so re-importing a file is
cheap and leaves every row as it was.

How the helpdesk sorted a ticket (``ticket_type``, ``group``, ``form``) is "not said" when
``None``: an upsert keeps the stored value then rather than erasing it. A backfill page or an
import that does not know a ticket's group (a helpdesk whose list endpoint omits it, a JSONL line
without the field) must not undo what a webhook's reassignment recorded; the price is that a
group cleared in the helpdesk stays until something names another. ``macros`` are replaced whole:
only a source that knows them sends them.

Raw bodies are kept up to their caps (:func:`core.text.limits.raw_budgets`: per message and per
ticket) and cleaned from what is kept, so a ticket of any size costs a bounded amount to store,
clean and score; a cut body ends with a visible marker.

Writes name ``tenant_id`` explicitly (Core statements bypass the session's ORM scoping); reads are
ORM statements, which the tenant-scoped session filters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, select
from sqlalchemy.orm import Session

from core.clock import aware_utc
from core.store.db import upsert_insert
from core.store.fitting import column_limits, fit_and_note, fit_values
from core.store.tables import MessageRow, TagAliasRow, TicketRow
from core.text.limits import MESSAGE_RAW_CHARS, raw_budgets, truncated
from core.text.normalize import CLEANER_VERSION, clean_message, clean_subject, text_for_model
from core.text.sentiment import TONE_VERSION, Tone
from core.text.sentiment import analyze as analyze_tone
from core.types import Csat, Message, PageContext, Person, Ticket

#: Rows per statement: large enough to amortize round trips, small enough for SQLite's 32k
#: bound-parameter limit (a ticket row has 31 values: 31,000 parameters a statement).
BATCH_SIZE = 1000

#: Ticket fields an import checks against their column (the Ticket field's name -> the column's):
#: a file the user can fix is refused with the line and field rather than cut to fit.
_CHECKED_COLUMNS = {"source": "source", "external_id": "external_id", "organization": "organization",
                    "intent": "intent", "channel": "channel", "ticket_type": "ticket_type",
                    "group": "assigned_group", "form": "form", "priority": "priority", "status": "status",
                    "requester.name": "requester_name", "requester.email": "requester_email",
                    "requester.external_id": "requester_external_id"}
#: Tags are kept in a JSON list, but a tag longer than an alias could ever name is refused too.
_TAG_COLUMN = "alias"

_UPDATED_COLUMNS = (
    "subject", "text", "requester_name", "requester_email", "requester_external_id", "organization", "tags",
    "intent", "priority", "status", "channel", "created_at", "updated_at", "first_response_at", "solved_at",
    "csat_score", "csat_comment", "reopen_count", "custom_fields", "page_context", "content_hash", "imported_at",
    "sentiment", "urgent", "macros",
)
#: Updated only when the new row says something (see the module docstring).
_KEPT_WHEN_UNSAID = ("ticket_type", "assigned_group", "form")


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: new tickets, changed tickets, and tickets that were already identical."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.inserted + other.inserted, self.updated + other.updated,
                            self.unchanged + other.unchanged)


@dataclass(frozen=True)
class StoredTicket:
    """A ticket as stored: its database id, the common shape (raw bodies) and the cleaned text."""

    id: int
    ticket: Ticket
    text: str
    clean_bodies: list[str]
    sentiment: str | None = None  # of the latest customer message
    urgent: bool | None = None
    cluster_key: int | None = None
    message_tones: list[tuple[str | None, bool | None]] | None = None  # (sentiment, urgent) per message


class FieldTooLong(ValueError):
    """A value does not fit its column; ``field`` names the Ticket field."""

    def __init__(self, field: str, limit: int, length: int):
        self.field = field
        super().__init__(f"{length} characters, at most {limit} allowed")


def apply_aliases(labels: Iterable[str], aliases: dict[str, str]) -> list[str]:
    """Tags mapped to their canonical names, de-duplicated in first-seen order."""
    seen: dict[str, None] = {}
    for label in labels:
        seen.setdefault(aliases.get(label, label), None)
    return list(seen)


def canonical_intent(intent: str | None, aliases: dict[str, str]) -> str | None:
    """The intent mapped through the alias map (aliases are stored in tag form: lower-case, dashes)."""
    if not intent:
        return intent or None
    key = "-".join(intent.strip().lower().split())
    return aliases.get(key, intent)


def check_lengths(ticket: Ticket) -> None:
    """Raise :class:`FieldTooLong` naming the first value that would not fit its column (limits
    read from the tables). Imports check first, so the user learns the line and field; what
    reaches :func:`upsert_tickets` unchecked is cut to fit there (:mod:`core.store.fitting`)."""
    ticket_limits = column_limits(TicketRow.__table__)
    person = ticket.requester
    values = {
        "source": ticket.source, "external_id": ticket.external_id, "organization": ticket.organization,
        "intent": ticket.intent, "channel": ticket.channel, "ticket_type": ticket.ticket_type,
        "group": ticket.group, "form": ticket.form, "priority": ticket.priority, "status": ticket.status,
        "requester.name": person.name if person else None,
        "requester.email": person.email if person else None,
        "requester.external_id": person.external_id if person else None,
    }
    for field, value in values.items():
        limit = ticket_limits[_CHECKED_COLUMNS[field]]
        if value is not None and len(value) > limit:
            raise FieldTooLong(field, limit, len(value))
    message_limits = column_limits(MessageRow.__table__)
    for i, message in enumerate(ticket.messages):
        for name in ("author_name", "external_id"):
            value = getattr(message, name)
            if value is not None and len(value) > message_limits[name]:
                raise FieldTooLong(f"messages.{i}.{name}", message_limits[name], len(value))
    tag_limit = column_limits(TagAliasRow.__table__)[_TAG_COLUMN]
    for tag in ticket.tags:
        if len(tag) > tag_limit:
            raise FieldTooLong("tags", tag_limit, len(tag))


def model_text(ticket: Ticket, cleaned: list[str] | None = None) -> str:
    """What models read: the cleaned subject (unless it only repeats the first message's words,
    see :func:`core.text.normalize.text_for_model`) and the customer's public messages, cleaned.
    ``cleaned`` passes bodies already cleaned, in message order."""
    cleaned = cleaned if cleaned is not None else [clean_message(body) for body in kept_raw(ticket.messages)]
    customer = [body for m, body in zip(ticket.messages, cleaned, strict=True)
                if m.author_role == "customer" and m.public and body]
    return text_for_model(clean_subject(ticket.subject), customer)


def message_values(tenant_id: int, position: int, message: Message, body: str | None = None, tone=None,
                   created_at: datetime | None = None, external_id: str | None = None,
                   raw: str | None = None) -> dict:
    """One ``messages`` row: the raw body kept (``raw``: cut to the ticket's budget by the caller,
    else to :data:`MESSAGE_RAW_CHARS` here) beside the cleaned one (``body``, cleaned here when not
    given) and, for a customer's message, its tone (``tone``, analysed here when not given).
    ``created_at`` and ``external_id`` default to the message's own (a webhook event knows them
    when the message does not)."""
    raw = truncated(message.body, MESSAGE_RAW_CHARS) if raw is None else raw
    body = clean_message(raw) if body is None else body
    if tone is None and message.author_role == "customer" and body:
        tone = analyze_tone(body)
    return fit_and_note(MessageRow.__table__, {
        "tenant_id": tenant_id,
        "position": position,
        "author_role": message.author_role,
        "public": message.public,
        "author_name": message.author_name,
        "body_raw": raw,
        "body": body,
        "created_at": aware_utc(created_at or message.created_at),
        "external_id": external_id if external_id is not None else message.external_id,
        **tone_columns(tone),
    }, "a message")


def tone_columns(tone: Tone | None) -> dict[str, Any]:
    """A message row's tone columns (all ``None`` for a message not read: not the customer's, or empty)."""
    return {"sentiment": tone.sentiment if tone else None,
            "sentiment_score": tone.score if tone else None,
            "urgent": tone.urgent if tone else None}


def in_time_order(messages: Sequence[MessageRow]) -> list[MessageRow]:
    """Stored messages in the order they were written: by time, then position (deliveries may
    have stored them out of order)."""
    return sorted(messages, key=lambda m: (aware_utc(m.created_at) or datetime.min.replace(tzinfo=UTC), m.position))


def ticket_tone(customer: Sequence[Any]) -> tuple[str, bool] | None:
    """A ticket's tone from its customer messages' tones (anything with ``sentiment`` and
    ``urgent``: a :class:`Tone` or a message row), oldest first: the latest one's sentiment, and
    whether any reads urgent; ``None`` when none was read."""
    toned = [m for m in customer if m.sentiment is not None]
    if not toned:
        return None
    return toned[-1].sentiment, any(m.urgent for m in toned)


def kept_raw(messages: Sequence[Message], already: int = 0) -> list[str]:
    """The raw bodies of ``messages`` as stored: each cut to its budget (:func:`raw_budgets`),
    ``already`` being the raw characters the ticket stores before them."""
    budgets = raw_budgets([len(m.body) for m in messages], already)
    return [truncated(m.body, budget) for m, budget in zip(messages, budgets, strict=True)]


def _rows(tenant_id: int, ticket: Ticket, aliases: dict[str, str], now: datetime) -> tuple[dict, list[dict]]:
    raw = kept_raw(ticket.messages)
    cleaned = [clean_message(body) for body in raw]
    tones = [analyze_tone(body) if m.author_role == "customer" and body else None
             for m, body in zip(ticket.messages, cleaned, strict=True)]
    tone = ticket_tone([tone for tone in tones if tone is not None])
    tags = apply_aliases(ticket.tags, aliases)
    intent = canonical_intent(ticket.intent, aliases)
    person = ticket.requester
    row = {
        "tenant_id": tenant_id,
        "source": ticket.source,
        "external_id": ticket.external_id,
        "subject": ticket.subject,
        "text": model_text(ticket, cleaned),
        "requester_name": person.name if person else None,
        "requester_email": person.email if person else None,
        "requester_external_id": person.external_id if person else None,
        "organization": ticket.organization,
        "tags": tags,
        "intent": intent,
        "priority": ticket.priority,
        "status": ticket.status,
        "channel": ticket.channel,
        "created_at": aware_utc(ticket.created_at),
        "updated_at": aware_utc(ticket.updated_at),
        "first_response_at": aware_utc(ticket.first_response_at),
        "solved_at": aware_utc(ticket.solved_at),
        "csat_score": ticket.csat.score if ticket.csat else None,
        "csat_comment": ticket.csat.comment if ticket.csat else None,
        "reopen_count": ticket.reopen_count,
        "custom_fields": ticket.custom_fields,
        "page_context": ticket.page_context.model_dump(mode="json") if ticket.page_context else None,
        "imported_at": now,
        "sentiment": tone[0] if tone else None,
        "urgent": tone[1] if tone else None,
        "ticket_type": ticket.ticket_type,
        "assigned_group": ticket.group,
        "form": ticket.form,
        "macros": list(ticket.macros),
    }
    digest = hashlib.sha256(ticket.model_dump_json().encode())
    digest.update(json.dumps([tags, intent, CLEANER_VERSION, TONE_VERSION]).encode())
    row["content_hash"] = digest.hexdigest()
    row = fit_and_note(TicketRow.__table__, row, f"ticket {ticket.source}:{ticket.external_id}")
    rows = enumerate(zip(ticket.messages, cleaned, tones, raw, strict=True))
    messages: list[dict[str, Any]] = [message_values(tenant_id, position, m, body, tone, raw=kept)
                                      for position, (m, body, tone, kept) in rows]
    seen: set[str] = set()
    for message in messages:  # a helpdesk id names one message; a repeat would break the unique key
        if message["external_id"] in seen:
            message["external_id"] = None
        elif message["external_id"] is not None:
            seen.add(message["external_id"])
    return row, messages


def _upsert_statement(dialect: str):
    table = TicketRow.__table__
    stmt = upsert_insert(dialect, table)
    kept = {name: func.coalesce(stmt.excluded[name], table.c[name]) for name in _KEPT_WHEN_UNSAID}
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.source, table.c.external_id],
        set_={**{name: stmt.excluded[name] for name in _UPDATED_COLUMNS}, **kept},
    )
    return stmt.returning(table.c.id, table.c.source, table.c.external_id)


def upsert_tickets(session: Session, tenant_id: int, tickets: Sequence[Ticket],
                   aliases: dict[str, str] | None = None) -> UpsertCounts:
    """Insert or update ``tickets`` for ``tenant_id`` and replace their messages.

    Repeated keys within ``tickets`` keep the last one. Tags and intent go through ``aliases``
    (alias -> canonical, see :mod:`core.labelling.taxonomy`). Runs in the caller's transaction and commits
    nothing, so an import can roll back everything it wrote.
    """
    aliases = aliases or {}
    counts = UpsertCounts()
    latest = {_stored_key(t): t for t in tickets}  # last wins
    unique = list(latest.values())
    for start in range(0, len(unique), BATCH_SIZE):
        counts += _upsert_batch(session, tenant_id, unique[start:start + BATCH_SIZE], aliases)
    return counts


def _stored_key(ticket: Ticket) -> tuple[str, str]:
    """The ticket's natural key as it will be stored (fitted to its columns)."""
    fitted, _ = fit_values(TicketRow.__table__, {"source": ticket.source, "external_id": ticket.external_id})
    return fitted["source"], fitted["external_id"]


def _upsert_batch(session: Session, tenant_id: int, tickets: list[Ticket], aliases: dict[str, str]) -> UpsertCounts:
    now = datetime.now(UTC)
    keys = [_stored_key(t) for t in tickets]
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    for source in {source for source, _ in keys}:
        wanted = [external_id for key_source, external_id in keys if key_source == source]
        found = session.execute(
            select(TicketRow.external_id, TicketRow.id, TicketRow.content_hash).where(
                TicketRow.tenant_id == tenant_id, TicketRow.source == source, TicketRow.external_id.in_(wanted)
            )
        )
        existing.update({(source, ext): (id_, digest) for ext, id_, digest in found})

    ticket_rows, message_rows, unchanged = [], [], 0
    for ticket, key in zip(tickets, keys, strict=True):
        row, messages = _rows(tenant_id, ticket, aliases, now)
        known = existing.get(key)
        if known is not None and known[1] == row["content_hash"]:
            unchanged += 1
            continue
        ticket_rows.append(row)
        message_rows.append(messages)
    if not ticket_rows:
        return UpsertCounts(unchanged=unchanged)

    returned = session.execute(_upsert_statement(session.get_bind().dialect.name), ticket_rows)
    ids = {(source, ext): id_ for id_, source, ext in returned}
    replaced = [existing[key][0] for key in ids if key in existing]
    messages_table = MessageRow.__table__
    for start in range(0, len(replaced), BATCH_SIZE):
        session.execute(
            delete(MessageRow).where(
                MessageRow.tenant_id == tenant_id, MessageRow.ticket_id.in_(replaced[start:start + BATCH_SIZE])
            ),
            execution_options={"synchronize_session": False},
        )
    to_insert = []
    for row, messages in zip(ticket_rows, message_rows, strict=True):
        ticket_id = ids[(row["source"], row["external_id"])]
        for message in messages:
            message["ticket_id"] = ticket_id
            to_insert.append(message)
    if to_insert:
        session.execute(messages_table.insert(), to_insert)
    updated = len(replaced)
    return UpsertCounts(inserted=len(ticket_rows) - updated, updated=updated, unchanged=unchanged)


# Reading -------------------------------------------------------------------------------------


def _to_stored(row: TicketRow, messages: list[MessageRow]) -> StoredTicket:
    person = None
    if row.requester_name or row.requester_email or row.requester_external_id:
        person = Person(name=row.requester_name, email=row.requester_email, external_id=row.requester_external_id)
    ticket = Ticket.model_construct(
        source=row.source, external_id=row.external_id, subject=row.subject,
        messages=[Message.model_construct(author_role=m.author_role, body=m.body_raw, public=m.public,
                                          author_name=m.author_name, created_at=aware_utc(m.created_at))
                  for m in messages],
        requester=person, organization=row.organization, tags=list(row.tags or []), intent=row.intent,
        priority=row.priority, status=row.status, channel=row.channel,
        created_at=aware_utc(row.created_at), updated_at=aware_utc(row.updated_at),
        first_response_at=aware_utc(row.first_response_at), solved_at=aware_utc(row.solved_at),
        csat=Csat(score=row.csat_score, comment=row.csat_comment) if row.csat_score else None,
        reopen_count=row.reopen_count, custom_fields=dict(row.custom_fields or {}),
        page_context=PageContext.model_validate(row.page_context) if row.page_context else None,
        ticket_type=row.ticket_type, group=row.assigned_group, form=row.form, macros=list(row.macros or []),
    )
    return StoredTicket(id=row.id, ticket=ticket, text=row.text, clean_bodies=[m.body for m in messages],
                        sentiment=row.sentiment, urgent=row.urgent, cluster_key=row.cluster_key,
                        message_tones=[(m.sentiment, m.urgent) for m in messages])


def _messages_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[MessageRow]]:
    grouped: dict[int, list[MessageRow]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        rows = session.scalars(
            select(MessageRow).where(MessageRow.ticket_id.in_(ticket_ids)).order_by(MessageRow.ticket_id,
                                                                                    MessageRow.position)
        )
        for message in rows:
            grouped[message.ticket_id].append(message)
    return grouped


def get_ticket(session: Session, ticket_id: int) -> StoredTicket | None:
    """One ticket of the session's tenant, or None (also for another tenant's id)."""
    row = session.scalar(select(TicketRow).where(TicketRow.id == ticket_id))
    if row is None:
        return None
    return _to_stored(row, _messages_by_ticket(session, [row.id])[row.id])


def _filtered(statement, *, intent: str | None, tag: str | None, status: str | None, source: str | None):
    if intent is not None:
        statement = statement.where(TicketRow.intent == intent)
    if status is not None:
        statement = statement.where(TicketRow.status == status)
    if source is not None:
        statement = statement.where(TicketRow.source == source)
    if tag is not None:
        # Tags are a JSON list serialized by json.dumps on both backends, so the quoted tag is exact.
        statement = statement.where(cast(TicketRow.tags, String).contains(json.dumps(tag), autoescape=True))
    return statement


def list_tickets(session: Session, limit: int = 50, offset: int = 0, *, intent: str | None = None,
                 tag: str | None = None, status: str | None = None, source: str | None = None) -> list[StoredTicket]:
    """The tenant's tickets, newest first (by creation time, then id), with their messages."""
    statement = _filtered(select(TicketRow), intent=intent, tag=tag, status=status, source=source)
    statement = statement.order_by(TicketRow.created_at.desc().nulls_last(), TicketRow.id.desc())
    rows = list(session.scalars(statement.limit(limit).offset(offset)))
    messages = _messages_by_ticket(session, [r.id for r in rows])
    return [_to_stored(r, messages[r.id]) for r in rows]


def count_tickets(session: Session, *, intent: str | None = None, tag: str | None = None,
                  status: str | None = None, source: str | None = None) -> int:
    """How many of the tenant's tickets match the filters."""
    # count(TicketRow.id), not count() FROM: a bare select_from() entity escapes the tenant filter.
    statement = _filtered(select(func.count(TicketRow.id)), intent=intent, tag=tag, status=status,
                          source=source)
    return session.scalar(statement) or 0

