"""One way to run background work.

With ``DESKLOOP_REDIS_URL`` set, :func:`enqueue` puts the job on an RQ queue for the Procfile's
workers; without it the very same function runs in-process, so the embedded default needs no
services. Jobs follow RQ's advice for safe queues: they are referenced by import path, take only
JSON-serializable primitive arguments (ids, strings, plain dicts), are serialized with RQ's
``JSONSerializer`` (never pickle), and carry a deterministic id so a duplicate enqueue is a no-op.

The request id of the request that enqueued a job rides in the job's ``meta`` (JSON, beside the
arguments, never in them: the arguments and the id stay what the job means), and the worker binds it
to the job's log lines, so one id finds a webhook's lines in the web process and in the worker.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.config import INLINE_JOB_SETTINGS, Settings
from core.logs import bound, log_context

log = logging.getLogger(__name__)


class JobArgumentError(TypeError):
    """A job was given an argument that is not a JSON primitive."""


@dataclass(frozen=True)
class Enqueued:
    """What :func:`enqueue` did: ``ran`` in-process (with ``result``), queued, or was a duplicate."""

    job_id: str | None
    mode: Literal["inline", "queued", "duplicate"]
    result: Any = None


def function_path(func: Callable[..., Any]) -> str:
    path = f"{func.__module__}.{func.__qualname__}"
    if "<" in path or "." in func.__qualname__:
        raise JobArgumentError(f"jobs must be module-level functions, got {path}")
    return path


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _check_primitive(args: tuple[Any, ...]) -> None:
    try:
        round_trip = json.loads(json.dumps(list(args)))
    except (TypeError, ValueError) as exc:
        raise JobArgumentError(f"job arguments must be JSON primitives: {exc}") from exc
    if round_trip != list(args):
        raise JobArgumentError("job arguments must survive a JSON round trip unchanged (use lists, not tuples)")


def rq_job_id(job_id: str) -> str:
    """RQ accepts only letters, digits, ``_`` and ``-`` in ids; ours read like ``zendesk:<event id>``.

    Other characters become ``_`` and a short hash of the original keeps distinct ids distinct.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", job_id)
    if safe == job_id:
        return job_id
    return f"{safe[:100]}-{hashlib.sha1(job_id.encode()).hexdigest()[:10]}"


def redis_connection(settings: Settings):
    """The process's Redis client for ``settings.redis_url`` (imported lazily: the embedded default
    has no Redis). One per URL and process: a client holds a thread-safe connection pool, and a
    new one per enqueue cost a connection and a handshake on every webhook (about 4 ms)."""
    return _redis_for(settings.redis_url)


#: Seconds to open a connection to Redis: without a bound, a Redis host that drops packets holds
#: every request (and the readiness probe) until the kernel gives up, minutes later. Reads keep no
#: bound here (RQ's workers block on the queue on purpose); a URL's own setting wins.
REDIS_CONNECT_TIMEOUT = 5


@functools.lru_cache(maxsize=8)
def _redis_for(url: str):
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT)


def probe_redis(url: str, timeout: float) -> None:
    """PING ``url`` on a connection of its own with ``timeout`` on connecting and on the answer:
    a Redis that accepts the connection and then says nothing must fail a probe, not hang it."""
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def queue(settings: Settings, connection=None):
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(
        settings.queue_name,
        connection=connection or redis_connection(settings),
        serializer=JSONSerializer,
    )


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    settings: Settings | None = None,
    timeout: int = 1800,
    retry_after: tuple[int, ...] = (),
) -> Enqueued:
    """Run ``func(*args)`` in the background, or right now when no Redis is configured.

    Args:
        func: A module-level function; workers import it by its dotted path.
        *args: JSON primitives only, so a job can be read, retried and audited by anything.
        job_id: Deterministic id (e.g. ``"zendesk:<event id>"``); a second enqueue with the same id
            while the first exists is a no-op.
        settings: Defaults to :meth:`Settings.from_env`.
        timeout: Seconds a worker may spend on the job before RQ stops it.
        retry_after: Seconds to wait before each retry of a job that failed (RQ's ``Retry``): a
            job that calls a helpdesk outlives the helpdesk's outage this way. Without Redis the
            job runs once, now.
    """
    settings = settings or Settings.from_env()
    path = function_path(func)
    _check_primitive(args)
    if not settings.redis_url:
        token = INLINE_JOB_SETTINGS.set(settings)
        try:
            return Enqueued(job_id=job_id, mode="inline", result=func(*args))
        finally:
            INLINE_JOB_SETTINGS.reset(token)

    from rq import Retry
    from rq.exceptions import DuplicateJobError

    job_id = rq_job_id(job_id) if job_id is not None else None
    retry = Retry(max=len(retry_after), interval=list(retry_after)) if retry_after else None
    try:
        job = queue(settings).enqueue_call(
            path, args=list(args), job_id=job_id, unique=job_id is not None, timeout=timeout, retry=retry,
            meta=_job_meta(), description=path,  # RQ logs a job's description; by default it spells out the arguments
        )
    except DuplicateJobError:
        log.info("job %s already enqueued; skipping duplicate", job_id)
        return Enqueued(job_id=job_id, mode="duplicate")
    return Enqueued(job_id=job.id, mode="queued")


