"""The seam after every applied helpdesk event and every recorded signal: who else hears about it.

What happens after an event used to be spelled out in the event handler; a notifier (Slack,
Linear), a write-back, autonomy or the learning loop now *subscribe* instead. A listener names the
event (or signal) kinds it wants and whether it runs inline (cheap, must see the event before the
next one: the learning signal) or as a job. Jobs keep the discipline of :mod:`core.dispatch.queue`: JSON
arguments only (the event as its JSON shape) and a deterministic id per listener and event, so a
retried delivery never runs a listener twice. A listener that fails is logged and the others still
run: the event itself is already stored and applied.

Listeners register at import time with :func:`listen`; the core's own are in
:mod:`core.helpdesk.webhook_events` (learning signal, write-back) and :mod:`core.autonomy.shadow` (shadow
replies). An integration registers its own from
its package (imported through its entry point).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

from core.dispatch import outbox
from core.runtime import Runtime

log = logging.getLogger(__name__)

Topic = Literal["event", "signal", "incident", "capability", "digest"]


@dataclass(frozen=True)
class Occurrence:
    """What a listener hears: one applied helpdesk event, one recorded signal or one change of an
    incident (:mod:`core.insights.incidents`), for a tenant.

    ``data`` is the event's (or signal's) JSON shape (:meth:`pydantic.BaseModel.model_dump` in
    JSON mode), so a job can carry it; ``extra`` what the applier learned on the way (e.g. whether
    the tags changed), JSON too."""

    topic: Topic
    tenant: str
    source: str  # the helpdesk, or "signals"
    kind: str
    key: str  # the event id, or the signal id: the job id's last part
    data: dict[str, Any]
    extra: dict[str, Any]


Handler = Callable[[Runtime, Occurrence], Any]


@dataclass(frozen=True)
class Listener:
    name: str
    topic: Topic
    kinds: frozenset[str] | None  # None: every kind
    handle: Handler
    as_job: bool
    #: Checked inline before a job is queued (e.g. "does this tenant want write-back?"), so a
    #: listener that has nothing to do costs no job.
    wanted: Callable[[Runtime, Occurrence], bool] | None = None


_listeners: dict[str, Listener] = {}

#: Waits before each retry of a listener job that failed: about ten minutes in all, longer than a
#: helpdesk's usual outage or rate-limit window (the client itself retries within seconds first).
#: A listener job must therefore be safe to run again (write-back adds tags, which is idempotent).
JOB_RETRY_SECONDS = (10, 30, 60, 120, 300)

#: Seconds a listener job may run. A write-back or an alert takes seconds (its client's own retries
#: included); the bound matters when a worker dies mid-job: RQ finds such a job only once this
#: time (plus a minute) has passed since it started, and retries it then.
JOB_TIMEOUT_SECONDS = 300


def listen(name: str, topic: Topic, kinds: Iterable[str] | None = None, as_job: bool = False,
           wanted: Callable[[Runtime, Occurrence], bool] | None = None):
    """Register the decorated ``handler(runtime, occurrence)`` under ``name`` (unique: the job id
    and the log say it)."""
    def register(handler: Handler) -> Handler:
        if name in _listeners and _listeners[name].handle.__qualname__ != handler.__qualname__:
            raise ValueError(f"a listener called {name!r} is already registered")
        _listeners[name] = Listener(name, topic, frozenset(kinds) if kinds is not None else None, handler, as_job,
                                    wanted)
        return handler
    return register


def forget(name: str) -> None:
    """Unregister (tests, and an integration switched off)."""
    _listeners.pop(name, None)


def listeners_for(topic: Topic, kind: str) -> list[Listener]:
    load_listeners()  # a process that publishes must know the integrations' listeners too
    return [x for x in _listeners.values() if x.topic == topic and (x.kinds is None or kind in x.kinds)]


#: Topics whose listener jobs stay in the outbox until they have completed. A helpdesk event is
#: told once (its own outbox, ``published_at``, only waits for the queueing), so a job Redis forgot
#: would be lost. The other topics' publishers keep their own record of what reached its
#: destination (a posted alert, a published digest) and tell again until it has, which must run
#: the listener again even after a run that completed without posting: the outbox would stop that.
OUTBOX_TOPICS: frozenset[Topic] = frozenset({"event"})


def publish(runtime: Runtime, occurrence: Occurrence) -> bool:
    """Run every listener of the occurrence's topic and kind: inline ones now, in registration
    order; the others as jobs with id ``<source>:<tenant>:<listener>:<key>``, those of a helpdesk
    event recorded in the outbox (:mod:`core.dispatch.outbox`) until they have completed (see
    :data:`OUTBOX_TOPICS`). Returns False when a job could not be recorded or queued (the database
    or the queue is unreachable): the caller keeps the occurrence to tell again (the fixed job id
    makes that safe). A listener that fails inline is logged and counts as told: the same
    occurrence would fail it again."""
    queued_all = True
    for listener in listeners_for(occurrence.topic, occurrence.kind):
        try:
            if listener.wanted is not None and not listener.wanted(runtime, occurrence):
                continue
            if not listener.as_job:
                listener.handle(runtime, occurrence)
                continue
        except Exception:  # logged with its traceback; the others still run
            log.exception("listener %s for %s %s of tenant %s failed", listener.name, occurrence.topic,
                          occurrence.key, occurrence.tenant)
            continue
        as_json = _as_json(occurrence)
        try:
            if occurrence.topic not in OUTBOX_TOPICS or outbox.record(
                    runtime, occurrence.tenant, job_key(listener.name, as_json), listener.name, as_json):
                queue_job(runtime, listener.name, as_json)
        except Exception as exc:  # the queue or the database is unreachable: told again later
            queued_all = False
            log.error("listener %s for %s %s of tenant %s could not be queued (%s); it will be told again",
                      listener.name, occurrence.topic, occurrence.key, occurrence.tenant, type(exc).__name__)
    return queued_all


def job_key(name: str, occurrence: dict[str, Any]) -> str:
    """The id of listener ``name``'s job for ``occurrence`` (its JSON shape): one per listener and
    occurrence, so a retried delivery or a second queueing is the same job."""
    return f"{occurrence['source']}:{occurrence['tenant']}:{name}:{occurrence['key']}"


def queue_job(runtime: Runtime, name: str, occurrence: dict[str, Any]) -> None:
    """Queue listener ``name``'s job for ``occurrence`` (run it now, without Redis)."""
    from core.dispatch.queue import enqueue

    enqueue(run_listener, name, occurrence, job_id=job_key(name, occurrence), settings=runtime.settings,
            retry_after=JOB_RETRY_SECONDS, timeout=JOB_TIMEOUT_SECONDS)


