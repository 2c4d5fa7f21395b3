"""Queueing again the listener jobs the outbox holds as unfinished (:mod:`core.dispatch.outbox`).

Apart from the outbox because it queues through :mod:`core.dispatch.listeners`, which records
in the outbox: the outbox itself stays a plain store that the listeners use, with no way back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.clock import aware_utc
from core.dispatch import outbox
from core.dispatch.listeners import queue_job
from core.dispatch.queue import discard, job_states
from core.runtime import Runtime
from core.store.tables import ListenerJobRow

log = logging.getLogger(__name__)


def requeue_unfinished(runtime: Runtime, tenant_slug: str) -> int:
    """Queue again the tenant's listener jobs that are due for a look and not on their way (see
    the module docstring). Returns how many were queued again."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    now = datetime.now(UTC)
    with runtime.db.tenant_session(tenant_id) as session:
        entries = session.execute(
            select(ListenerJobRow.id, ListenerJobRow.job_id, ListenerJobRow.listener, ListenerJobRow.occurrence,
                   ListenerJobRow.queued_at, ListenerJobRow.queued_times)
            .where(outbox.unfinished_condition(now)).order_by(ListenerJobRow.due_at).limit(outbox.SWEEP_LIMIT)).all()
    if not entries:
        return 0
    with_redis = bool(runtime.settings.redis_url)
    states = job_states(runtime.settings, [e.job_id for e in entries]) if with_redis else {}
    again, gave_up, waiting = [], [], []
    for entry in entries:
        state = states.get(entry.job_id)
        stuck = aware_utc(entry.queued_at) < now - timedelta(seconds=outbox.PENDING_TOO_LONG_SECONDS)
        if state == "failed" or entry.queued_times >= outbox.MAX_QUEUEINGS:
            gave_up.append(entry)
        elif state in outbox.ON_ITS_WAY and not (stuck and state != "started"):
            waiting.append(entry.id)
        else:  # unknown to Redis, ended without completing, stuck, or (without Redis) never completed
            again.append(entry)
    if again and with_redis:  # a job may have completed since the entries were read (RQ then says finished)
        again = _still_unfinished(runtime, tenant_id, again)
    queued = 0
    for entry in again:
        try:
            if with_redis:
                discard(runtime.settings, entry.job_id)
            queue_job(runtime, entry.listener, entry.occurrence)
            queued += 1
        except Exception:  # noqa: BLE001 - this entry is looked at again next time; the others go on
            log.exception("listener job %s of %s could not be queued again", entry.job_id, tenant_slug)
        _touch(runtime, tenant_id, [entry.id], now, requeued=True)
    _touch(runtime, tenant_id, waiting, now)
    if gave_up:
        with runtime.db.transaction(tenant_id) as session:
            session.execute(update(ListenerJobRow).where(ListenerJobRow.id.in_([e.id for e in gave_up]))
                            .values(failed_at=now).execution_options(synchronize_session=False))
        log.error("listener jobs of %s given up (failed after their retries, or queued %d times): %s",
                  tenant_slug, outbox.MAX_QUEUEINGS, ", ".join(e.job_id for e in gave_up))
    if again:
        log.warning("listener jobs of %s queued again (%d): lost by the queue or never completed", tenant_slug, queued)
    return queued


def _touch(runtime: Runtime, tenant_id: int, entry_ids: list[int], now: datetime, requeued: bool = False) -> None:
    """Look again at these entries a grace time from now (and count a new queueing)."""
    if not entry_ids:
        return
    values: dict[str, Any] = {"due_at": now + timedelta(seconds=outbox.GRACE_SECONDS)}
    if requeued:
        values.update(queued_at=now, queued_times=ListenerJobRow.queued_times + 1)
    with runtime.db.transaction(tenant_id) as session:
        session.execute(update(ListenerJobRow).where(ListenerJobRow.id.in_(entry_ids)).values(**values)
                        .execution_options(synchronize_session=False))


def _still_unfinished(runtime: Runtime, tenant_id: int, entries: list) -> list:
    with runtime.db.tenant_session(tenant_id) as session:
        done = set(session.scalars(select(ListenerJobRow.id).where(
            ListenerJobRow.id.in_([e.id for e in entries]), ListenerJobRow.done_at.is_not(None))))
    return [e for e in entries if e.id not in done]
