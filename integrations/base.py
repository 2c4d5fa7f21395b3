"""The one shape every helpdesk integration has: a pure ``webhooks`` module and a client class.

Each helpdesk package builds its ``INTEGRATION`` from this instead of repeating the same
delegating class. The client is named by dotted path and imported on first use, so answering a
webhook (or loading the integrations when the app starts) never imports the vendor library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from core.events import HelpdeskEvent
from core.helpdesk.contract import Connection, HelpdeskClient, PanelPackage, SettingSpec


@dataclass(frozen=True)
class WebhookIntegration:
    """A :class:`core.helpdesk.contract.HelpdeskIntegration` made of ``webhooks`` (``verify``, ``parse``,
    ``event_name``, ``EVENT_HANDLERS``; fixtures in ``fixtures/`` beside it) and ``client_path``
    (``"package.module:ClassName"``, built with the tenant's connection)."""

    name: str
    secret_names: tuple[str, ...]
    optional_secret_names: tuple[str, ...]
    webhooks: ModuleType
    client_path: str
    kind: str = "helpdesk"
    #: ``"package.module"`` whose ``blueprint`` serves the side-panel app (registered by the web app).
    app_module: str | None = None
    #: The ticket's page in the agent interface, ``{domain}`` and ``{id}`` filled in (similar-ticket links).
    ticket_url_template: str | None = None
    capabilities: frozenset[str] = frozenset({"webhooks", "backfill", "write_back_tags", "private_note", "panel",
                                              "public_reply", "handoff", "create_ticket"})
    app_settings: tuple[SettingSpec, ...] = ()
    panel_package: PanelPackage | None = None
    #: The account a tenant's domain names (see ``account_key``); ``None``: the domain names none.
    account_of: Callable[[str | None], str] | None = None

    @property
    def handled_events(self) -> tuple[str, ...]:
        return tuple(self.webhooks.EVENT_HANDLERS)

    @property
    def fixtures_dir(self) -> Path:
        return Path(cast(str, self.webhooks.__file__)).parent / "fixtures"  # a module loaded from a file

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        self.webhooks.verify(headers, body, secrets, now)

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        return self.webhooks.parse(body, settings)

    def event_name(self, body: bytes) -> str | None:
        return self.webhooks.event_name(body)

    def account_key(self, domain: str | None) -> str | None:
        return self.account_of(domain) if self.account_of is not None else None

    def app_blueprint(self):
        """The side-panel app's Flask blueprint, or ``None`` for a helpdesk without one."""
        return import_module(self.app_module).blueprint if self.app_module else None

    def client(self, connection: Connection) -> HelpdeskClient:
        module, _, name = self.client_path.partition(":")
        return getattr(import_module(module), name)(connection)
