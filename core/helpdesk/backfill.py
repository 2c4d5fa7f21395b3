"""Backfill: a tenant's ticket history from its helpdesk, page by page, resumable.

Each page the helpdesk client yields is stored together with the cursor that follows it, in one
transaction, so a backfill killed at any moment resumes after the last page it committed: no
ticket lost, none stored twice (tickets are upserted on their helpdesk id anyway). A ticket
already stored with a newer ``updated_at`` (a webhook got there first) is left alone: history
never rolls back live state. Rate limits are the client's business (each one waits out 429s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select

from core.clock import aware_utc
from core.helpdesk.connections import connection
from core.helpdesk.contract import integration
from core.labelling.taxonomy import load_aliases
from core.runtime import Runtime
from core.store.tables import BackfillStateRow, TicketRow
from core.store.tickets import UpsertCounts, upsert_tickets
from core.types import Ticket


@dataclass
class BackfillSummary:
    helpdesk: str
    since: datetime | None
    resumed: bool
    pages: int
    received: int
    counts: UpsertCounts
    skipped_newer: int
    seconds: float

    def describe(self) -> str:
        start = "resumed" if self.resumed else "started"
        return (f"{self.helpdesk} backfill {start}{f' from {self.since:%Y-%m-%d}' if self.since else ''}: "
                f"{self.received:,} tickets in {self.pages:,} pages ({self.counts.inserted:,} new, "
                f"{self.counts.updated:,} updated, {self.counts.unchanged:,} unchanged, "
                f"{self.skipped_newer:,} already newer here) in {self.seconds:.1f} s")


def run_backfill(runtime: Runtime, tenant_slug: str, since: datetime | None = None, restart: bool = False,
                 on_page: Callable[[int], None] | None = None) -> BackfillSummary:
    """Backfill the tenant, resuming an unfinished run unless ``restart`` (or a different
    ``since``) is asked for. ``on_page`` hears the number of tickets in each stored page."""
    started = time.perf_counter()
    conn = connection(runtime, tenant_slug)
    client = integration(conn.helpdesk).client(conn)
    tenant_id = runtime.db.tenant_id(tenant_slug)
    since, cursor, resumed = _starting_point(runtime, tenant_id, since, restart)
    pages = received = skipped = 0
    counts = UpsertCounts()
    for page in client.backfill(since, cursor):
        with runtime.db.transaction(tenant_id) as session:
            fresh = _not_older_than_stored(session, page.tickets)
            counts += upsert_tickets(session, tenant_id, fresh, load_aliases(session))
            state = _state(session)
            state.cursor, state.updated_at = page.cursor, datetime.now(UTC)
            state.tickets += len(page.tickets)
            state.pages += 1
            if page.cursor is None:
                state.finished_at = state.updated_at
        pages, received, skipped = pages + 1, received + len(page.tickets), skipped + len(page.tickets) - len(fresh)
        if on_page is not None:
            on_page(len(page.tickets))
    with runtime.db.transaction(tenant_id) as session:  # a client that ends without a final cursor=None page
        state = _state(session)
        state.finished_at = state.finished_at or datetime.now(UTC)
    return BackfillSummary(conn.helpdesk, since, resumed, pages, received, counts, skipped,
                           time.perf_counter() - started)


def _state(session) -> BackfillStateRow:
    """The tenant's backfill state row, which :func:`_starting_point` made sure exists."""
    return cast(BackfillStateRow, session.scalar(select(BackfillStateRow)))


def _starting_point(runtime: Runtime, tenant_id: int, since: datetime | None,
                    restart: bool) -> tuple[datetime | None, str | None, bool]:
    """(since, cursor, resumed): the unfinished run's cursor, or a fresh state row."""
    with runtime.db.transaction(tenant_id) as session:
        state = session.scalar(select(BackfillStateRow))
        unfinished = state is not None and state.finished_at is None and state.cursor is not None
        same_range = state is not None and (since is None or aware_utc(state.since) == since)
        if state is not None and unfinished and same_range and not restart:
            return aware_utc(state.since), state.cursor, True
        if state is None:
            state = BackfillStateRow(tenant_id=tenant_id)
            session.add(state)
        now = datetime.now(UTC)
        state.since, state.cursor, state.tickets, state.pages = since, None, 0, 0
        state.started_at, state.updated_at, state.finished_at = now, now, None
        return since, None, False


def _not_older_than_stored(session, tickets: list[Ticket]) -> list[Ticket]:
    """Drop tickets whose stored copy was updated later (by a webhook) than this page says."""
    by_source: dict[str, list[str]] = {}
    for ticket in tickets:
        by_source.setdefault(ticket.source, []).append(ticket.external_id)
    stored = {}
    for source, ids in by_source.items():
        stored.update({(source, ext): aware_utc(updated) for ext, updated in session.execute(
            select(TicketRow.external_id, TicketRow.updated_at).where(TicketRow.source == source,
                                                                      TicketRow.external_id.in_(ids)))})
    return [t for t in tickets if not ((known := stored.get((t.source, t.external_id))) and t.updated_at
                                       and known > t.updated_at)]
