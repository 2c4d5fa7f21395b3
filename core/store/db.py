"""Engine, sessions and migrations for one database (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker

from core.config import Settings
from core.store.scoping import ScopedSession, TenantScopeError
from core.store.tables import TenantRow
from core.types import check_slug

__all__ = ["Database", "TenantScopeError", "UnknownTenantError"]

#: PostgreSQL advisory lock held while migrating (any constant unique to Deskloop).
MIGRATION_LOCK_KEY = 0x6465736B6C6F6F70 & 0x7FFFFFFFFFFFFFFF
#: Alembic's proxies are process-wide: see :meth:`Database.migrate`.
_MIGRATING = threading.Lock()


class UnknownTenantError(LookupError):
    """The named tenant does not exist."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the web app read while an import writes; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


#: A pooled connection that was in use less than this long ago is handed out without a ping.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection on checkout (a database restart or a closed idle connection is
    found there, and the pool opens a new one), but only one that sat idle for a while. SQLAlchemy's
    ``pool_pre_ping`` pings every checkout: a round trip that cost a webhook delivery as much as
    its insert. A connection used moments ago was alive then; should the database have restarted
    in that moment, its first statement fails as a disconnect, and SQLAlchemy discards it with
    every older connection of the pool, as it does for any connection lost mid-use."""
    @event.listens_for(engine, "connect")
    def connected(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def checked_in(_dbapi_connection, record) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's own error for a dead connection
            raise DisconnectionError(f"pooled connection failed its ping: {type(exc).__name__}") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives its WAL and shared-memory
    files the same permissions): it holds every tenant's tickets and requesters."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:  # never open an existing file: closing any descriptor of it drops this process's SQLite locks
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("core.store") / "migrations"))
    return config


#: Seconds PostgreSQL has to accept a new connection (libpq's ``connect_timeout``, which also covers
#: the start-up exchange): without it, a database host that drops packets or a server that accepts
#: and never answers holds a request, a worker and the readiness probe indefinitely. A URL that sets
#: its own keeps it.
POSTGRES_CONNECT_TIMEOUT = 5


def _connect_args(url: str) -> dict[str, object]:
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        return {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}
    return {}


class Database:
    """One database: its engine, tenant-scoped sessions and schema migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                _create_private_file(Path(path))
        # hide_parameters: a failed statement's message (logged with its traceback) never shows the values
        # it carried, which are tickets, names and emails.
        self.engine: Engine = create_engine(url, hide_parameters=True, connect_args=_connect_args(url))
        _ping_when_idle(self.engine)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, class_=ScopedSession, expire_on_commit=False)
        self._tenant_ids: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent). One migration at a time
        per process: Alembic's ``context`` and ``op`` are module globals, so two threads migrating
        at once (two databases, or a background thread's runtime) run each other's steps on the
        wrong connection."""
        config = _alembic_config()
        with _MIGRATING, self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # Web workers, RQ workers and the scheduler may all start at once: one migrates,
                # the others wait here and then find the schema already at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_state(self) -> str:
        """``head`` when the schema is at the newest revision this code knows; ``behind`` when it is
        older (code newer than its schema would fail on its first query); ``ahead`` when it holds a
        revision this code does not know (a newer release migrated it during a rolling deploy)."""
        scripts = ScriptDirectory.from_config(_alembic_config())
        with self.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if current == set(scripts.get_heads()):
            return "head"
        known = {revision.revision for revision in scripts.walk_revisions()}
        return "behind" if current <= known else "ahead"

    def admin_session(self) -> ScopedSession:
        """A session bound to no tenant: it can manage tenants but cannot read tenant data."""
        return self._sessions()

    def tenant_session(self, tenant_id: int) -> ScopedSession:
        """A session that only ever sees ``tenant_id``'s rows."""
        return self._sessions(info={"tenant_id": tenant_id})

    @contextmanager
    def transaction(self, tenant_id: int | None = None) -> Iterator[ScopedSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        session = self.admin_session() if tenant_id is None else self.tenant_session(tenant_id)
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def creating_tenant(self, slug: str) -> Iterator[tuple[ScopedSession, int]]:
        """A session in one transaction for tenant ``slug`` and its id, the tenant created in that
        same transaction when it does not exist yet: work that fails (or a process killed midway)
        leaves no empty tenant behind. Raises :class:`BadInput` for an invalid slug."""
        check_slug(slug)
        session = self.admin_session()
        try:
            with session.begin():
                tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
                if tenant_id is None:
                    row = TenantRow(slug=slug, helpdesk="none", settings={})
                    session.add(row)
                    session.flush()
                    tenant_id = row.id
                session.info["tenant_id"] = tenant_id  # from here on, a session of that tenant
                yield session, tenant_id
        finally:
            session.close()

    def ensure_tenant(self, slug: str, helpdesk: str = "none", domain: str | None = None) -> int:
        """Return the tenant id for ``slug``, creating the tenant if it does not exist yet.
        Raises :class:`BadInput` for an invalid slug (see :func:`core.types.check_slug`)."""
        check_slug(slug)
        with self.transaction() as session:
            tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
            if tenant_id is None:
                row = TenantRow(slug=slug, helpdesk=helpdesk, domain=domain, settings={})
                session.add(row)
                session.flush()
                tenant_id = row.id
            return tenant_id

    def tenant_id(self, slug: str) -> int:
        """The id of an existing tenant, or :class:`UnknownTenantError`. Remembered once found
        (every request and signal asks; a tenant's id never changes, and tenants are not deleted
        while a process serves them)."""
        known = self._tenant_ids.get(slug)
        if known is not None:
            return known
        with self.admin_session() as session:
            tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
        if tenant_id is None:
            raise UnknownTenantError(f"no tenant named {slug!r}")
        self._tenant_ids[slug] = tenant_id
        return tenant_id

    def dispose(self) -> None:
        self.engine.dispose()


def upsert_insert(dialect: str, table: Table):
    """``INSERT`` for ``table`` with ``ON CONFLICT`` support on the two databases Deskloop runs
    on (``dialect``: ``"postgresql"`` or ``"sqlite"``)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
