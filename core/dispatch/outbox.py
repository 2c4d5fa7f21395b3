"""The listener jobs' outbox: a job is remembered from its queueing until it has completed.

Handing a job to Redis is not doing it: a Redis without persistence that restarts forgets every job
it held (under webhook load, 15 write-backs of 1,668 were lost that way while the outbox only
waited for the queueing). So :func:`core.dispatch.listeners.publish` records each job of a
helpdesk event's listener here before queueing it (:func:`record`), the job marks its entry done
when it has finished (:func:`claim`, then :func:`mark_done`), and :func:`core.dispatch.requeue.requeue_unfinished`
queues again an entry whose job Redis no longer knows, ended without completing it, or has waited
too long (without Redis: that has not completed after a grace time). Every drain of a tenant's
webhook events runs it, and the scheduler starts a drain for any tenant with an entry left behind.

Running twice is guarded here rather than in each listener: a run claims its entry for as long as
it may run (a lease, longer than the job's timeout, after which RQ stops it), so a job queued again
while the first run is still going finds the entry claimed and does nothing (the sweep looks at the
entry again once the lease has lapsed, in case that run died), and a job whose entry is done does
nothing either. What the guard cannot cover is a process killed between the helpdesk's
answer and the commit of ``done_at`` (the effect is in the helpdesk, not in our database): that run
is done again once its lease has lapsed. Write-back's tags are idempotent there; its private note
would be written a second time.
"""

from __future__ import annotations

import enum
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from core.clock import aware_utc
from core.runtime import Runtime
from core.store.db import upsert_insert
from core.store.tables import ListenerJobRow

log = logging.getLogger(__name__)

#: Seconds after its queueing before the outbox first asks after a job, and between two looks:
#: long enough that a job just handed to Redis is there, short enough that a lost write-back is
#: done within a couple of minutes of the loss.
GRACE_SECONDS = 60

#: A job Redis still holds as queued (or waiting for a retry) this long after its queueing is
#: queued afresh: RQ's retries of a listener job end within ten minutes
#: (:data:`core.dispatch.listeners.JOB_RETRY_SECONDS`), so this one is stuck.
PENDING_TOO_LONG_SECONDS = 1800

#: Queueings after which the outbox gives an entry up (``failed_at``): a job that never completes
#: (its listener is gone, say) must not be queued forever.
MAX_QUEUEINGS = 10

#: Entries looked at per sweep; the rest wait for the next one.
SWEEP_LIMIT = 500

#: RQ statuses of a job that is still on its way: queued, running, or waiting for a retry.
ON_ITS_WAY = frozenset({"queued", "started", "deferred", "scheduled", "created"})

#: RQ statuses of a job that will not run again by itself without having completed its entry.
_ENDED = frozenset({"finished", "stopped", "canceled"})


class Claim(enum.Enum):
    """What a run found when it claimed its entry (see :func:`claim`)."""

    CLAIMED = "claimed"  # this run does the work
    DONE = "done"  # an earlier run completed it: nothing to do
    BUSY = "busy"  # another run holds it (still running, or died within its lease)
    UNRECORDED = "unrecorded"  # no entry (queued before the outbox existed): run unguarded


