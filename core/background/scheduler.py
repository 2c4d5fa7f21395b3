"""The Procfile's ``scheduler``: enqueues periodic work (nightly retraining, a drain for webhook
events left pending, each minute's spike scan per tenant and each day's Linear issues per requested
capability for the tenants that opted in, each Monday's weekly digest per tenant, each hour's sweep of
unanswered autonomous replies for the tenants that solve them after N days) for the RQ workers.

RQ's own cron scheduler enqueues with the pickle serializer, which our JSON-only workers refuse,
so this small loop enqueues through :func:`core.dispatch.queue.enqueue` instead. Job ids contain the period
number, so several schedulers (or a restart) never queue the same period's job twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from core.background import tasks
from core.dispatch.queue import enqueue
from core.runtime import Runtime
from core.store.tables import TenantRow

log = logging.getLogger(__name__)


def _enqueue_per_tenant(runtime: Runtime, func: Callable[..., Any], prefix: str, period_seconds: int,
                        now: float | None, slugs: Sequence[str] | None = None, **options: Any) -> list[str]:
    """One job per tenant (every tenant, or ``slugs``) and period, whoever asks: the id names the
    period, so a second scheduler (or a restart within the period) finds the job already there.
    Returns the ids that were new."""
    period = int((now if now is not None else time.time()) // period_seconds)
    if slugs is None:
        with runtime.db.admin_session() as session:
            slugs = session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all()
    queued = []
    for slug in slugs:
        job_id = f"{prefix}:{slug}:{period}"
        outcome = enqueue(func, slug, job_id=job_id, settings=runtime.settings, **options)
        if outcome.mode != "duplicate":
            queued.append(job_id)
    return queued


def enqueue_due(runtime: Runtime, interval_seconds: int, now: float | None = None) -> list[str]:
    """Enqueue this period's retraining for every tenant; returns the job ids that were new."""
    return _enqueue_per_tenant(runtime, tasks.train_tenant, "train", interval_seconds, now)


#: Seconds between two insight scans of a tenant: an incident is opened within a minute of the
#: tickets that show it. A scan with nothing new is one indexed read.
INSIGHTS_EVERY = 60


def enqueue_insight_scans(runtime: Runtime, now: float | None = None) -> list[str]:
    """This minute's spike scan for every tenant."""
    return _enqueue_per_tenant(runtime, tasks.scan_insights, "insights", INSIGHTS_EVERY, now, timeout=300)


#: Seconds between two Linear syncs of a tenant's requested capabilities: a day. The report reads
#: up to half a year of tickets (seconds on a large tenant), and a capability's issue gains a
#: comment when more customers ask, which is news on a scale of days, not minutes.
CAPABILITIES_EVERY = 86_400


def enqueue_capability_syncs(runtime: Runtime, now: float | None = None) -> list[str]:
    """Today's Linear sync of requested capabilities, for the tenants whose Linear notifier has
    ``feature_requests=on`` only (:mod:`core.notify.capability_sync`); the others get no job."""
    from core.notify.capability_sync import opted_in_tenants

    return _enqueue_per_tenant(runtime, tasks.sync_capabilities, "capabilities", CAPABILITIES_EVERY, now,
                               slugs=opted_in_tenants(runtime), timeout=900)


def enqueue_weekly_digests(runtime: Runtime, now: float | None = None) -> list[str]:
    """Last week's digest for every tenant whose digest is not yet published, from Monday 08:00 UTC
    on (:mod:`core.notify.weekly_digest`), under the job id ``digest:<slug>:<2026-W49>``: a second
    scheduler finds it queued, and once it ran the tenant is no longer due. Returns the new ids."""
    from datetime import UTC, datetime

    from core.notify.weekly_digest import digest_key, due_week, unpublished_tenants

    week = due_week(datetime.fromtimestamp(now if now is not None else time.time(), UTC))
    queued = []
    for slug in unpublished_tenants(runtime, week):
        job_id = digest_key(slug, week)
        if enqueue(tasks.publish_weekly_digest, slug, week.label, job_id=job_id, settings=runtime.settings,
                   timeout=900).mode != "duplicate":
            queued.append(job_id)
    return queued


