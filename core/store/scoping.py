"""Tenant isolation enforced by the session, not by each query's author.

A session opened for a tenant (``session.info["tenant_id"]``) gets
``with_loader_criteria(tenant_id == ...)`` added to every ORM SELECT, UPDATE and DELETE that touches a
tenant-scoped table, so no code path can read another tenant's rows by forgetting a WHERE clause.
A session opened without a tenant refuses such statements outright, unless the statement opts out
explicitly with ``execution_options(all_tenants=True)`` (migrations, admin listings).
This is SQLAlchemy's documented multi-tenancy recipe for ``do_orm_execute``.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from core.store.tables import TenantScoped


class TenantScopeError(RuntimeError):
    """Raised when tenant data is queried from a session that is not bound to a tenant."""


class ScopedSession(Session):
    """A Session whose ORM statements are filtered by ``info["tenant_id"]``."""

    @property
    def tenant_id(self) -> int | None:
        return self.info.get("tenant_id")


@event.listens_for(ScopedSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_tenants"):
        return
    touches_tenant_rows = any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)
    if not touches_tenant_rows:
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        raise TenantScopeError(
            "tenant data queried from a session not bound to a tenant; "
            "open it with Database.tenant_session(tenant_id)"
        )
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )
