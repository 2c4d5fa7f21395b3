"""Migrations: processes starting together on PostgreSQL migrate once, without tripping over each
other; a revision adding columns keeps the rows already stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from core.store.db import Database
from tests.conftest import PG_ADMIN_URL, _unavailable


def test_concurrent_migrations_on_a_fresh_postgresql_database():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"deskloop_migrate_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL unavailable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    databases = [Database(url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda db: db.migrate(), databases))  # raises if any of them failed
        tables = set(inspect(databases[0].engine).get_table_names())
        assert {"tenants", "tickets", "messages", "signals", "alembic_version"} <= tables
    finally:
        for db in databases:
            db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _fresh_database(backend: str, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"deskloop_migrate_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL unavailable: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _to_revision(db: Database, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("core.store") / "migrations"))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_label_source_columns_arrive_on_tickets_already_stored(backend, tmp_path):
    """0006 adds ticket_type, form and macros: a ticket stored before has none of them (macros an
    empty list, as new rows get), its group stays in assigned_group, and the revision goes back."""
    with _fresh_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            _to_revision(db, "0005")
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO tenants (slug, helpdesk, settings, created_at) "
                                  "VALUES ('acme', 'zendesk', '{}', CURRENT_TIMESTAMP)"))
                conn.execute(text(
                    "INSERT INTO tickets (tenant_id, source, external_id, subject, text, tags, reopen_count, "
                    "custom_fields, assigned_group, content_hash, imported_at) SELECT id, 'zendesk', '7', 'Hi', "
                    "'hi', '[]', 0, '{}', 'Billing', '', CURRENT_TIMESTAMP FROM tenants"))
            _to_revision(db, "0006")
            columns = {c["name"] for c in inspect(db.engine).get_columns("tickets")}
            assert {"ticket_type", "form", "macros", "assigned_group"} <= columns
            with db.engine.connect() as conn:
                row = conn.execute(text("SELECT ticket_type, form, macros, assigned_group FROM tickets")).one()
            macros = row.macros if isinstance(row.macros, list) else json.loads(row.macros)  # SQLite: text
            assert (row.ticket_type, row.form, macros, row.assigned_group) == (None, None, [], "Billing")
            _to_revision(db, "0005", down=True)
            assert "macros" not in {c["name"] for c in inspect(db.engine).get_columns("tickets")}
            _to_revision(db, "0006")
        finally:
            db.dispose()
