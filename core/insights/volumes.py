"""Hourly ticket counts per category, counted once per ticket as tickets are stored.

Tickets arrive by webhook, backfill and import; all of them end in the tickets table, whose ids
grow in arrival order. A cursor (the last id counted) therefore finds every new ticket whatever
brought it, and a scan with nothing new costs one indexed query. Each ticket counts in the hour
it was *created* (a backfilled ticket from March counts in March), once per category it has:
its intent (the helpdesk's, else the model's suggestion), each tag, its cluster, each product
area those map to, and, when the model abstained as unfamiliar, its emerging group
(:mod:`core.insights.emerging`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.insights import emerging
from core.insights.areas import Area, areas_of
from core.store.db import upsert_insert
from core.store.tables import SuggestionRow, TicketRow, VolumeCursorRow, VolumeRow

BATCH = 2000
HOUR = timedelta(hours=1)
Key = tuple[str, str, datetime]  # kind, category, hour


def hour_of(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def categories(intent: str | None, tags: list[str], cluster_key: int | None, unfamiliar: bool,
               areas: list[Area]) -> set[tuple[str, str]]:
    """Every (kind, category) one ticket counts in."""
    found = {("tag", t[:255]) for t in tags if t}
    if intent:
        found.add(("intent", intent))
    if cluster_key is not None:
        found.add(("cluster", str(cluster_key)))
    if unfamiliar and not intent:
        found.add(("cluster", emerging.category(cluster_key)))
    found.update(("area", a.name) for a in areas_of(areas, intent, tags))
    return found


def count_new(session: Session, tenant_id: int, dialect: str, areas: list[Area]) -> int:
    """Count every ticket stored since the last call, in the caller's transaction; returns how many."""
    cursor = session.scalars(select(VolumeCursorRow).with_for_update()).first()
    if cursor is None:
        cursor = VolumeCursorRow(tenant_id=tenant_id, last_ticket_id=0)
        session.add(cursor)
    counted = 0
    while True:
        rows = session.execute(
            select(TicketRow.id, TicketRow.created_at, TicketRow.imported_at, TicketRow.intent, TicketRow.tags,
                   TicketRow.cluster_key).where(TicketRow.id > cursor.last_ticket_id)
            .order_by(TicketRow.id).limit(BATCH)).all()
        if not rows:
            break
        totals: Counter[Key] = Counter()
        for r, found in categorized(session, rows, areas):
            hour = hour_of(r.created_at or r.imported_at)
            for kind, category in found:
                totals[(kind, category, hour)] += 1
        _add(session, tenant_id, dialect, totals)
        cursor.last_ticket_id = rows[-1].id
        counted += len(rows)
    if counted:
        cursor.counted_at = datetime.now(UTC)
    return counted


def categorized(session: Session, rows: Sequence[Any], areas: list[Area]):
    """Each ticket row (id, intent, tags, cluster_key) with the categories it counts in."""
    guesses = _model_intents(session, [r.id for r in rows])
    for r in rows:
        intent, unfamiliar = r.intent, False
        if intent is None and r.id in guesses:
            intent, unfamiliar = guesses[r.id]
        yield r, categories(intent, list(r.tags or []), r.cluster_key, unfamiliar, areas)


Recent = dict[tuple[str, str], list[tuple[datetime, int]]]


def created_since(session: Session, since: datetime, until: datetime, areas: list[Area]) -> Recent:
    """Each category's tickets created in [since, until]: when (the windows under test are cut to
    the minute from these, not to the hour) and which (two categories rising on the same tickets
    are one incident)."""
    rows = session.execute(select(TicketRow.id, TicketRow.created_at, TicketRow.intent, TicketRow.tags,
                                  TicketRow.cluster_key)
                           .where(TicketRow.created_at >= since, TicketRow.created_at <= until)).all()
    found: Recent = {}
    for r, keys in categorized(session, rows, areas):
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
        for key in keys:
            found.setdefault(key, []).append((created, r.id))
    return found


def _model_intents(session: Session, ticket_ids: list[int]) -> dict[int, tuple[str | None, bool]]:
    """The latest suggestion's intent per ticket, and whether it abstained as unfamiliar."""
    found: dict[int, tuple[str | None, bool]] = {}
    rows = session.execute(select(SuggestionRow.ticket_id, SuggestionRow.intent, SuggestionRow.abstained,
                                  SuggestionRow.abstain_reason)
                           .where(SuggestionRow.ticket_id.in_(ticket_ids)).order_by(SuggestionRow.id)).all()
    for r in rows:  # the last one wins
        unfamiliar = bool(r.abstained) and r.abstain_reason == "unfamiliar"
        found[r.ticket_id] = (None if r.abstained else r.intent, unfamiliar)
    return found


def _add(session: Session, tenant_id: int, dialect: str, totals: Counter[Key]) -> None:
    if not totals:
        return
    table = VolumeRow.__table__
    values = [{"tenant_id": tenant_id, "kind": k, "category": c, "hour": h, "count": n}
              for (k, c, h), n in sorted(totals.items())]
    for start in range(0, len(values), 500):
        stmt = upsert_insert(dialect, table).values(values[start:start + 500])
        session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.kind, table.c.category, table.c.hour],
            set_={"count": table.c["count"] + stmt.excluded["count"]}))


def hourly(session: Session, keys: list[tuple[str, str]],
           since: datetime) -> dict[tuple[str, str], dict[datetime, int]]:
    """The counts per hour from ``since`` on for each (kind, category) in ``keys``."""
    found: dict[tuple[str, str], dict[datetime, int]] = {k: {} for k in keys}
    wanted = set(keys)
    kinds = sorted({k for k, _ in keys})
    rows = session.execute(select(VolumeRow.kind, VolumeRow.category, VolumeRow.hour, VolumeRow.count)
                           .where(VolumeRow.hour >= since, VolumeRow.kind.in_(kinds),
                                  VolumeRow.category.in_(sorted({c for _, c in keys})))).all()
    for r in rows:
        if (r.kind, r.category) in wanted:
            found[(r.kind, r.category)][hour_of(r.hour)] = int(r[3])
    return found


def dense(by_hour: dict[datetime, int], first: datetime, last: datetime) -> np.ndarray:
    """Hourly counts from ``first`` to ``last`` (both whole hours, both included), zero where no
    ticket came: the series the rhythm is fitted on."""
    n = int((last - first) / HOUR) + 1
    values = np.zeros(max(n, 0))
    for hour, count in by_hour.items():
        index = int((hour - first) / HOUR)
        if 0 <= index < n:
            values[index] = count
    return values


def busiest(session: Session, since: datetime, limit: int, kind: str | None = None,
            prefix: str = "") -> list[tuple[str, str, int]]:
    """(kind, category, tickets) with tickets created from ``since`` on, the most first; only of
    ``kind`` and with names starting with ``prefix`` when given."""
    total = func.sum(VolumeRow.count)
    query = select(VolumeRow.kind, VolumeRow.category, total).where(VolumeRow.hour >= since)
    if kind is not None:
        query = query.where(VolumeRow.kind == kind)
    if prefix:
        query = query.where(VolumeRow.category.startswith(prefix, autoescape=True))
    rows = session.execute(query.group_by(VolumeRow.kind, VolumeRow.category)
                           .order_by(total.desc(), VolumeRow.kind, VolumeRow.category).limit(limit)).all()
    return [(r[0], r[1], int(r[2])) for r in rows]
