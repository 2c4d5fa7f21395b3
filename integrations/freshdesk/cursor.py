"""Where a Freshdesk backfill stands, as the string a killed backfill resumes from.

``GET /api/v2/tickets`` pages by offset (``page=``), and an offset is the wrong bookmark for a
list that changes while it is read: a ticket updated mid-backfill jumps to the end of the
``updated_at`` order and every later ticket shifts one place back, so the next page would skip
one. Freshdesk also stops at 300 pages per query
(https://developers.freshdesk.com/api/#list_all_tickets). So the position is a key, not an
offset: "tickets updated since T", always from page 1, where T is the newest ``updated_at``
already delivered and ``seen`` the ids delivered with exactly that time (``updated_at`` has
whole seconds, so several tickets share one). Only when a whole page shares one second (a bulk
update) does the page number move on.

The query asks from one second before T, so whether Freshdesk's ``updated_since`` is inclusive
or not (the docs do not say) nothing at T is missed; what comes back before T or in ``seen`` was
already delivered and is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core.clock import aware_utc

#: Without ``updated_since`` Freshdesk lists only tickets created in the last 30 days, so a full
#: backfill asks from the epoch instead.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOOKBACK = timedelta(seconds=1)
#: Freshdesk's limit on ``page`` for one query.
MAX_PAGES = 300
VERSION = 1


class Listed(Protocol):
    id: int
    updated_at: datetime


@dataclass(frozen=True)
class BackfillCursor:
    updated_since: datetime
    page: int = 1
    seen: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def start(cls, since: datetime | None) -> BackfillCursor:
        moment = EPOCH if since is None else aware_utc(since)
        return cls(moment.replace(microsecond=0))

    @classmethod
    def decode(cls, text: str) -> BackfillCursor:
        """The cursor :meth:`encode` wrote; ``ValueError`` for anything else."""
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                raise ValueError(f"version {data.get('v')!r}")
            return cls(aware_utc(datetime.fromisoformat(data["updated_since"].replace("Z", "+00:00"))),
                       int(data["page"]), frozenset(int(i) for i in data["seen"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a Freshdesk backfill cursor: {text[:80]!r} ({exc})") from exc

    def encode(self) -> str:
        return json.dumps({"v": VERSION, "updated_since": _iso(self.updated_since), "page": self.page,
                           "seen": sorted(self.seen)}, separators=(",", ":"))

    def query_since(self) -> str:
        """The ``updated_since`` to send, in the ``Z`` form Freshdesk documents (python-freshdesk
        puts it in the URL unencoded, so a ``+00:00`` offset would arrive as a space)."""
        return _iso(max(EPOCH, self.updated_since - LOOKBACK))

    def unseen(self, listed: Iterable[Listed]) -> list[Listed]:
        """The listed tickets not delivered yet."""
        return [t for t in listed if aware_utc(t.updated_at) > self.updated_since
                or (aware_utc(t.updated_at) == self.updated_since and t.id not in self.seen)]

    def after(self, listed: list[Listed]) -> BackfillCursor:
        """The position after a full page (more follow)."""
        newest = max((aware_utc(t.updated_at) for t in listed), default=self.updated_since)
        if newest > self.updated_since:
            return BackfillCursor(newest, 1, frozenset(t.id for t in listed if aware_utc(t.updated_at) == newest))
        if self.page >= MAX_PAGES:
            raise ValueError(f"more than {MAX_PAGES} pages of tickets share updated_at {_iso(self.updated_since)}; "
                             "Freshdesk cannot list past them")
        same = frozenset(t.id for t in listed if aware_utc(t.updated_at) == self.updated_since)
        return BackfillCursor(self.updated_since, self.page + 1, self.seen | same)


def _iso(moment: datetime) -> str:
    return aware_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
