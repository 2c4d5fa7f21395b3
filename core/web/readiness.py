"""Whether this process can serve: the checks behind ``/readyz``.

Liveness (``/livez``) asks nothing of anyone: a process whose database is down is alive, and
restarting it would not bring the database back. Readiness asks what every request needs: the
database answers, its schema is the one this code was written for, Redis answers when jobs go
through it, and each tenant's model in service can be read. A load balancer sends no traffic to a
process that is not ready.

Each check answers a fixed word (``ok``, ``unreachable``, ``behind``...), never an exception's text:
the probe is public, and a driver's message can name hosts, users or file paths. The log line says
which exception it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, text

from core.dispatch.queue import probe_redis
from core.learning.training import registry_for
from core.ml.registry import ModelLoadError
from core.runtime import Runtime
from core.store.tables import TenantRow

log = logging.getLogger(__name__)

OK = "ok"
#: Seconds a check may wait on Redis: a probe is asked every few seconds and must answer before the
#: load balancer's own timeout, whatever the network does.
PROBE_TIMEOUT = 2.0


def _database(runtime: Runtime) -> str:
    with runtime.db.engine.connect() as connection:  # opening runtime.db also migrates, on first use
        connection.execute(text("SELECT 1"))
    return OK


def _migrations(runtime: Runtime) -> str:
    """``behind`` is not ready. ``ahead`` is: in a rolling deploy the new release migrates first, and
    the old one keeps serving (Deskloop's migrations add before they take away)."""
    state = runtime.db.schema_state()
    return OK if state == "head" else state


def _redis(runtime: Runtime) -> str:
    if not runtime.settings.redis_url:
        return "not configured"
    probe_redis(runtime.settings.redis_url, PROBE_TIMEOUT)
    return OK


def _models(runtime: Runtime) -> str:
    """Every tenant's model in service passes the loader's checks (tenants without one are fine:
    they answer 409 until trained, which is not this process's fault)."""
    with runtime.db.admin_session() as session:
        slugs = list(session.scalars(select(TenantRow.slug)))
    failing = 0
    for slug in slugs:
        registry = registry_for(runtime, slug)
        if registry.current_version() is None:
            continue
        try:
            registry.check()
        except ModelLoadError as exc:
            log.warning("readiness: the model in service for %s cannot be loaded: %s", slug, exc)
            failing += 1
    return OK if not failing else f"{failing} unloadable"


#: In order: a later check needs what an earlier one proved (migrations and models read the database).
CHECKS: tuple[tuple[str, Callable[[Runtime], str], tuple[str, ...]], ...] = (
    ("database", _database, ()),
    ("redis", _redis, ()),
    ("migrations", _migrations, ("database",)),
    ("models", _models, ("database",)),
)


def readiness(runtime: Runtime) -> tuple[bool, dict[str, str]]:
    """Whether every check passed, and each check's word."""
    results: dict[str, str] = {}
    for name, check, needs in CHECKS:
        if any(results.get(other) != OK for other in needs):
            results[name] = "skipped"
            continue
        try:
            results[name] = check(runtime)
        except Exception as exc:  # any driver's failure means "not ready"; the probe must answer, not 500
            log.warning("readiness: %s check failed (%s)", name, type(exc).__name__)
            results[name] = "unreachable" if name in ("database", "redis") else "failing"
    ready = all(value in (OK, "not configured", "ahead") for value in results.values())
    return ready, results