def record(runtime: Runtime, tenant_slug: str, job_id: str, listener: str, occurrence: dict[str, Any]) -> bool:
    """Remember a listener job before it is queued. Returns whether it is to be queued: False when
    its entry is done already (the event was told again after its job had completed)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    now = datetime.now(UTC)
    engine = runtime.db.engine
    statement = upsert_insert(engine.dialect.name, ListenerJobRow.__table__).on_conflict_do_nothing(
        index_elements=["tenant_id", "job_id"]).returning(ListenerJobRow.__table__.c.id)
    with engine.begin() as connection:
        new = connection.execute(statement, [{
            "tenant_id": tenant_id, "job_id": job_id, "listener": listener, "occurrence": occurrence,
            "created_at": now, "queued_at": now, "queued_times": 1,
            "due_at": now + timedelta(seconds=GRACE_SECONDS)}]).scalar()
        if new is not None:
            return True
        table = ListenerJobRow.__table__
        done = connection.execute(select(table.c.done_at, table.c.failed_at).where(
            table.c.tenant_id == tenant_id, table.c.job_id == job_id)).one()
    return done.done_at is None and done.failed_at is None


def claim(runtime: Runtime, tenant_slug: str, job_id: str, lease_seconds: float) -> Claim:
    """Take the entry of ``job_id`` for this run, for ``lease_seconds`` (one conditional UPDATE,
    so two runs can never both take it, on PostgreSQL or SQLite)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    now = datetime.now(UTC)
    mine = _entry(tenant_id, job_id)
    with runtime.db.transaction(tenant_id) as session:
        taken = session.scalar(
            update(ListenerJobRow).where(mine, ListenerJobRow.done_at.is_(None),
                                         ListenerJobRow.claimed_until.is_(None) | (ListenerJobRow.claimed_until < now))
            .values(claimed_until=now + timedelta(seconds=lease_seconds))
            .returning(ListenerJobRow.id).execution_options(synchronize_session=False))
        if taken is not None:
            return Claim.CLAIMED
        done_at = session.execute(select(ListenerJobRow.done_at).where(mine)).first()
    if done_at is None:
        return Claim.UNRECORDED
    return Claim.DONE if done_at[0] is not None else Claim.BUSY


def release(runtime: Runtime, tenant_slug: str, job_id: str) -> None:
    """Give the entry back after a run that failed, so its retry need not wait for the lease."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.transaction(tenant_id) as session:
        session.execute(update(ListenerJobRow).where(_entry(tenant_id, job_id), ListenerJobRow.done_at.is_(None))
                        .values(claimed_until=None).execution_options(synchronize_session=False))


#: Waits before each new attempt to mark an entry done while the database is unreachable. The work
#: is done by then: giving up would leave the entry claimed, and the job would be done again once
#: the lease lapsed, so the run insists for about half a minute (a database restart) first.
_MARK_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15)


def mark_done(runtime: Runtime, tenant_slug: str, job_id: str, outcome: Any) -> None:
    """Complete the entry of ``job_id`` (``outcome``: what the job returned, shortened)."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    said = str(outcome)[:255] if outcome is not None else None
    for wait in (*_MARK_RETRY_SECONDS, None):
        try:
            with runtime.db.transaction(tenant_id) as session:
                session.execute(update(ListenerJobRow).where(_entry(tenant_id, job_id))
                                .values(done_at=datetime.now(UTC), claimed_until=None, outcome=said)
                                .execution_options(synchronize_session=False))
            return
        except (OperationalError, InterfaceError):
            if wait is None:
                raise
            log.warning("listener job %s is done but could not be marked so; trying again in %s s", job_id, wait)
            time.sleep(wait)


def unfinished_condition(now: datetime):
    """Entries not done, not given up, due for a look, and claimed by no run in progress."""
    return (ListenerJobRow.done_at.is_(None) & ListenerJobRow.failed_at.is_(None) & (ListenerJobRow.due_at <= now)
            & (ListenerJobRow.claimed_until.is_(None) | (ListenerJobRow.claimed_until < now)))


def seconds_until_due(runtime: Runtime, tenant_slug: str) -> float | None:
    """Seconds until the sweep has a listener job of the tenant to look at (None: every one is
    done or given up): what wakes the embedded default's drain, which has no scheduler."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        entries = session.execute(
            select(ListenerJobRow.due_at, ListenerJobRow.claimed_until)
            .where(ListenerJobRow.done_at.is_(None), ListenerJobRow.failed_at.is_(None))
            .order_by(ListenerJobRow.due_at).limit(SWEEP_LIMIT)).all()
    if not entries:
        return None
    now = datetime.now(UTC)
    due = min(max(aware_utc(due_at), aware_utc(claimed) or now) for due_at, claimed in entries)
    return max((due - now).total_seconds(), 0.0) + 0.1


def _entry(tenant_id: int, job_id: str):
    return (ListenerJobRow.tenant_id == tenant_id) & (ListenerJobRow.job_id == job_id)