def job_states(settings: Settings, job_ids: list[str]) -> dict[str, str | None]:
    """What Redis knows of each of our ``job_ids`` (ids as given to :func:`enqueue`): RQ's status
    (``queued``, ``started``, ``deferred``, ``scheduled``, ``finished``, ``failed``, ...), or None
    for a job it does not know (never queued, expired, or lost with a Redis that restarted)."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    connection = redis_connection(settings)
    jobs = Job.fetch_many([rq_job_id(job_id) for job_id in job_ids], connection=connection,
                          serializer=JSONSerializer)
    states: dict[str, str | None] = {}
    for job_id, job in zip(job_ids, jobs, strict=True):
        status = job.get_status(refresh=False) if job is not None else None
        states[job_id] = str(status.value) if status is not None else None
    return states


def discard(settings: Settings, job_id: str) -> None:
    """Forget the job ``job_id`` (an id as given to :func:`enqueue`) and its result, so the same id
    can be queued again (a job id is unique while Redis knows it)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        Job.fetch(rq_job_id(job_id), connection=redis_connection(settings), serializer=JSONSerializer).delete()
    except NoSuchJobError:
        pass


def _job_meta() -> dict[str, str]:
    """What a job carries of the context that enqueued it: the request id and tenant, for its logs."""
    context = log_context.get()
    return {name: context[name] for name in ("request_id", "tenant") if name in context}


def _worker_class():
    """RQ's ``SimpleWorker``, binding each job's request id and job id to the log lines it writes."""
    from rq import SimpleWorker

    class LoggingWorker(SimpleWorker):
        def execute_job(self, job, queue):
            meta = job.meta or {}
            with bound(request_id=meta.get("request_id"), tenant=meta.get("tenant"), job_id=job.id):
                return super().execute_job(job, queue)

    return LoggingWorker


#: How often a worker runs RQ's registry maintenance (RQ's default: every 10 minutes). That is
#: where a job whose worker was killed mid-run is found, once its heartbeat has lapsed (90 s), and
#: retried or failed: with the default, a write-back in flight when its worker died came back up
#: to ten minutes late. One worker at a time does it (RQ takes a lock).
MAINTENANCE_SECONDS = 30


def run_worker(settings: Settings, burst: bool = False) -> None:
    """Process jobs from the Deskloop queue (the Procfile's ``worker``).

    A ``SimpleWorker`` runs jobs in its own process instead of forking one per job: most jobs are
    small and frequent (applying a webhook's events, writing a suggestion back), and a fork per
    job would reopen the database and reload the tenant's model every time (seconds), where a
    long-lived worker keeps both. Scale out by running more workers.

    RQ's worker quits when Redis goes away in the middle of a job (its bookkeeping after the job
    cannot reach Redis). A Redis restart of a few seconds must not leave a machine without workers
    until someone notices, so the worker waits for Redis to answer again and starts over (what it
    was running is retried: its job was lost with Redis, and the outbox queues it again). It stops
    for good only when asked to (a signal), in burst mode, or when it stopped with Redis answering.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq.serializers import JSONSerializer

    while True:
        connection = redis_connection(settings)
        worker = _worker_class()([queue(settings, connection)], connection=connection, serializer=JSONSerializer,
                                 maintenance_interval=MAINTENANCE_SECONDS)
        try:
            # with_scheduler: a failed job waiting to be retried (``retry_after``) is put back on the queue.
            worker.work(burst=burst, with_scheduler=True)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.error("worker lost Redis (%s)", type(exc).__name__)
        if burst or _redis_answers(settings):
            return
        log.error("worker stopped while Redis was unreachable; starting again once it answers")
        _wait_for_redis(settings)


def _redis_answers(settings: Settings) -> bool:
    from redis.exceptions import RedisError

    try:
        probe_redis(settings.redis_url or "", 2.0)
    except (RedisError, OSError):
        return False
    return True


def _wait_for_redis(settings: Settings, longest_pause: float = 10.0) -> None:
    """Until Redis answers a PING, looking again after 0.5 s, then twice as long each time (at most
    ``longest_pause``). SIGTERM still stops the process meanwhile (RQ's own handler is gone)."""
    import signal
    import sys
    import time

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pause = 0.5
    while not _redis_answers(settings):
        time.sleep(pause)
        pause = min(pause * 2, longest_pause)
    log.warning("Redis answers again; the worker starts over")
