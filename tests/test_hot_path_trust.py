"""What the webhook's hot path trusts without asking, and that each trust ends when it must.

- A pooled database connection is pinged only after a second idle (:mod:`core.store.db`): one
  killed while idle is replaced without an error; one killed moments after use fails once, as a
  disconnect, and the pool recovers on the next checkout.
- The tenant's pending flag (:func:`core.helpdesk.webhook_events.schedule_processing`) is asked
  of Redis once per window: deliveries inside it ask nothing, and the window ends before the
  flag does, so a delivery after it asks again and enqueues a drain when the flag is gone.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from core.helpdesk import webhook_events
from core.helpdesk.webhook_events import PENDING_FLAG_MS, schedule_processing
from core.runtime import Runtime
from core.store.db import PING_AFTER_IDLE_SECONDS, Database
from tests.conftest import PG_ADMIN_URL


def _backend_pid(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_killed_while_idle_is_replaced_without_an_error(db):
    pid = _backend_pid(db)
    _terminate(pid)
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    assert _backend_pid(db) != pid  # the ping found it dead; the pool opened another


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_killed_moments_after_use_fails_once_then_the_pool_recovers(db):
    pid = _backend_pid(db)
    _terminate(pid)
    with pytest.raises(OperationalError) as failed:
        _backend_pid(db)
    assert failed.value.connection_invalidated  # seen as a disconnect: the pool drops it
    assert _backend_pid(db) != pid


@pytest.fixture
def queued_runtime(settings, db, redis_url):
    runtime = Runtime(replace(settings, redis_url=redis_url))
    yield runtime
    runtime.close()


def test_deliveries_inside_the_flag_window_ask_redis_nothing(queued_runtime, redis_url, monkeypatch):
    enqueued = []
    monkeypatch.setattr("core.dispatch.queue.enqueue", lambda *a, **k: enqueued.append(a) or _Mode("queued"))
    redis = Redis.from_url(redis_url)
    flag = webhook_events._pending_flag("acme")

    assert schedule_processing(queued_runtime, "acme") == "queued"
    assert redis.exists(flag) and len(enqueued) == 1
    # Inside the window this process trusts the flag: removing it in Redis goes unnoticed...
    redis.delete(flag)
    assert schedule_processing(queued_runtime, "acme") == "pending"
    assert not redis.exists(flag) and len(enqueued) == 1
    # ...until the window ends, which is before the flag would have expired.
    time.sleep(PENDING_FLAG_MS / 1000 * webhook_events._TRUSTED_SHARE + 0.05)
    assert schedule_processing(queued_runtime, "acme") == "queued"
    assert len(enqueued) == 2


def test_a_flag_set_by_another_process_is_trusted_for_part_of_its_remaining_life(queued_runtime, redis_url,
                                                                                 monkeypatch):
    enqueued = []
    monkeypatch.setattr("core.dispatch.queue.enqueue", lambda *a, **k: enqueued.append(a) or _Mode("queued"))
    redis = Redis.from_url(redis_url)
    flag = webhook_events._pending_flag("acme")
    redis.set(flag, 1, px=200)  # another web process set it 300 ms ago
    assert schedule_processing(queued_runtime, "acme") == "pending"
    assert not enqueued
    trusted_until = queued_runtime.known_until[("events-pending", "acme")]
    assert trusted_until - time.monotonic() <= 0.2 * webhook_events._TRUSTED_SHARE
    time.sleep(0.25)  # the flag is gone, and so is the trust
    assert schedule_processing(queued_runtime, "acme") == "queued"
    assert len(enqueued) == 1


def test_the_memory_of_facts_is_bounded(queued_runtime, monkeypatch):
    monkeypatch.setattr("core.runtime.MAX_KNOWN_FACTS", 50)
    for n in range(500):
        queued_runtime.remember(("auth-failures", f"10.0.{n // 256}.{n % 256}", "-"), 60)
    assert len(queued_runtime.known_until) <= 50
    assert queued_runtime.knows(("auth-failures", "10.0.1.243", "-"))  # the newest is kept


class _Mode:
    def __init__(self, mode: str) -> None:
        self.mode = mode
