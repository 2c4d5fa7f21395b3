"""Tenant isolation: no session can read another tenant's rows."""

import pytest
from sqlalchemy import select, update

from core.store.db import TenantScopeError
from core.store.tables import TicketRow


def _add_ticket(db, tenant_id, external_id):
    with db.transaction(tenant_id) as session:
        session.add(TicketRow(tenant_id=tenant_id, source="import", external_id=external_id, content_hash="x"))


def test_a_tenant_session_sees_only_its_own_rows(db):
    acme, globex = db.ensure_tenant("acme"), db.ensure_tenant("globex")
    _add_ticket(db, acme, "a-1")
    _add_ticket(db, globex, "g-1")

    with db.tenant_session(acme) as session:
        assert [t.external_id for t in session.scalars(select(TicketRow))] == ["a-1"]
        # Even an explicit filter on the other tenant's id returns nothing.
        assert session.scalars(select(TicketRow).where(TicketRow.tenant_id == globex)).all() == []


def test_bulk_update_from_one_tenant_cannot_touch_another(db):
    acme, globex = db.ensure_tenant("acme"), db.ensure_tenant("globex")
    _add_ticket(db, acme, "a-1")
    _add_ticket(db, globex, "g-1")

    with db.transaction(acme) as session:
        session.execute(update(TicketRow).values(subject="changed"), execution_options={"synchronize_session": False})

    with db.tenant_session(globex) as session:
        assert session.scalar(select(TicketRow.subject)) == ""


def test_an_unbound_session_refuses_tenant_data(db):
    _add_ticket(db, db.ensure_tenant("acme"), "a-1")
    with db.admin_session() as session, pytest.raises(TenantScopeError):
        session.scalars(select(TicketRow)).all()


def test_a_query_that_names_a_tenant_table_without_its_entity_is_refused(db):
    from sqlalchemy import func

    acme = db.ensure_tenant("acme")
    _add_ticket(db, acme, "a-1")
    _add_ticket(db, db.ensure_tenant("globex"), "g-1")
    with db.tenant_session(acme) as session:
        with pytest.raises(TenantScopeError, match="without their entity"):
            session.scalar(select(func.count()).select_from(TicketRow))
        assert session.scalar(select(func.count(TicketRow.id))) == 1
