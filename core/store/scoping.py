"""Tenant isolation enforced by the session, not by each query's author.

A session opened for a tenant (``session.info["tenant_id"]``) gets
``with_loader_criteria(tenant_id == ...)`` added to every ORM SELECT, UPDATE and DELETE that touches a
tenant-scoped table, so no code path can read another tenant's rows by forgetting a WHERE clause.
A session opened without a tenant refuses such statements outright, unless the statement opts out
explicitly with ``execution_options(all_tenants=True)`` (migrations, admin listings).
This is SQLAlchemy's documented multi-tenancy recipe for ``do_orm_execute``.
"""

from __future__ import annotations

import functools
from typing import cast

from sqlalchemy import Table, event
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from core.store.tables import Base, TenantScoped


@functools.cache
def _tenant_tables() -> frozenset[str]:
    """Computed once, and again only after another mapper is declared (:func:`_forget_tenant_tables`):
    every ORM statement asks, and walking the registry each time was a tenth of the worker's time
    spent applying webhook events."""
    # Each mapper's local_table is a Table (none maps a join or a subquery).
    return frozenset(cast(Table, m.local_table).name for m in Base.registry.mappers
                     if issubclass(m.class_, TenantScoped))


@event.listens_for(Mapper, "after_mapper_constructed")
def _forget_tenant_tables(mapper, class_) -> None:
    _tenant_tables.cache_clear()


def _tenant_tables_without_entity(statement, scoped_mappers) -> set[str]:
    touched = {t.name for t in find_tables(statement, check_columns=True, include_joins=True, include_crud=True)
               if hasattr(t, "name")}
    covered = {m.local_table.name for m in scoped_mappers}
    return (touched & _tenant_tables()) - covered


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
    scoped_mappers = [m for m in state.all_mappers if issubclass(m.class_, TenantScoped)]
    unscoped = _tenant_tables_without_entity(state.statement, scoped_mappers) if state.is_select else set()
    if unscoped:
        # with_loader_criteria only reaches tables named through an entity, so a read that names a
        # tenant table some other way is refused. (Core writes name tenant_id explicitly.)
        raise TenantScopeError(
            f"table(s) {', '.join(sorted(unscoped))} queried without their entity, so the tenant filter "
            "cannot apply; select an entity or its column (e.g. func.count(TicketRow.id))"
        )
    if not scoped_mappers:
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
