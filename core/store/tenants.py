"""Changing a tenant row so that every running process sees the change within one request.

Web workers cache what they derive from a tenant row (its decrypted connection: secrets, domain,
settings). ``tenants.config_version`` is the row's stamp: every change bumps it in the same
transaction, and a reader compares one indexed integer with what it cached before trusting the
cache. A rotated webhook secret therefore stops working in every worker as soon as it commits,
without a restart.

:func:`lock_tenant` is how a writer starts: the bump is its first statement, which also takes
the row's write lock (PostgreSQL) or the database's (SQLite) before the row is read, so two
commands changing one tenant at once run one after the other instead of one silently undoing the
other's change (a read-modify-write of the settings JSON).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, bindparam, select, update
from sqlalchemy.orm import Session

from core.store.tables import TenantRow


def lock_tenants(session: Session, which: ColumnElement[bool]) -> list[TenantRow]:
    """The tenant rows matching ``which``, locked for this transaction and already stamped as
    changed, read after the lock (so what the caller merges into is the latest committed)."""
    session.execute(update(TenantRow).where(which).values(config_version=TenantRow.config_version + 1)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(TenantRow).where(which).order_by(TenantRow.id)
                                .execution_options(populate_existing=True)))


def lock_tenant(session: Session, *, slug: str | None = None, tenant_id: int | None = None) -> TenantRow | None:
    """One tenant row (by ``slug`` or ``tenant_id``) as :func:`lock_tenants`; ``None`` when there
    is no such tenant."""
    if (slug is None) == (tenant_id is None):
        raise TypeError("name the tenant by exactly one of slug or tenant_id")
    rows = lock_tenants(session, TenantRow.slug == slug if slug is not None else TenantRow.id == tenant_id)
    return rows[0] if rows else None


def locked_tenant(session: Session, tenant_id: int) -> TenantRow:
    """:func:`lock_tenant` for a tenant known to exist (its id came from the database)."""
    row = lock_tenant(session, tenant_id=tenant_id)
    if row is None:
        raise LookupError(f"no tenant with id {tenant_id}")
    return row


#: Built once: this read runs on every webhook delivery, where building the statement cost as much
#: as the database's answer.
_STAMP = select(TenantRow.config_version).where(TenantRow.slug == bindparam("slug"))


_STAMP_BY_ID = select(TenantRow.config_version).where(TenantRow.id == bindparam("tenant_id"))


def tenant_stamp(session: Session | Connection, tenant_id: int) -> int | None:
    """:func:`config_version` by the tenant's id."""
    return session.scalar(_STAMP_BY_ID, {"tenant_id": tenant_id})


def config_version(session: Session | Connection, slug: str) -> int | None:
    """The tenant's stamp (one read through the unique index on ``slug``); ``None``: no such tenant.
    Takes a Core connection too: a webhook reads the stamp on the connection it then stores on."""
    return session.scalar(_STAMP, {"slug": slug})
