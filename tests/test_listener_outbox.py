"""The listener jobs' outbox (``core.dispatch.outbox``): a job stays recorded until it has completed,
so one that Redis forgot (a restart without persistence) is queued again and done once, a completed
one is never queued again, and one still running is neither queued again nor run a second time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import select, update

from core.config import Settings
from core.dispatch import listeners, outbox
from core.dispatch.listeners import Occurrence, listen
from core.dispatch.queue import job_states, run_worker
from core.dispatch.requeue import requeue_unfinished
from core.runtime import Runtime
from core.store.tables import ListenerJobRow

KIND = "outbox_probe"
JOB_ID = "zendesk:acme:test-outbox:ev-1"


class Probe:
    """A listener job that counts its runs; ``hold`` keeps a run going until released, and
    ``failures`` makes the first runs fail (a helpdesk that is down)."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = threading.Event()
        self.hold: threading.Event | None = None
        self.failures = 0

    def __call__(self, runtime, occurrence) -> str:
        self.runs += 1
        self.started.set()
        if self.hold is not None:
            assert self.hold.wait(30)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the helpdesk is unavailable")
        return f"wrote back for {occurrence.key}"


@pytest.fixture
def probe():
    handler = Probe()
    listen("test-outbox", "event", (KIND,), as_job=True)(handler.__call__)
    yield handler
    listeners.forget("test-outbox")


@pytest.fixture
def with_redis(db, redis_url, monkeypatch) -> Runtime:
    """A runtime as a PostgreSQL + Redis deployment has it (workers read the same environment)."""
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    db.ensure_tenant("acme")
    return Runtime(Settings.from_env())


def _occurrence(key: str = "ev-1") -> Occurrence:
    return Occurrence("event", "acme", "zendesk", KIND, key, {"ticket_external_id": "42"}, {})


def _entry(runtime: Runtime, key: str = "ev-1") -> ListenerJobRow:
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.tenant_session(tenant_id) as session:
        return session.scalars(select(ListenerJobRow).where(
            ListenerJobRow.job_id == f"zendesk:acme:test-outbox:{key}")).one()


def _due_now(runtime: Runtime) -> None:
    """As if the outbox's grace time had passed since the job was queued."""
    with runtime.db.transaction(runtime.db.tenant_id("acme")) as session:
        session.execute(update(ListenerJobRow).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))


def _work(runtime: Runtime) -> None:
    run_worker(runtime.settings, burst=True)


#: A deployment with Redis runs on PostgreSQL.
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@on_postgresql
def test_a_job_redis_forgot_is_queued_again_and_done_once(with_redis, probe, redis_url):
    runtime = with_redis
    assert listeners.publish(runtime, _occurrence())
    assert job_states(runtime.settings, [JOB_ID]) == {JOB_ID: "queued"}
    Redis.from_url(redis_url).flushdb()  # Redis restarted without persistence: the queued job is gone

    assert requeue_unfinished(runtime, "acme") == 0  # within its grace time, nobody asks
    _due_now(runtime)
    assert requeue_unfinished(runtime, "acme") == 1
    _work(runtime)

    entry = _entry(runtime)
    assert probe.runs == 1 and entry.done_at is not None and entry.outcome == "wrote back for ev-1"
    assert entry.queued_times == 2
    _due_now(runtime)
    assert requeue_unfinished(runtime, "acme") == 0


@on_postgresql
def test_a_completed_job_is_not_queued_again(with_redis, probe, redis_url):
    runtime = with_redis
    assert listeners.publish(runtime, _occurrence())
    _work(runtime)
    assert probe.runs == 1 and _entry(runtime).done_at is not None

    Redis.from_url(redis_url).flushdb()  # the finished job's record is gone too
    _due_now(runtime)
    assert requeue_unfinished(runtime, "acme") == 0
    assert listeners.publish(runtime, _occurrence())  # the event told again: its job is not queued
    assert job_states(runtime.settings, [JOB_ID]) == {JOB_ID: None}
    _work(runtime)
    assert probe.runs == 1


