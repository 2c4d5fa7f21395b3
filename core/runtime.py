"""The objects a command, a request or a job works with: settings and an open, migrated database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

from core.config import INLINE_JOB_SETTINGS, Settings
from core.store.db import Database

#: Facts a runtime keeps at most (see :meth:`Runtime.remember`).
MAX_KNOWN_FACTS = 10_000


@dataclass
class Runtime:
    settings: Settings = field(default_factory=Settings.from_env)
    #: Facts a hot path learned in this process and may trust until a monotonic deadline (key ->
    #: deadline; :meth:`remember`, :meth:`knows`); they live and die with this runtime, so a new
    #: app or test starts with none.
    known_until: dict[tuple[str, ...], float] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def db(self) -> Database:
        self.settings.ensure_home()
        database = Database.from_settings(self.settings)
        database.migrate()
        return database

    def knows(self, key: tuple[str, ...]) -> bool:
        """Whether a fact noted with :meth:`remember` still holds (its deadline has not passed)."""
        return time.monotonic() < self.known_until.get(key, 0.0)

    def remember(self, key: tuple[str, ...], seconds: float) -> None:
        """Trust the fact ``key`` for ``seconds``. Expired facts are dropped once there are many,
        so keys a client chooses (addresses, claimed tenants) cannot grow memory without bound."""
        if len(self.known_until) >= MAX_KNOWN_FACTS:
            now = time.monotonic()
            for stale in [k for k, deadline in self.known_until.items() if deadline <= now]:
                del self.known_until[stale]
            if len(self.known_until) >= MAX_KNOWN_FACTS:
                self.known_until.clear()
        self.known_until[key] = time.monotonic() + seconds

    def forget(self, key: tuple[str, ...]) -> None:
        self.known_until.pop(key, None)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


_cache: dict[Settings, Runtime] = {}


def for_jobs(settings: Settings | None = None) -> Runtime:
    """A per-process Runtime reused across jobs, so a worker keeps one connection pool per database."""
    settings = settings or INLINE_JOB_SETTINGS.get() or Settings.from_env()
    if settings not in _cache:
        _cache[settings] = Runtime(settings)
    return _cache[settings]
