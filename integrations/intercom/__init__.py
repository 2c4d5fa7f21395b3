"""Intercom: webhook notifications in, conversations backfilled, tags and notes written back.

Registered as the ``intercom`` entry point in the ``deskloop.integrations`` group. Setup for an
Intercom admin is in ``SETUP.md``; the vendor facts this relies on are cited in each module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.events import HelpdeskEvent
from core.helpdesks import Connection
from integrations.intercom import webhooks

if TYPE_CHECKING:
    from integrations.intercom.client import IntercomClient


class IntercomIntegration:
    """Intercom as a Deskloop helpdesk (see :class:`core.helpdesks.HelpdeskIntegration`)."""

    name = "intercom"
    kind = "helpdesk"
    #: ``access_token`` calls the REST API; ``client_secret`` signs webhooks (and, later, Canvas
    #: Kit requests). ``admin_id`` is the teammate Deskloop tags and writes notes as: without it
    #: the client asks ``GET /me`` who owns the token.
    secret_names = ("access_token", "client_secret")
    optional_secret_names = ("admin_id",)
    handled_events = tuple(webhooks.EVENT_HANDLERS)
    fixtures_dir = Path(__file__).parent / "fixtures"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        webhooks.verify(headers, body, secrets, now)

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        return webhooks.parse(body, settings)

    def event_name(self, body: bytes) -> str | None:
        return webhooks.event_name(body)

    def client(self, connection: Connection) -> IntercomClient:
        # Imported here: receiving webhooks never needs python-intercom and httpx loaded.
        from integrations.intercom.client import IntercomClient

        return IntercomClient(connection)


INTEGRATION = IntercomIntegration()
