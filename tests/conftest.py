"""Shared fixtures: every database test runs against SQLite and against the machine's PostgreSQL.

PostgreSQL and Redis are real. Each test session creates its own PostgreSQL database and uses its
own Redis db number, and removes them at the end. Outside CI a missing server skips those
parametrizations; with ``CI=true`` a missing server fails the run instead, so CI never goes green
for want of a service.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.config import Settings
from core.dispatch import drains
from core.store.db import Database
from core.store.tables import Base

#: Browser fixtures (``browser``, ``page``, ``narrow_page``, ``base_url``), defined once for the session.
pytest_plugins = ["tests.browser_support"]

PG_ADMIN_URL = os.environ.get("DESKLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("DESKLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI requires it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"deskloop_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is down or unreachable
        admin.dispose()
        _unavailable(f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrated = Database(url)
    migrated.migrate()
    migrated.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request, monkeypatch) -> Settings:
    """Settings for one test: its own DESKLOOP_HOME, and SQLite or the session's PostgreSQL."""
    home = tmp_path / "home"
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{home / 'deskloop.db'}"
    monkeypatch.setenv("DESKLOOP_HOME", str(home))
    monkeypatch.setenv("DESKLOOP_DATABASE_URL", url)
    monkeypatch.delenv("DESKLOOP_REDIS_URL", raising=False)
    monkeypatch.setenv("DESKLOOP_SECRET_KEY", "test-only-key-that-encrypts-tenant-credentials")
    monkeypatch.setenv("DESKLOOP_ENCODER_DIR", str(request.getfixturevalue("encoder_dir")))
    return Settings.from_env()


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory) -> Path:
    """One exported encoder for the whole run: exporting takes seconds, and every test's would be the same."""
    return tmp_path_factory.mktemp("encoders")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    database.migrate()
    yield database
    # A webhook's events are applied on a drain thread after the answer (the embedded default):
    # let it finish, and forget its retry timers, before the next test sees an empty database.
    # Timers first: one firing after the wait started a drain that ran into the TRUNCATE below (a
    # deadlock, seen once); then the wait, then the timers a finishing drain may have set.
    drains.cancel_timers()
    drains.wait_idle()
    drains.cancel_timers()
    if database.dialect == "postgresql":
        _truncate_all(database)
    database.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's real Redis, on a db number of its own, flushed before and after."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except RedisConnectionError as exc:
        _unavailable(f"Redis unavailable at {REDIS_TEST_URL}: {exc}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator:
    """The real app on the test's database, its runtime closed afterwards."""
    from core.app import create_app

    app = create_app(settings)
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture(scope="session", autouse=True)
def _never_the_users_home(tmp_path_factory) -> Iterator[None]:
    """Whatever reads the environment without a test's settings lands in a throwaway home, never in
    the home of whoever runs the tests (their demo's database, their models)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESKLOOP_HOME", str(tmp_path_factory.mktemp("unset-home")))
        patch.delenv("DESKLOOP_DATABASE_URL", raising=False)
        yield
