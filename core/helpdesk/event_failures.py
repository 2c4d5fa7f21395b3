"""Webhook events that fail to apply: retried with backoff, then quarantined, never blocking.

An event the database refuses, or one whose stored data no longer reads, used to fail its whole
batch forever, so every later event of the tenant was stored and never applied. Now the failure
is written on the event's row (attempt count, when to try again, what went wrong) and the tenant's
later events go on. After :data:`MAX_ATTEMPTS` the event is quarantined: the drains leave it,
``deskloop events --failed`` and the admin pages list it, and an operator retries it after a fix.

What is kept of the error is its class and a message with every value scrubbed out: a database's
message can quote the refused value (a requester's name, a customer's words), and neither the row
nor the log may hold personal data.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, StatementError

from core.clock import aware_utc, utcnow
from core.runtime import Runtime
from core.store.fitting import column_limits
from core.store.tables import HelpdeskEventRow

log = logging.getLogger(__name__)

#: Attempts before an event is quarantined: enough to ride out a lock or a deploy in progress,
#: few enough that an operator hears of a truly bad event within the hour.
MAX_ATTEMPTS = 5
#: The wait after the first failure; doubled after each further one, up to :data:`MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)

_QUOTED = re.compile(r"""("[^"]*"|'[^']*'|`[^`]*`)""")
_PARENTHESISED_VALUE = re.compile(r"=\([^)]*\)")
_EMAIL = re.compile(r"\S+@\S+")
_LONG_NUMBER = re.compile(r"\d{5,}")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def scrub(message: str) -> str:
    """The first line of ``message``, up to its first ``": "`` (databases put the refused value
    after it), with anything else that could be a value replaced by ``?``: quoted text, ``=(...)``
    details, email addresses, long numbers."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    line = line.split(": ", 1)[0]
    for pattern in (_QUOTED, _PARENTHESISED_VALUE, _EMAIL, _LONG_NUMBER):
        line = pattern.sub("?", line)
    return line


def describe_failure(exc: BaseException) -> str:
    """What went wrong, fit for the event's row and the log: the exception's class and, for a
    database's refusal, its scrubbed message (never the statement or its parameters); for anything
    else only where it was raised (module, function, line), since its message may hold a value."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None)
        described = f"{type(exc).__name__} ({type(exc.orig).__name__}{f' {code}' if code else ''}): " \
                    f"{scrub(str(exc.orig))}"
    elif isinstance(exc, StatementError):
        described = f"{type(exc).__name__}: {type(exc.orig).__name__ if exc.orig else 'statement refused'}"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].name} ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" \
            if frames else ""
        described = f"{type(exc).__name__}{where}"
    return described[:column_limits(HelpdeskEventRow.__table__)["last_error"]]


def record_failure(runtime: Runtime, tenant_id: int, event_row_id: int, exc: BaseException,
                   quarantine_now: bool = False) -> HelpdeskEventRow | None:
    """Count a failed attempt on the event, in its own transaction: schedule the next attempt, or
    quarantine it after :data:`MAX_ATTEMPTS` (at once with ``quarantine_now``: an operator's retry
    is a single attempt). Returns the updated row (None if it is gone)."""
    error = describe_failure(exc)
    now = utcnow()
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(HelpdeskEventRow).where(HelpdeskEventRow.id == event_row_id).with_for_update())
        if row is None:
            return None
        row.attempts = (row.attempts or 0) + 1
        row.last_error = error
        if quarantine_now or row.attempts >= MAX_ATTEMPTS:
            row.quarantined_at, row.next_attempt_at = now, None
            log.error("webhook event %d (%s %s) quarantined after %d attempts: %s",
                      row.id, row.helpdesk, row.kind, row.attempts, error)
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            log.warning("webhook event %d (%s %s) failed to apply (attempt %d of %d), retried after %s: %s",
                        row.id, row.helpdesk, row.kind, row.attempts, MAX_ATTEMPTS,
                        row.next_attempt_at.isoformat(timespec="seconds"), error)
        return row


def due_condition(now: datetime):
    """Pending events a drain may apply at ``now``: not applied, not quarantined, and either never
    failed or past their retry time."""
    return (HelpdeskEventRow.processed_at.is_(None) & HelpdeskEventRow.quarantined_at.is_(None)
            & (HelpdeskEventRow.next_attempt_at.is_(None) | (HelpdeskEventRow.next_attempt_at <= now)))


@dataclass(frozen=True)
class FailedEvent:
    """A quarantined event as ``deskloop events --failed`` and the admin page show it."""

    id: int
    tenant: str
    helpdesk: str
    kind: str
    ticket_external_id: str
    attempts: int
    error: str | None
    occurred_at: datetime
    received_at: datetime
    quarantined_at: datetime

    def as_json(self) -> dict:
        return {"id": self.id, "tenant": self.tenant, "helpdesk": self.helpdesk, "kind": self.kind,
                "ticket_external_id": self.ticket_external_id, "attempts": self.attempts, "error": self.error,
                "occurred_at": self.occurred_at.isoformat(), "received_at": self.received_at.isoformat(),
                "quarantined_at": self.quarantined_at.isoformat()}


def _failed(row: HelpdeskEventRow, tenant: str) -> FailedEvent:
    return FailedEvent(row.id, tenant, row.helpdesk, row.kind, row.ticket_external_id, row.attempts, row.last_error,
                       aware_utc(row.occurred_at), aware_utc(row.received_at),
                       aware_utc(row.quarantined_at) or utcnow())


def quarantined_events(runtime: Runtime, tenant_slug: str, limit: int = 500) -> list[FailedEvent]:
    """The tenant's quarantined events, oldest first."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.scalars(select(HelpdeskEventRow).where(HelpdeskEventRow.quarantined_at.is_not(None),
                                                              HelpdeskEventRow.processed_at.is_(None))
                               .order_by(HelpdeskEventRow.occurred_at, HelpdeskEventRow.id).limit(limit)).all()
        return [_failed(row, tenant_slug) for row in rows]


@dataclass(frozen=True)
class EventCounts:
    """Where a tenant's webhook events stand."""

    applied: int
    pending: int
    retrying: int
    quarantined: int


def event_counts(runtime: Runtime, tenant_slug: str) -> EventCounts:
    tenant_id = runtime.db.tenant_id(tenant_slug)
    row = HelpdeskEventRow
    with runtime.db.tenant_session(tenant_id) as session:
        def count(*conditions) -> int:
            return session.scalar(select(func.count(row.id)).where(*conditions)) or 0

        return EventCounts(
            applied=count(row.processed_at.is_not(None)),
            pending=count(row.processed_at.is_(None), row.quarantined_at.is_(None), row.next_attempt_at.is_(None)),
            retrying=count(row.processed_at.is_(None), row.quarantined_at.is_(None), row.next_attempt_at.is_not(None)),
            quarantined=count(row.processed_at.is_(None), row.quarantined_at.is_not(None)))