@on_postgresql
def test_a_running_job_is_neither_queued_again_nor_run_twice(with_redis, probe, redis_url):
    runtime = with_redis
    assert listeners.publish(runtime, _occurrence())
    job = listeners._as_json(_occurrence())
    probe.hold = threading.Event()
    # A worker runs the job (slowly: a helpdesk taking its time) ...
    running = threading.Thread(target=listeners.run_listener, args=("test-outbox", job))
    running.start()
    try:
        assert probe.started.wait(30)
        # ... while Redis restarts and forgets it, and the outbox looks after its grace time.
        Redis.from_url(redis_url).flushdb()
        _due_now(runtime)
        assert requeue_unfinished(runtime, "acme") == 0
        # Queued again all the same (the event told twice): the second run does not do the work.
        listeners.queue_job(runtime, "test-outbox", job)
        _work(runtime)
        assert probe.runs == 1 and job_states(runtime.settings, [JOB_ID]) == {JOB_ID: "finished"}
    finally:
        probe.hold.set()
        running.join(30)
    assert _entry(runtime).done_at is not None
    _due_now(runtime)
    assert requeue_unfinished(runtime, "acme") == 0  # that second run ended; the entry is done
    assert listeners.run_listener("test-outbox", job) == "already done"
    assert probe.runs == 1


@on_postgresql
def test_a_job_whose_worker_died_is_queued_again_once_its_claim_has_lapsed(with_redis, probe):
    runtime = with_redis
    assert listeners.publish(runtime, _occurrence())
    tenant_id = runtime.db.tenant_id("acme")
    assert outbox.claim(runtime, "acme", JOB_ID, lease_seconds=300) is outbox.Claim.CLAIMED  # a worker, then killed
    _work(runtime)  # the queued copy finds the entry claimed and does nothing
    assert probe.runs == 0
    _due_now(runtime)
    assert requeue_unfinished(runtime, "acme") == 0  # the claim may still be running

    with runtime.db.transaction(tenant_id) as session:  # the lease lapses
        session.execute(update(ListenerJobRow).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert requeue_unfinished(runtime, "acme") == 1
    _work(runtime)
    assert probe.runs == 1 and _entry(runtime).done_at is not None


def test_without_redis_a_job_that_failed_is_run_again_by_the_drain_and_done_once(db, settings, probe):
    """The embedded default runs jobs in-process: a run that fails (the helpdesk is down) leaves
    its entry, and the tenant's next drain runs it again once it is due; the drain thread wakes up
    for it by itself."""
    from core.helpdesk.webhook_events import drain_events, seconds_until_due

    db.ensure_tenant("acme")
    runtime = Runtime(settings)
    probe.failures = 1
    assert not listeners.publish(runtime, _occurrence())  # ran now, and failed: the event is told again later
    entry = _entry(runtime)
    assert probe.runs == 1 and entry.done_at is None and entry.claimed_until is None
    waits = seconds_until_due(runtime, "acme")
    assert waits is not None and 0 < waits <= outbox.GRACE_SECONDS + 1

    drain_events(runtime, "acme")  # not due yet: nothing runs
    assert probe.runs == 1
    _due_now(runtime)
    assert drain_events(runtime, "acme")["jobs_requeued"] == 1
    assert probe.runs == 2 and _entry(runtime).done_at is not None
    assert seconds_until_due(runtime, "acme") is None
    assert listeners.publish(runtime, _occurrence())  # told again: done already, so not run
    assert probe.runs == 2


def test_the_scheduler_starts_a_drain_for_a_tenant_whose_job_has_not_completed(db, settings, probe):
    from core.background.scheduler import enqueue_stuck_events

    db.ensure_tenant("acme")
    runtime = Runtime(settings)
    probe.failures = 1
    listeners.publish(runtime, _occurrence())
    assert enqueue_stuck_events(runtime) == []  # within its grace time
    _due_now(runtime)
    assert enqueue_stuck_events(runtime) == ["acme"]  # without Redis the drain runs now, and runs the job
    assert probe.runs == 2 and _entry(runtime).done_at is not None
    assert enqueue_stuck_events(runtime) == []
