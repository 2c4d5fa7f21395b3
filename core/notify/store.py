"""Notifier records (encrypted credentials, settings) and the posted-alert memory, per tenant.

Credentials are encrypted with ``DESKLOOP_SECRET_KEY`` exactly as a helpdesk's are
(:mod:`core.helpdesk.secrets`); listing shows which are set, never their values. A posted alert is
written in its own transaction right after the vendor answered, so a job retried after a partial
success finds it and updates instead of posting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.helpdesk.secrets import decrypt, encrypt
from core.notify.contract import check_notifier_secrets, notifier
from core.runtime import Runtime
from core.store.tables import NotifierRow, PostedAlertRow, TenantRow


@dataclass(frozen=True)
class Notifier:
    """One tenant's notifier, decrypted for a client: ``secrets`` are never logged or repr'd."""

    tenant: str
    kind: str
    secrets: Mapping[str, str] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListedNotifier:
    """What ``deskloop notifier list`` shows: credential names, never values."""

    tenant: str
    kind: str
    credentials: list[str]
    settings: dict[str, Any]


@dataclass(frozen=True)
class PostedAlert:
    notifier: str
    incident_id: str
    category: str
    target: str
    ref: str | None
    url: str | None
    last_key: str | None
    ended_at: datetime | None
    posted_at: datetime


def _tenant_id(runtime: Runtime, slug: str) -> int:
    with runtime.db.admin_session() as session:
        found = session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
    if found is None:
        raise NotFound(f"no tenant named {slug!r}")
    return found


def add_notifier(runtime: Runtime, tenant: str, kind: str, credentials: Mapping[str, str],
                 assignments: list[tuple[str, str]], replace: bool = False) -> ListedNotifier:
    """Store (or, with ``replace``, overwrite) the tenant's ``kind`` notifier. Everything is
    checked before the one transaction that writes: bad input leaves nothing half-written."""
    integration = notifier(kind)
    check_notifier_secrets(integration, credentials)
    settings = integration.parse_settings(assignments)
    tenant_id = _tenant_id(runtime, tenant)
    token = encrypt(runtime.settings.secret_key, credentials)
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(NotifierRow).where(NotifierRow.kind == kind))
        if row is not None and not replace:
            raise BadInput(f"tenant {tenant!r} already has a {kind} notifier; pass --replace to overwrite it")
        if row is None:
            row = NotifierRow(tenant_id=tenant_id, kind=kind)
            session.add(row)
        row.credentials, row.settings = token, settings
    return ListedNotifier(tenant, kind, sorted(credentials), settings)


def list_notifiers(runtime: Runtime, tenant: str | None = None) -> list[ListedNotifier]:
    statement = (select(TenantRow.slug, NotifierRow).join(TenantRow, TenantRow.id == NotifierRow.tenant_id)
                 .order_by(TenantRow.slug, NotifierRow.kind).execution_options(all_tenants=True))
    if tenant is not None:
        statement = statement.where(NotifierRow.tenant_id == _tenant_id(runtime, tenant))
    with runtime.db.admin_session() as session:
        return [ListedNotifier(slug, row.kind, sorted(decrypt(runtime.settings.secret_key, row.credentials)),
                               dict(row.settings or {})) for slug, row in session.execute(statement).all()]


def remove_notifier(runtime: Runtime, tenant: str, kind: str) -> None:
    tenant_id = _tenant_id(runtime, tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(NotifierRow).where(NotifierRow.kind == kind))
        if row is None:
            raise NotFound(f"tenant {tenant!r} has no {kind} notifier")
        session.delete(row)


def has_notifier(runtime: Runtime, tenant: str, kind: str) -> bool:
    """Whether a job is worth queuing (a listener's ``wanted``): one indexed read."""
    with runtime.db.admin_session() as session:
        found = session.scalar(select(NotifierRow.id).join(TenantRow, TenantRow.id == NotifierRow.tenant_id)
                               .where(TenantRow.slug == tenant, NotifierRow.kind == kind)
                               .execution_options(all_tenants=True))
    return found is not None


def load_notifier(runtime: Runtime, tenant: str, kind: str) -> Notifier:
    tenant_id = _tenant_id(runtime, tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.scalar(select(NotifierRow).where(NotifierRow.kind == kind))
        if row is None:
            raise NotFound(f"tenant {tenant!r} has no {kind} notifier")
        return Notifier(tenant, kind, decrypt(runtime.settings.secret_key, row.credentials), dict(row.settings or {}))


def _posted(row: PostedAlertRow) -> PostedAlert:
    return PostedAlert(row.notifier, row.incident_id, row.category, row.target, row.ref, row.url, row.last_key,
                       row.ended_at, row.posted_at)


def posted_alert(runtime: Runtime, tenant: str, kind: str, incident_id: str) -> PostedAlert | None:
    with runtime.db.tenant_session(_tenant_id(runtime, tenant)) as session:
        row = session.scalar(select(PostedAlertRow).where(PostedAlertRow.notifier == kind,
                                                          PostedAlertRow.incident_id == incident_id))
        return _posted(row) if row is not None else None


def recently_ended(runtime: Runtime, tenant: str, kind: str, category: str, within: timedelta) -> PostedAlert | None:
    """The latest alert of the same category that ended less than ``within`` ago: a recurrence
    continues it (Linear comments on that issue) instead of opening a new one."""
    since = utcnow() - within
    with runtime.db.tenant_session(_tenant_id(runtime, tenant)) as session:
        row = session.scalar(select(PostedAlertRow)
                             .where(PostedAlertRow.notifier == kind, PostedAlertRow.category == category,
                                    PostedAlertRow.ended_at.is_not(None), PostedAlertRow.ended_at >= since)
                             .order_by(PostedAlertRow.ended_at.desc()).limit(1))
        return _posted(row) if row is not None else None


def remember_posted(runtime: Runtime, tenant: str, kind: str, incident_id: str, category: str, target: str,
                    ref: str | None, url: str | None, key: str | None, ended_at: datetime | None = None) -> None:
    """Record (or advance) what was posted for the incident, in a transaction of its own. A row
    without ``ref`` says a post is about to be tried (a retry then looks for it before posting)."""
    with runtime.db.transaction(_tenant_id(runtime, tenant)) as session:
        row = session.scalar(select(PostedAlertRow).where(PostedAlertRow.notifier == kind,
                                                          PostedAlertRow.incident_id == incident_id))
        if row is None:
            row = PostedAlertRow(tenant_id=session.info["tenant_id"], notifier=kind, incident_id=incident_id,
                                 category=category, target=target)
            session.add(row)
        row.target, row.ref, row.url, row.last_key = target, ref, url, key
        if ended_at is not None:
            row.ended_at = ended_at
