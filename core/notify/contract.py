"""What a notifier integration declares, and the errors its client raises in the core's terms.

A notifier is registered like a helpdesk (entry point group ``deskloop.integrations``) with
``kind = "notifier"``, so :func:`core.helpdesk.contract.registered` finds it and
:func:`core.helpdesk.contract.helpdesk_names` leaves it out. It carries the helpdesk-shaped
attributes the app reads from every registered integration (no side panel, no ticket links).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import BadInput, NotFound
from core.helpdesk.contract import registered

#: Settings a notifier takes as ``--set KEY=VALUE``: each parser returns the settings to store.
SettingsParser = Callable[[list[tuple[str, str]]], dict[str, Any]]


@dataclass(frozen=True)
class NotifierIntegration:
    name: str
    secret_names: tuple[str, ...]
    #: Turns ``--set`` pairs into stored settings, or raises :class:`BadInput` naming the key.
    parse_settings: SettingsParser
    #: One line per setting, for ``deskloop notifier add --help`` and error messages.
    settings_help: str
    kind: str = "notifier"
    optional_secret_names: tuple[str, ...] = ()
    ticket_url_template: str | None = None
    panel_package: None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def app_blueprint(self) -> None:
        return None


def notifier_names() -> list[str]:
    return sorted(name for name, i in registered().items() if i.kind == "notifier")


def notifier(name: str) -> NotifierIntegration:
    """The notifier integration called ``name``; :class:`NotFound` naming the installed ones."""
    found = registered().get(name)
    if found is None or found.kind != "notifier":
        raise NotFound(f"unknown notifier {name!r}; installed: {', '.join(notifier_names()) or 'none'}")
    return found  # type: ignore[return-value]  # kind "notifier" is a NotifierIntegration


def check_notifier_secrets(integration: NotifierIntegration, secrets: Mapping[str, str]) -> None:
    missing = [n for n in integration.secret_names if not str(secrets.get(n) or "").strip()]
    if missing:
        raise BadInput(f"{integration.name} needs credentials {', '.join(missing)}")
    unknown = sorted(set(secrets) - set(integration.secret_names) - set(integration.optional_secret_names))
    if unknown:
        raise BadInput(f"unknown credential names for {integration.name}: {', '.join(unknown)}")


class NotifierError(Exception):
    """A call to a notifier's API failed. Messages never carry the token. ``retry_after``: the
    seconds the vendor asked to wait, when it said."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class NotifierUnauthorized(NotifierError):
    """The token or key is wrong, revoked or lacks a scope: retrying will not help."""


class NotifierRateLimited(NotifierError):
    """Rate limited for longer than the client waits: the listener job's backoff retries it."""


class NotifierUnavailable(NotifierError):
    """5xx, a timeout, no answer: the listener job's backoff retries it."""


class NotifierRejected(NotifierError):
    """The vendor understood and refused (bad channel, invalid input): retrying will not help."""
