"""Stable keys for requested capabilities: one capability, one key, one Linear issue.

A capability is a group of feature requests found afresh by every report, so it has no identity of
its own. Its key was the id of its oldest request, which changes when that request leaves the
report's window (six months later) or the grouping shifts, and a new key meant a second Linear issue
for the same capability. Now the key a request was *published* under is kept
(:class:`core.store.tables.CapabilityMemberRow`) and a later group takes over the key most of its
members carry:

- a group keeps a key when the members carrying it are a majority of the group's members that carry
  any key, and at least half of that key's members still in the report: a capability that split in
  two keeps its key in its larger half only;
- keys are handed out largest overlap first, each to one group;
- a group with no such key gets ``cap-<its oldest request's id>`` (with a suffix in the rare case
  that key was already used), as before.

Only publishing writes (:func:`remember_keys`); a report reads the keys and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import CapabilityMemberRow

#: Room for ``cap-`` and the largest id: within the column's 40 characters.
KEY_PREFIX = "cap-"


def assign_keys(groups: Sequence[Sequence[int]], known: Mapping[int, str],
                used: Iterable[str] = ()) -> list[str]:
    """One key per group of request ticket ids, in the groups' order. ``known``: ticket id -> the
    key it was published under; ``used``: every key ever published (a new key avoids them all)."""
    carried = [Counter(known[m] for m in members if m in known) for members in groups]
    present = Counter(known[m] for members in groups for m in members if m in known)
    candidates = sorted(((count, key, index) for index, counts in enumerate(carried)
                         for key, count in counts.items()
                         if 2 * count > sum(counts.values()) and 2 * count >= present[key]),
                        key=lambda c: (-c[0], c[1], c[2]))
    keys: list[str | None] = [None] * len(groups)
    taken = set(used) | set(known.values())
    handed: set[str] = set()
    for _, key, index in candidates:
        if keys[index] is None and key not in handed:
            keys[index] = key
            handed.add(key)
    for index, members in enumerate(groups):
        if keys[index] is None:
            fresh = _fresh(f"{KEY_PREFIX}{min(members)}", taken | handed)
            keys[index] = fresh
            handed.add(fresh)
    return [key for key in keys if key is not None]


def _fresh(base: str, taken: set[str]) -> str:
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


def known_keys(session: Session, ticket_ids: Iterable[int]) -> tuple[dict[int, str], set[str]]:
    """The keys the tenant's requests were published under (the session is the tenant's), and
    every key the tenant ever published."""
    ids = list(ticket_ids)
    known: dict[int, str] = {}
    for start in range(0, len(ids), 1000):  # bounded IN lists
        chunk = ids[start:start + 1000]
        known.update(session.execute(select(CapabilityMemberRow.ticket_id, CapabilityMemberRow.key)
                                     .where(CapabilityMemberRow.ticket_id.in_(chunk))).all())
    used = set(session.scalars(select(CapabilityMemberRow.key).distinct()))
    return known, used


def remember_keys(session: Session, tenant_id: int, members_by_key: Mapping[str, Sequence[int]]) -> None:
    """Record each request under the key it is being published with (a request that moved to
    another capability moves with it)."""
    ids = [ticket_id for members in members_by_key.values() for ticket_id in members]
    rows = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows.update({row.ticket_id: row for row in session.scalars(
            select(CapabilityMemberRow).where(CapabilityMemberRow.ticket_id.in_(chunk)))})
    for key, members in members_by_key.items():
        for ticket_id in members:
            row = rows.get(ticket_id)
            if row is None:
                session.add(CapabilityMemberRow(tenant_id=tenant_id, ticket_id=ticket_id, key=key))
            elif row.key != key:
                row.key = key
