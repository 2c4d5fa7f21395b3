"""Simdesk: an in-process helpdesk for benchmarks, registered through an entry point like any
integration (:func:`install`), whose client writes into memory instead of a vendor's API.

The autonomy benchmark (``bench/autonomy_weeks.py``) needs a helpdesk the engine can post replies
to, set statuses on and hand tickets off through, and whose record the simulated customer and
agents read back: what Deskloop posted to a ticket, the notes it left, the group a ticket went to.
Nothing is sent anywhere; webhooks are not used (the benchmark stores its events directly).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.events import BadSignature, HelpdeskEvent
from core.helpdesk.contract import BackfillPage, Connection

NAME = "simdesk"


@dataclass
class Posted:
    ticket: str
    body: str
    tags: list[str]
    status: str | None
    message_id: str


@dataclass
class Desk:
    """What the client was asked to do, per ticket, in order."""

    replies: dict[str, list[Posted]] = field(default_factory=dict)
    notes: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # (note, group)
    statuses: dict[str, list[str]] = field(default_factory=dict)
    sequence: int = 0

    def clear(self) -> None:
        self.replies.clear()
        self.notes.clear()
        self.statuses.clear()


DESK = Desk()


class SimdeskClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        return iter(())

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        return None

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        DESK.notes.setdefault(ticket_external_id, []).append((body, None))

    def identity(self) -> dict[str, Any]:
        return {"simdesk_user": "deskloop-bot"}

    def post_reply(self, ticket_external_id: str, body: str, *, tags: list[str] | None = None,
                   status: str | None = None) -> str:
        DESK.sequence += 1
        message_id = f"sim-{DESK.sequence}"
        DESK.replies.setdefault(ticket_external_id, []).append(
            Posted(ticket_external_id, body, list(tags or []), status, message_id))
        if status:
            DESK.statuses.setdefault(ticket_external_id, []).append(status)
        return message_id

    def set_status(self, ticket_external_id: str, status: str) -> None:
        DESK.statuses.setdefault(ticket_external_id, []).append(status)

    def hand_off(self, ticket_external_id: str, note: str, group: str | None) -> None:
        DESK.notes.setdefault(ticket_external_id, []).append((note, group))
        DESK.statuses.setdefault(ticket_external_id, []).append("open")


class Simdesk:
    name = NAME
    kind = "helpdesk"
    secret_names = ("api_key",)
    optional_secret_names = ()
    handled_events = ()
    fixtures_dir = Path(__file__).parent
    capabilities = frozenset({"private_note"})
    app_settings = ()
    ticket_url_template = None
    panel_package = None

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        raise BadSignature("Simdesk takes no webhooks: the benchmark stores its events itself")

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        return []

    def event_name(self, body: bytes) -> str | None:
        return None

    def account_key(self, domain: str | None) -> str | None:
        return (domain or "").strip().lower() or None

    def client(self, connection: Connection) -> SimdeskClient:
        return SimdeskClient(connection)

    def app_blueprint(self) -> None:
        return None


INTEGRATION = Simdesk()


def install() -> Path:
    """Register Simdesk as an installed distribution with one entry point (the way a package
    would), for this process; returns the directory holding its metadata."""
    import sys

    from core.helpdesk import contract

    where = Path(tempfile.mkdtemp(prefix="simdesk-dist-"))
    dist = where / "simdesk-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: simdesk\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[deskloop.integrations]\nsimdesk = bench.simdesk:INTEGRATION\n")
    sys.path.insert(0, str(where))
    contract.registered.cache_clear()
    return where
