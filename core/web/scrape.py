"""What ``/metrics`` reads at scrape time from the database, Redis and the model store.

These are states, not events: how many webhook events wait or were applied, how deep each job
queue is, which model version serves each tenant. Any process may have changed them (a worker
applied the events, ``deskloop train`` promoted a model), so they are read when Prometheus asks,
not counted by whichever web worker happened to see them.

Webhook events are grouped by what the stored row says: no ``processed_at`` is pending, and the
first word of ``outcome`` (``applied``, ``stale``) is the state; a set ``quarantined_at`` is
``quarantined`` whatever else the row says. The column is looked up in the database at each scrape
(any column named ``quarantine...``), so the gauge reads a database migrated before or after the
release that added it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import inspect, select, text

from core.dispatch.queue import queue, redis_connection
from core.learning.training import registry_for
from core.runtime import Runtime
from core.store.tables import HelpdeskEventRow, TenantRow

log = logging.getLogger(__name__)

EVENTS_TABLE = HelpdeskEventRow.__tablename__


def _quarantine_column(runtime: Runtime) -> str | None:
    columns = [c["name"] for c in inspect(runtime.db.engine).get_columns(EVENTS_TABLE)]
    return next((name for name in columns if name.startswith("quarantine")), None)


def _event_states_sql(quarantine: str | None) -> str:
    quarantined = f"WHEN e.{quarantine} IS NOT NULL THEN 'quarantined' " if quarantine else ""
    return (
        "SELECT t.slug, CASE " + quarantined +
        "WHEN e.processed_at IS NULL THEN 'pending' "
        "WHEN e.outcome LIKE 'applied%' THEN 'applied' "
        "WHEN e.outcome LIKE 'stale%' THEN 'stale' "
        "WHEN e.outcome LIKE 'quarantine%' THEN 'quarantined' "
        "ELSE 'other' END AS state, count(*) "
        f"FROM {EVENTS_TABLE} e JOIN tenants t ON t.id = e.tenant_id GROUP BY 1, 2"
    )


def webhook_events(runtime: Runtime) -> GaugeMetricFamily:
    family = GaugeMetricFamily("deskloop_webhook_events", "Stored webhook events by tenant and state "
                               "(pending, applied, stale, quarantined, other).", labels=["tenant", "state"])
    statement = text(_event_states_sql(_quarantine_column(runtime)))
    with runtime.db.engine.connect() as connection:
        for slug, state, count in connection.execute(statement):
            family.add_metric([slug, state], count)
    return family


def models_in_service(runtime: Runtime) -> GaugeMetricFamily:
    family = GaugeMetricFamily("deskloop_model_in_service", "1 for the model version serving each tenant.",
                               labels=["tenant", "version"])
    with runtime.db.admin_session() as session:
        slugs = list(session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)))
    for slug in slugs:
        version = registry_for(runtime, slug).current_version()
        if version is not None:
            family.add_metric([slug, version], 1)
    return family


def job_queue(runtime: Runtime) -> Iterator[Metric]:
    """Jobs waiting, running and failed on the Deskloop queue; nothing without Redis (jobs run
    in-process there, so nothing ever waits)."""
    if not runtime.settings.redis_url:
        return
    jobs = queue(runtime.settings, redis_connection(runtime.settings))
    family = GaugeMetricFamily("deskloop_job_queue_jobs", "Jobs on the RQ queue by state (queued, started, "
                               "failed, scheduled, deferred).", labels=["queue", "state"])
    family.add_metric([jobs.name, "queued"], jobs.count)
    family.add_metric([jobs.name, "started"], jobs.started_job_registry.count)
    family.add_metric([jobs.name, "failed"], jobs.failed_job_registry.count)
    family.add_metric([jobs.name, "scheduled"], jobs.scheduled_job_registry.count)
    family.add_metric([jobs.name, "deferred"], jobs.deferred_job_registry.count)
    yield family


class StateCollector(Collector):
    """The scrape-time gauges for one Runtime. A source that cannot be read is left out of this
    scrape, and ``deskloop_scrape_source_up`` says which: Prometheus keeps the last good values and
    an alert can fire on the 0, where a failed scrape would hide every other metric too."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("deskloop_scrape_source_up", "1 when this scrape could read the source.",
                               labels=["source"])
        sources: list[tuple[str, Callable[[], list[Metric]]]] = [("database", lambda: [webhook_events(self.runtime)]),
                   ("models", lambda: [models_in_service(self.runtime)])]
        if self.runtime.settings.redis_url:
            sources.append(("redis", lambda: list(job_queue(self.runtime))))
        for name, read in sources:
            try:
                families = read()
            except Exception as exc:  # a down database or Redis must not fail the whole scrape
                log.warning("metrics: %s not readable (%s)", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up