#: Seconds between two sweeps for autonomous replies left unanswered: an hour (the setting is in days).
QUIET_REPLIES_EVERY = 3600


def enqueue_quiet_reply_sweeps(runtime: Runtime, now: float | None = None) -> list[str]:
    """This hour's sweep of unanswered autonomous replies, for the tenants that chose to solve them
    after N days (:class:`core.autonomy.config.AutonomyConfig`); the others get no job."""
    from core.autonomy.config import config_from

    with runtime.db.admin_session() as session:
        rows = session.execute(select(TenantRow.slug, TenantRow.settings).order_by(TenantRow.slug)).all()
    slugs = [slug for slug, settings in rows if config_from(settings).status_after_reply == "solved_after_days"]
    return _enqueue_per_tenant(runtime, tasks.solve_quiet_replies, "quiet-replies", QUIET_REPLIES_EVERY, now,
                               slugs=slugs, timeout=600)


def enqueue_stuck_events(runtime: Runtime, older_than_seconds: int = 60) -> list[str]:
    """A drain for every tenant with webhook events still pending after ``older_than_seconds``
    (a worker died mid-job, or Redis lost its queue), whose retry time has come (an event that
    failed to apply, see :mod:`core.helpdesk.event_failures`) or applied without their listeners
    told (the drain died after its commit, or the queue refused the jobs), and for every tenant with
    a listener job that has not completed (a Redis restart lost it; the drain queues it again, see
    :mod:`core.dispatch.outbox`): the safety net under
    :func:`core.helpdesk.webhook_events.schedule_processing`. Quarantined events wait for an
    operator and wake nothing. Returns the tenants."""
    from datetime import UTC, datetime, timedelta

    from core.dispatch.outbox import unfinished_condition
    from core.helpdesk.event_failures import due_condition
    from core.helpdesk.webhook_events import process_events, untold_condition
    from core.store.tables import HelpdeskEventRow, ListenerJobRow

    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=older_than_seconds)
    stuck = HelpdeskEventRow.received_at < cutoff
    retry_due = HelpdeskEventRow.next_attempt_at.is_not(None)  # due_condition has checked it has come
    with runtime.db.admin_session() as session:
        slugs = set(session.scalars(
            select(TenantRow.slug).join(HelpdeskEventRow, HelpdeskEventRow.tenant_id == TenantRow.id)
            .where((due_condition(now) & (stuck | retry_due)) | untold_condition(now)).distinct()
            .execution_options(all_tenants=True)).all())
        slugs.update(session.scalars(
            select(TenantRow.slug).join(ListenerJobRow, ListenerJobRow.tenant_id == TenantRow.id)
            .where(unfinished_condition(now)).distinct().execution_options(all_tenants=True)).all())
    for slug in sorted(slugs):
        enqueue(process_events, slug, settings=runtime.settings)
    return sorted(slugs)


def run_scheduler(runtime: Runtime, interval_seconds: int, tick_seconds: int = 15,
                  stuck_after_seconds: int = 30) -> None:
    """Tick forever. A tick that fails (Redis or the database restarting) is logged and the next
    one tries again: the scheduler is the safety net for exactly those moments, so it must outlive them."""
    while True:
        try:
            _tick(runtime, interval_seconds, stuck_after_seconds)
        except Exception as exc:  # any outage; the next tick retries
            log.error("scheduler tick failed (%s: %s); trying again in %d s", type(exc).__name__, exc, tick_seconds)
        time.sleep(tick_seconds)


def _tick(runtime: Runtime, interval_seconds: int, stuck_after_seconds: int) -> None:
    for job_id in enqueue_due(runtime, interval_seconds):
        log.info("enqueued %s", job_id)
    enqueue_insight_scans(runtime)
    for job_id in enqueue_capability_syncs(runtime):
        log.info("enqueued %s", job_id)
    for job_id in enqueue_weekly_digests(runtime):
        log.info("enqueued %s", job_id)
    for job_id in enqueue_quiet_reply_sweeps(runtime):
        log.info("enqueued %s", job_id)
    for slug in enqueue_stuck_events(runtime, stuck_after_seconds):
        log.warning("webhook events of %s were still pending; enqueued a drain", slug)
