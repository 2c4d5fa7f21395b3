"""The Procfile's ``scheduler``: enqueues periodic work (nightly retraining) for the RQ workers.

RQ's own cron scheduler enqueues with the pickle serializer, which our JSON-only workers refuse,
so this small loop enqueues through :func:`core.jobs.enqueue` instead. Job ids contain the period
number, so several schedulers (or a restart) never queue the same period's job twice.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from core import tasks
from core.jobs import enqueue
from core.runtime import Runtime
from core.store.tables import TenantRow

log = logging.getLogger(__name__)


def enqueue_due(runtime: Runtime, interval_seconds: int, now: float | None = None) -> list[str]:
    """Enqueue this period's retraining for every tenant; returns the job ids that were new."""
    period = int((now if now is not None else time.time()) // interval_seconds)
    with runtime.db.admin_session() as session:
        slugs = session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all()
    queued = []
    for slug in slugs:
        job_id = f"train:{slug}:{period}"
        outcome = enqueue(tasks.train_tenant, slug, job_id=job_id, settings=runtime.settings)
        if outcome.mode != "duplicate":
            queued.append(job_id)
    return queued


def run_scheduler(runtime: Runtime, interval_seconds: int, tick_seconds: int = 60) -> None:
    while True:
        for job_id in enqueue_due(runtime, interval_seconds):
            log.info("enqueued %s", job_id)
        time.sleep(tick_seconds)
