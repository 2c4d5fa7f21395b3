"""Migrations: processes starting together on PostgreSQL migrate once, without tripping over each other."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

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
