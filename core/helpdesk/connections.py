"""Connecting a tenant to its helpdesk account: credentials in, encrypted, and back out for a client.

Credentials are read from a file or the environment (never a command-line argument, which would
sit in shell history and ``ps``), checked against what the helpdesk integration needs, and stored
encrypted (:mod:`core.helpdesk.secrets`). Listing shows which credentials are set, never their values.

Every process keeps the decrypted connections it used, stamped with the tenant row's
``config_version``; each use compares that stamp with the database's (one indexed read), so a
reconnect or a rotated webhook secret reaches every running worker on its next request
(:mod:`core.store.tenants`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection as DbConnection
from sqlalchemy import select

from core.errors import BadInput, NotFound
from core.helpdesk.accounts import ACCOUNT, AccountClaimed, claim, holder, release_other_helpdesks
from core.helpdesk.contract import Connection, HelpdeskError, check_secrets, integration
from core.helpdesk.secrets import decrypt, encrypt
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.store.tenants import config_version, lock_tenant
from core.types import Helpdesk, Tenant, check_slug

#: Per-tenant settings a connection understands, with their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "write_back_tags": True,  # apply the suggested tags to the ticket in the helpdesk
    "private_note": False,  # add the draft as an internal note
}

#: Environment variables ``--credentials-env`` reads: DESKLOOP_CREDENTIAL_<NAME> (e.g. _API_TOKEN).
ENV_PREFIX = "DESKLOOP_CREDENTIAL_"


def read_credentials_file(path: Path) -> dict[str, str]:
    """A JSON object, or ``NAME=value`` lines (``#`` comments and blank lines ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read credentials: {exc.strerror}", file=str(path)) from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"not valid JSON ({exc.msg})", file=str(path), line=exc.lineno) from exc
        if not all(isinstance(v, str | int) for v in data.values()):
            raise BadInput("every credential must be a string", file=str(path))
        return {str(k).lower(): str(v) for k, v in data.items()}
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise BadInput("expected NAME=value", file=str(path), line=number)
        found[name.strip().lower()] = value.strip().strip('"').strip("'")
    return found


def read_credentials_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX) and v}


@dataclass
class ConnectedTenant:
    """What ``deskloop tenant list`` shows: no secret values, only which ones are set."""

    slug: str
    helpdesk: str
    domain: str | None
    credentials: list[str]
    settings: dict[str, Any]


def add_tenant(runtime: Runtime, slug: str, helpdesk: str, domain: str | None, credentials: Mapping[str, str],
               settings: Mapping[str, Any] | None = None, replace: bool = False,
               check: bool = False) -> ConnectedTenant:
    """Create (or, with ``replace``, reconnect) a tenant with its helpdesk credentials. A tenant
    created by an import (helpdesk ``none``) can be connected without ``replace``. ``check``
    calls the helpdesk first: the credentials must work, and the user they act as is kept in the
    settings so webhooks about Deskloop's own tags and notes are not learned from."""
    # The same checks as everywhere (pydantic checks the helpdesk too): BadInput on a bad slug.
    check_slug(slug)
    Tenant(slug=slug, helpdesk=cast(Helpdesk, helpdesk), domain=domain)
    desk = integration(helpdesk)
    check_secrets(desk, credentials)
    account = desk.account_key(domain)
    if account is not None:  # before calling the helpdesk; the claim below is what decides
        with runtime.db.admin_session() as session:
            found = holder(session, helpdesk, ACCOUNT, account)
        if found not in (None, slug):
            raise AccountClaimed(helpdesk, ACCOUNT, account, found)
    token = encrypt(runtime.settings.secret_key, credentials)
    merged = {**DEFAULT_SETTINGS, **(settings or {})}
    if check:
        merged.update(_identity(desk, Connection(slug, helpdesk, domain, dict(credentials), merged)))
    with runtime.db.transaction() as session:
        row = lock_tenant(session, slug=slug)
        if row is not None and row.helpdesk != "none" and not replace:
            raise BadInput(f"tenant {slug!r} is already connected to {row.helpdesk}; pass --replace to reconnect")
        if row is None:
            row = TenantRow(slug=slug)
            session.add(row)
        row.helpdesk, row.domain, row.credentials = helpdesk, domain, token
        row.settings = {**(row.settings or {}), **merged}
        session.flush()
        release_other_helpdesks(session, row.id, helpdesk)
        claim(session, row, helpdesk, ACCOUNT, account)
    forget_connections()
    return ConnectedTenant(slug, helpdesk, domain, sorted(credentials), merged)


def _identity(desk, conn: Connection) -> dict[str, str]:
    try:
        return desk.client(conn).identity()
    except BadInput:
        raise
    except HelpdeskError as exc:  # every client's errors; their messages carry no secrets
        raise BadInput(f"{desk.name} did not accept the credentials or could not be reached: {exc}") from exc


def list_tenants(runtime: Runtime) -> list[ConnectedTenant]:
    with runtime.db.admin_session() as session:
        rows = session.scalars(select(TenantRow).order_by(TenantRow.slug)).all()
        out = []
        for row in rows:
            names = sorted(decrypt(runtime.settings.secret_key, row.credentials)) if row.credentials else []
            out.append(ConnectedTenant(row.slug, row.helpdesk, row.domain, names, dict(row.settings or {})))
    return out


#: (database, slug) -> (the tenant row's config_version when read, the connection).
_connections: dict[tuple[str, str], tuple[int, Connection]] = {}
_connections_lock = threading.Lock()


def connection(runtime: Runtime, slug: str, db: DbConnection | None = None) -> Connection:
    """The tenant's decrypted connection, cached per process (a webhook must not decrypt on every
    delivery) and trusted only while the row's ``config_version`` is the one it was read at: a
    change committed by any process (a rotated secret, new settings) is used from the next call.
    ``db``: a Core connection to read the stamp on."""
    return stamped_connection(runtime, slug, db)[1]


def held_connection(runtime: Runtime, slug: str) -> tuple[int, Connection] | None:
    """The connection this process holds for ``slug`` and the stamp it was read at, without asking
    the database (``None``: none held). Only for a caller that proves the stamp itself: a webhook
    stores its events with a statement that writes nothing once the stamp moved
    (:func:`core.helpdesk.webhook_events.store_events_at_stamp`), one round trip instead of two."""
    return _connections.get((runtime.settings.database_url, slug))


def stamped_connection(runtime: Runtime, slug: str, db: DbConnection | None = None) -> tuple[int, Connection]:
    """:func:`connection` with the stamp it is current at."""
    key = (runtime.settings.database_url, slug)
    if db is not None:
        stamp = config_version(db, slug)
    else:
        with runtime.db.engine.connect() as own:
            stamp = config_version(own, slug)
    if stamp is None:
        raise NotFound(f"no tenant named {slug!r}")
    cached = _connections.get(key)
    if cached is not None and cached[0] == stamp:
        return cached
    with runtime.db.admin_session() as session:
        row = session.scalar(select(TenantRow).where(TenantRow.slug == slug))
        if row is None:
            raise NotFound(f"no tenant named {slug!r}")
        if row.helpdesk == "none" or not row.credentials:
            raise NotFound(f"tenant {slug!r} is not connected to a helpdesk")
        # Stamp and values come from one row read, so a change committed in between is never
        # cached under the older stamp.
        stamp, found = row.config_version, Connection(
            slug, row.helpdesk, row.domain, decrypt(runtime.settings.secret_key, row.credentials), dict(row.settings))
    with _connections_lock:
        _connections[key] = (stamp, found)
    return stamp, found


def forget_connections() -> None:
    with _connections_lock:
        _connections.clear()
