"""The objects a command, a request or a job works with: settings and an open, migrated database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from core.config import Settings
from core.store.db import Database


@dataclass
class Runtime:
    settings: Settings = field(default_factory=Settings.from_env)

    @cached_property
    def db(self) -> Database:
        self.settings.ensure_home()
        database = Database.from_settings(self.settings)
        database.migrate()
        return database

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


_cache: dict[Settings, Runtime] = {}


def for_jobs(settings: Settings | None = None) -> Runtime:
    """A per-process Runtime reused across jobs, so a worker keeps one connection pool per database."""
    settings = settings or Settings.from_env()
    if settings not in _cache:
        _cache[settings] = Runtime(settings)
    return _cache[settings]
