"""Freshdesk: automation-rule webhooks in (:mod:`.webhooks`), REST API v2 out through
python-freshdesk (:mod:`.client`), translation in between (:mod:`.adapter`).

Registered as the ``freshdesk`` entry point of ``deskloop.integrations`` (see ``pyproject.toml``);
the admin's side of the setup is ``SETUP.md`` beside this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.events import HelpdeskEvent
from core.helpdesks import Connection
from integrations.freshdesk import webhooks
from integrations.freshdesk.client import FreshdeskClient


class FreshdeskIntegration:
    """Freshdesk as :class:`core.helpdesks.HelpdeskIntegration` describes a helpdesk."""

    name = "freshdesk"
    kind = "helpdesk"
    #: ``api_key``: the Deskloop agent's API key (Profile settings); ``webhook_secret``: the value
    #: of the secret header every automation rule sends.
    secret_names = ("api_key", "webhook_secret")
    optional_secret_names: tuple[str, ...] = ()
    handled_events = tuple(webhooks.EVENT_HANDLERS)
    fixtures_dir = Path(__file__).parent / "fixtures"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        webhooks.verify(headers, body, secrets, now)

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        return webhooks.parse(body, settings)

    def event_name(self, body: bytes) -> str | None:
        return webhooks.event_name(body)

    def client(self, connection: Connection) -> FreshdeskClient:
        return FreshdeskClient(connection)


INTEGRATION = FreshdeskIntegration()