#: How long a run holds its outbox entry (:func:`core.dispatch.outbox.claim`): longer than RQ lets
#: the job run, so a second run never starts while the first may still be going.
CLAIM_SECONDS = JOB_TIMEOUT_SECONDS + 60


def run_listener(name: str, occurrence: dict[str, Any]) -> Any:
    """The job a queued listener runs (a worker imports it by this dotted path); returns what the
    listener returned, which RQ keeps as the job's result (what was done, for an operator).

    A helpdesk event's job (:data:`OUTBOX_TOPICS`) claims its outbox entry first: an entry already
    done means an earlier run completed it (this one was queued again after a loss, or told twice),
    and one claimed by another run means that run may still be going: this one does nothing
    either, and should the other have died, the outbox queues the job again once its lease has
    lapsed (failing here instead would spend RQ's retries while the lease holds). The entry is
    marked done once the listener returned."""
    from core.runtime import for_jobs

    listener = _listeners.get(name)
    if listener is None:
        _import_core_listeners()
        listener = _listeners.get(name)
    if listener is None:
        log.warning("no listener called %s is registered here; job dropped", name)
        return None
    runtime, job_id = for_jobs(), job_key(name, occurrence)
    if occurrence["topic"] not in OUTBOX_TOPICS:
        return listener.handle(runtime, Occurrence(**occurrence))
    tenant = occurrence["tenant"]
    claimed = outbox.claim(runtime, tenant, job_id, CLAIM_SECONDS)
    if claimed is outbox.Claim.DONE:
        log.info("listener job %s was already done; nothing to do", job_id)
        return "already done"
    if claimed is outbox.Claim.BUSY:
        log.info("listener job %s is claimed by another worker; nothing to do", job_id)
        return "claimed by another run"
    try:
        result = listener.handle(runtime, Occurrence(**occurrence))
    except BaseException:
        _release_quietly(runtime, tenant, job_id)
        raise
    if claimed is outbox.Claim.CLAIMED:
        outbox.mark_done(runtime, tenant, job_id, result)
    log.info("listener job %s completed", job_id)
    return result


def _release_quietly(runtime: Runtime, tenant: str, job_id: str) -> None:
    """Give the entry back after a failed run; if even that fails, its lease lapses on its own."""
    try:
        outbox.release(runtime, tenant, job_id)
    except Exception:  # noqa: BLE001 - the listener's own error is the one to raise
        log.warning("listener job %s failed and its outbox entry could not be released", job_id)


def _as_json(occurrence: Occurrence) -> dict[str, Any]:
    return {"topic": occurrence.topic, "tenant": occurrence.tenant, "source": occurrence.source,
            "kind": occurrence.kind, "key": occurrence.key, "data": occurrence.data, "extra": occurrence.extra}


#: Modules whose import registers the core's own listeners: a worker that has not imported them
#: yet (it only imported this module, to run a queued listener) loads them by name.
CORE_LISTENER_MODULES = ("core.helpdesk.webhook_events", "core.autonomy.shadow")


#: The entry point group integrations register in (:mod:`core.helpdesk.contract`, a layer above
#: this one, names it too): loading an integration's object imports its package, whose import
#: registers its listeners (Slack's and Linear's incident alerts).
INTEGRATION_GROUP = "deskloop.integrations"

_loaded = False


def load_listeners(again: bool = False) -> None:
    """Import every module that registers listeners, once per process (``again``: retry, for a
    worker asked to run a listener it has not heard of)."""
    global _loaded
    if _loaded and not again:
        return
    from importlib.metadata import entry_points

    for module in CORE_LISTENER_MODULES:
        import_module(module)
    for point in entry_points(group=INTEGRATION_GROUP):
        try:
            point.load()
        except Exception:  # one broken integration must not silence the others' listeners
            log.exception("integration %s could not be loaded; its listeners are not registered", point.name)
    _loaded = True


def _import_core_listeners() -> None:
    """For a worker asked to run a listener it has not heard of: the core's and the integrations'."""
    load_listeners(again=True)
