"""Who may see a tenant's suggestions from inside a helpdesk: side-panel apps and their tokens.

The JSON API under ``/api/v1`` is for operators on a trusted network. The side-panel apps run in
agents' browsers on the open internet, so every one of their requests proves which tenant it
speaks for, in one of two ways:

- an **app token** (``<tenant>.<random>``), issued once with ``deskloop tenant app NAME
  --new-token`` and stored by the helpdesk as a secure installation parameter (Freshdesk's
  request templates send it as a bearer token; the browser never sees it). Deskloop keeps only its
  SHA-256, so a copy of the database cannot be replayed;
- a **panel session**, which the server hands to a page it has just verified by other means (a
  Zendesk signed-URL token). Signed with ``itsdangerous`` under a key derived from
  ``DESKLOOP_SECRET_KEY``, it names the tenant, helpdesk and agent and expires after a working day.

The per-tenant app settings (Zendesk app id, Intercom workspace id) live beside the connection
settings, so a helpdesk's request can be matched to its tenant before anything is shown.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as token_source
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from core.errors import NotFound
from core.helpdesk.accounts import claim, holder
from core.helpdesk.connections import forget_connections
from core.helpdesk.contract import integration
from core.helpdesk.secrets import secret_keys
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.store.tenants import lock_tenant

#: A panel session lasts one working day; the helpdesk reloads the panel (and re-signs) long before.
SESSION_SECONDS = 12 * 3600
APP_TOKEN_SETTING = "app_token_sha256"
_SESSION_SALT = "deskloop side panel session v1"


class AccessDenied(Exception):
    """The request does not prove which tenant it speaks for (HTTP 401; the reason names no secret)."""


@dataclass(frozen=True)
class PanelIdentity:
    """The tenant (and, when the helpdesk told us, the agent) a side-panel request speaks for."""

    tenant: str
    helpdesk: str
    agent: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_app_token(runtime: Runtime, slug: str) -> str:
    """A new app token for the tenant (any earlier one stops working). Returned once, never stored."""
    token = f"{slug}.{token_source.token_urlsafe(32)}"
    update_app_settings(runtime, slug, {APP_TOKEN_SETTING: _digest(token)})
    return token


def identity_for_app_token(runtime: Runtime, token: str) -> PanelIdentity:
    slug, dot, _ = token.partition(".")
    if not dot or not slug:
        raise AccessDenied("not a Deskloop app token")
    with runtime.db.admin_session() as session:
        row = session.execute(select(TenantRow.helpdesk, TenantRow.settings).where(TenantRow.slug == slug)).first()
    expected = (row.settings or {}).get(APP_TOKEN_SETTING) if row is not None else None
    if row is None or not expected or not hmac.compare_digest(expected, _digest(token)):
        raise AccessDenied("the app token is not valid (issue one with `deskloop tenant app NAME --new-token`)")
    return PanelIdentity(slug, row.helpdesk)


def update_app_settings(runtime: Runtime, slug: str, values: dict[str, Any]) -> dict[str, Any]:
    """Merge ``values`` into the tenant's settings; returns the settings now stored. A setting its
    helpdesk declares ``unique`` (a workspace id) is claimed in the same transaction:
    :class:`core.helpdesk.accounts.AccountClaimed` when another tenant holds the value."""
    with runtime.db.transaction() as session:
        row = lock_tenant(session, slug=slug)
        if row is None:
            raise NotFound(f"no tenant named {slug!r}")
        specs = integration(row.helpdesk).app_settings if row.helpdesk != "none" else ()
        unique = {s.name for s in specs if s.unique}
        for name in sorted(unique & set(values)):
            claim(session, row, row.helpdesk, name, str(values[name]))
        row.settings = {**(row.settings or {}), **values}
        stored = dict(row.settings)
    forget_connections()
    return stored


def tenant_with_setting(runtime: Runtime, helpdesk: str, name: str, value: str) -> str | None:
    """The slug of the ``helpdesk`` tenant holding the unique setting ``name`` = ``value`` (one
    indexed read; a setting not declared unique is never found)."""
    with runtime.db.admin_session() as session:
        return holder(session, helpdesk, name, value)


def _serializer(runtime: Runtime) -> URLSafeTimedSerializer:
    # itsdangerous tries every key, newest last: the first configured key signs, all of them verify.
    return URLSafeTimedSerializer(list(reversed(secret_keys(runtime.settings.secret_key))), salt=_SESSION_SALT)


def issue_session(runtime: Runtime, identity: PanelIdentity) -> str:
    return _serializer(runtime).dumps({"t": identity.tenant, "h": identity.helpdesk, "a": identity.agent})


def identity_for_session(runtime: Runtime, token: str) -> PanelIdentity:
    try:
        data = _serializer(runtime).loads(token, max_age=SESSION_SECONDS)
    except SignatureExpired:
        raise AccessDenied("the panel session expired; reload the ticket") from None
    except BadSignature:
        raise AccessDenied("the panel session is not valid") from None
    return PanelIdentity(data["t"], data["h"], data.get("a"))


def identity_for_bearer(runtime: Runtime, authorization: str | None) -> PanelIdentity:
    """The identity an ``Authorization: Bearer ...`` header proves: an app token or a panel session."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessDenied("send the app token or panel session as `Authorization: Bearer ...`")
    token = token.strip()
    # A session is itsdangerous' payload.timestamp.signature; an app token is slug.random (one dot).
    if token.count(".") >= 2:
        return identity_for_session(runtime, token)
    return identity_for_app_token(runtime, token)
