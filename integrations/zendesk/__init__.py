"""Zendesk: ticket event webhooks in, tags and private notes out, history through the incremental export.

Registered as the ``zendesk`` entry point in the ``deskloop.integrations`` group. ``webhooks``
(inbound, pure) and ``adapter`` (translation, pure) need nothing beyond the core; ``client``
(outbound, zenpy) is imported only when a client is asked for, so answering a webhook never loads
the HTTP stack. Admin setup: ``SETUP.md`` beside this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.events import HelpdeskEvent
from core.helpdesks import Connection
from integrations.zendesk import webhooks

if TYPE_CHECKING:
    from integrations.zendesk.client import ZendeskClient


class ZendeskIntegration:
    """Zendesk Support, connected by an API token (``email/token`` basic auth) and a signed
    event-subscription webhook."""

    name = "zendesk"
    kind = "helpdesk"
    #: The agent email the token belongs to (Zendesk's ``email/token`` auth needs both), the API
    #: token, and the webhook's signing secret.
    secret_names = ("email", "api_token", "webhook_secret")
    optional_secret_names: tuple[str, ...] = ()
    handled_events = tuple(webhooks.EVENT_HANDLERS)
    fixtures_dir = Path(__file__).parent / "fixtures"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        webhooks.verify(headers, body, secrets, now)

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        return webhooks.parse(body, settings)

    def event_name(self, body: bytes) -> str | None:
        return webhooks.event_name(body)

    def client(self, connection: Connection) -> ZendeskClient:
        from integrations.zendesk.client import ZendeskClient

        return ZendeskClient(connection)


INTEGRATION = ZendeskIntegration()
