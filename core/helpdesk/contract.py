"""The contract between the core and each helpdesk integration, and the registry that finds them.

The core never imports a helpdesk's package: integrations register themselves as Python entry
points in the ``deskloop.integrations`` group (see ``pyproject.toml``), each naming an object that
satisfies :class:`HelpdeskIntegration`. Adding a helpdesk is a new package under ``integrations/``
and one line in ``pyproject.toml``; nothing in ``core/`` changes. Something that only needs to
hear about events (a notifier) subscribes through :mod:`core.dispatch.listeners` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol, cast, get_args, runtime_checkable

from core.errors import BadInput
from core.events import HelpdeskEvent
from core.types import PageContext, Ticket

ENTRY_POINT_GROUP = "deskloop.integrations"


@dataclass(frozen=True)
class Connection:
    """Everything a client needs to reach one tenant's helpdesk account.

    ``secrets`` are decrypted (see :mod:`core.helpdesk.secrets`) and must never be logged or repr'd;
    ``api_url`` overrides the helpdesk's public API address (a proxy, or a local test server).
    """

    tenant: str
    helpdesk: str
    domain: str | None
    secrets: Mapping[str, str] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str | None:
        return self.settings.get("api_url")


class HelpdeskError(Exception):
    """A call to a helpdesk failed for good (its client's retries are spent). Each client raises
    its own subclass *and* the matching one below, so the core can act on what happened without
    knowing the helpdesk. ``status`` is the HTTP status (``None`` when no answer came back);
    ``retry_after`` the seconds the helpdesk asked to wait, when it said."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class HelpdeskUnauthorized(HelpdeskError):
    """401/403: the credentials are wrong, revoked or lack a permission. Retrying will not help."""


class HelpdeskNotFound(HelpdeskError):
    """404: the ticket (or tag, user) does not exist, or no longer does."""


class HelpdeskRateLimited(HelpdeskError):
    """429 for longer than the client waits: try again after ``retry_after``."""


class HelpdeskUnavailable(HelpdeskError):
    """5xx, a timeout or an unreachable host: try again later."""


class HelpdeskRejected(HelpdeskError):
    """Another 4xx: the helpdesk understood the request and refused it. Retrying will not help."""


class ReplyFollowUpFailed(HelpdeskError):
    """:meth:`HelpdeskClient.post_reply` posted the public reply, then adding its tags or setting
    its status failed (the helpdesk's error is ``__cause__``; ``status`` and ``retry_after`` are
    its). The customer has the answer, so it must not be posted again: ``reply_id`` is its id
    when the helpdesk gave one, and :meth:`HelpdeskClient.apply_tags` and
    :meth:`HelpdeskClient.set_status` are safe to retry on their own. The reply goes first for
    that reason: a ticket must never be solved, or tagged as answered, without its answer."""

    def __init__(self, message: str, reply_id: str | None, cause: HelpdeskError) -> None:
        super().__init__(f"{message}: {cause}", cause.status, cause.retry_after)
        self.reply_id = reply_id


def error_class_for(status: int | None) -> type[HelpdeskError]:
    """Which :class:`HelpdeskError` an HTTP status (or no answer at all) means."""
    if status in (401, 403):
        return HelpdeskUnauthorized
    if status == 404:
        return HelpdeskNotFound
    if status == 429:
        return HelpdeskRateLimited
    if status is None or status >= 500 or status in (408, 409):
        return HelpdeskUnavailable
    return HelpdeskRejected


@dataclass(frozen=True)
class SettingSpec:
    """A tenant setting an integration needs (e.g. the id of the app the helpdesk installed), so
    the CLI and the API can validate and document it without knowing the helpdesk:
    ``deskloop tenant app NAME --set KEY=VALUE``."""

    name: str
    help: str
    #: What a value must match in full (a regular expression).
    pattern: str = r"\S+"
    #: No two tenants of the same helpdesk may hold the same value (it names whose requests are whose).
    unique: bool = False

    def check(self, value: str) -> str:
        """The value, stripped, or :class:`BadInput` with the reason."""
        import re

        value = value.strip()
        if not re.fullmatch(self.pattern, value):
            raise BadInput(f"{self.name} must match {self.pattern}: {self.help}", field=self.name)
        return value


@dataclass(frozen=True)
class PanelPackage:
    """A helpdesk's side-panel app as ``deskloop manifests build`` makes it: the template folder
    (under ``manifests/``), the check that says whether the helpdesk would accept the built
    package (``"module:function"``, given the built folder, returning problems), whether the
    helpdesk takes it as a zip upload, and which shared panel files go where inside it."""

    folder: str
    check: str
    zipped: bool = True
    shared_files: Mapping[str, str] = field(default_factory=dict)

    def checker(self) -> Any:
        from importlib import import_module

        module, _, name = self.check.partition(":")
        return getattr(import_module(module), name)


#: What an integration can do; the core asks before relying on it. ``public_reply``: its client
#: has :meth:`HelpdeskClient.post_reply` and :meth:`HelpdeskClient.set_status`; ``handoff``:
#: :meth:`HelpdeskClient.hand_off`; ``create_ticket``: :meth:`TicketCreating.create_ticket`.
CAPABILITIES = frozenset({"webhooks", "backfill", "write_back_tags", "private_note", "panel", "panel_apply_tags",
                          "public_reply", "handoff", "create_ticket"})

#: The statuses Deskloop sets, in the core's words (:data:`core.types.Status`); each client says
#: them in its helpdesk's. A reply leaves the ticket waiting on the customer or solved.
ReplyStatus = Literal["pending", "solved"]
SettableStatus = Literal["pending", "solved", "open"]


def check_status(status: str, allowed: Any = SettableStatus) -> SettableStatus:
    """``status`` when it is one of ``allowed`` (:data:`SettableStatus` or :data:`ReplyStatus`);
    :class:`BadInput` otherwise, before anything is written."""
    if status not in get_args(allowed):
        raise BadInput(f"cannot set a ticket's status to {status!r}; one of {', '.join(get_args(allowed))}",
                       field="status")
    return cast(SettableStatus, status)


def named_id(names_by_id: Mapping[str, str], name: str) -> str | None:
    """The id of the group (team) called ``name`` in an id -> name map: the exact name, else the one
    name that differs only in case; ``None`` when there is none (or two differ only in case)."""
    exact = [i for i, n in names_by_id.items() if n == name]
    if exact:
        return exact[0]
    folded = [i for i, n in names_by_id.items() if n.casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def named_id_or_reread(cached: Mapping[str, str], reread: Callable[[], Mapping[str, str]],
                       name: str) -> tuple[str | None, Mapping[str, str]]:
    """:func:`named_id` in the cached id -> name map, else once more in a fresh read (a group
    created since the list was read). Returns the id (``None``: no such group) and the map last
    read, whose names a refusal can list."""
    found = named_id(cached, name)
    if found is not None:
        return found, cached
    fresh = reread()
    return named_id(fresh, name), fresh


@dataclass
class BackfillPage:
    """One page of history in the common shape, and where to resume after it (``None``: the
    history is exhausted)."""

    tickets: list[Ticket]
    cursor: str | None


class HelpdeskClient(Protocol):
    """Talks to one account through the helpdesk's own client library."""

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        """Tickets updated since ``since`` (all of them when ``None``), page by page, oldest
        first, starting after ``cursor`` when resuming. Waits out 429s (Retry-After)."""
        ...

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        """Add ``tags`` to the ticket, keeping the tags it already has."""
        ...

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        """Add an internal note (never visible to the customer)."""
        ...

    def post_reply(self, ticket_external_id: str, body: str, *, tags: list[str],
                   status: ReplyStatus | None) -> str | None:
        """A public reply to the customer (plain text), written as the user Deskloop acts as (the
        one :meth:`identity` names, so the helpdesk's echo of it parses ``from_deskloop``); then
        ``tags`` added, keeping the ticket's own, and ``status`` set when given. Returns the
        helpdesk's id of the reply when its answer gives it. The reply is never repeated after
        an error that may have followed its posting; a failure after it is
        :class:`ReplyFollowUpFailed`."""
        ...

    def set_status(self, ticket_external_id: str, status: SettableStatus) -> None:
        """Set the ticket's status (safe to repeat)."""
        ...

    def hand_off(self, ticket_external_id: str, note: str, group: str | None) -> None:
        """Give the ticket back to people: an internal note carrying ``note`` (never visible to the
        customer), the ticket open again, and assigned to the group (team) named ``group`` as
        the tenant configures it. An unknown name is :class:`HelpdeskRejected` naming it, raised
        before anything is written, so the operator fixes the setting."""
        ...

    def identity(self) -> dict[str, Any]:
        """Settings that let :meth:`HelpdeskIntegration.parse` recognise Deskloop's own changes
        (the helpdesk user the credentials act as) and name what deliveries give by id only
        (groups, forms, teams: id -> name maps). Calling it proves the credentials work."""
        ...


class TicketCreating(Protocol):
    """The optional ``create_ticket`` capability of a :class:`HelpdeskClient`: an integration that
    lists it in :attr:`HelpdeskIntegration.capabilities` has a client with this method too (the
    in-app widget files its tickets through it, :mod:`core.widget.filing`)."""

    def create_ticket(self, subject: str, body: str, requester_email: str | None, requester_name: str | None,
                      page_context: PageContext | None) -> str:
        """Open a ticket from the customer (``body`` their first message) with ``page_context``
        attached where the helpdesk keeps such things (custom fields, a private note, custom
        attributes); returns the helpdesk's id for it."""
        ...


@runtime_checkable
class HelpdeskIntegration(Protocol):
    """One helpdesk: webhook verification and parsing (pure), and a client factory."""

    name: str  # "zendesk", "freshdesk", "intercom": the <helpdesk> in /webhooks/<helpdesk>/<tenant>
    kind: str  # "helpdesk" (notifiers such as Slack and Linear say "notifier")
    #: Credentials ``deskloop tenant add`` requires, by name (e.g. "api_token", "webhook_secret").
    secret_names: tuple[str, ...]
    #: Credentials it can use but does not require (e.g. the admin id Intercom tags as).
    optional_secret_names: tuple[str, ...]
    #: The helpdesk's event names :meth:`parse` understands; each has a fixture
    #: ``fixtures/webhooks/<name>.json`` (checked by the contract test).
    handled_events: tuple[str, ...]
    fixtures_dir: Path
    #: What it can do (names from :data:`CAPABILITIES`).
    capabilities: frozenset[str]
    #: Tenant settings its side panel or webhooks need (``deskloop tenant app --set``).
    app_settings: tuple[SettingSpec, ...]
    #: The ticket's page in the agent interface, ``{domain}`` and ``{id}`` filled in (similar-ticket
    #: links); ``None``: no link.
    ticket_url_template: str | None
    #: Its side-panel app package (``None``: it has none).
    panel_package: PanelPackage | None

    def app_blueprint(self) -> Any:
        """The side-panel app's Flask blueprint, or ``None`` for a helpdesk without one."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        """Return if the delivery is provably from the helpdesk; raise
        :class:`core.events.BadSignature` otherwise. ``body`` is the raw bytes as received."""
        ...

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        """The common events in a verified delivery (``settings``: the tenant's connection
        settings, e.g. which helpdesk user is Deskloop's own). ``[]`` for a valid delivery of an event
        Deskloop does not use; :class:`core.events.MalformedPayload` when it cannot be read."""
        ...

    def event_name(self, body: bytes) -> str | None:
        """The helpdesk's name for the delivered event (for logs), ``None`` when absent."""
        ...

    def account_key(self, domain: str | None) -> str | None:
        """The helpdesk account a tenant's ``domain`` names, spelled one way (``acme.zendesk.com``
        from ``https://ACME.zendesk.com/``): two tenants cannot connect to one account
        (:mod:`core.helpdesk.accounts`). ``None`` when the domain names no account of its own
        (Intercom's is a regional API host every workspace shares); :class:`BadInput` when it
        cannot name one."""
        ...

    def client(self, connection: Connection) -> HelpdeskClient:
        ...


@cache
def registered() -> dict[str, HelpdeskIntegration]:
    """Every installed integration, by name."""
    found = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        integration = point.load()
        found[integration.name] = integration
    return found


def helpdesk_names() -> list[str]:
    return sorted(name for name, i in registered().items() if i.kind == "helpdesk")


def integration(name: str) -> HelpdeskIntegration:
    """The helpdesk integration called ``name``; :class:`core.errors.NotFound` otherwise."""
    from core.errors import NotFound

    found = registered().get(name)
    if found is None or found.kind != "helpdesk":
        raise NotFound(f"unknown helpdesk {name!r}; installed: {', '.join(helpdesk_names()) or 'none'}")
    return found


def check_secrets(helpdesk: HelpdeskIntegration, secrets: Mapping[str, str]) -> None:
    """Every credential the helpdesk needs is present and non-empty (names only in the message)."""
    missing = [name for name in helpdesk.secret_names if not str(secrets.get(name) or "").strip()]
    if missing:
        raise BadInput(f"{helpdesk.name} needs credentials {', '.join(missing)}")
    unknown = sorted(set(secrets) - set(helpdesk.secret_names) - set(helpdesk.optional_secret_names))
    if unknown:
        raise BadInput(f"unknown credential names for {helpdesk.name}: {', '.join(unknown)}")


def app_setting(helpdesk: HelpdeskIntegration, name: str) -> SettingSpec:
    """The integration's setting called ``name``; :class:`BadInput` naming the ones it has."""
    for spec in helpdesk.app_settings:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in helpdesk.app_settings) or "none"
    raise BadInput(f"{helpdesk.name} has no setting {name!r} (its settings: {known})", field=name)
