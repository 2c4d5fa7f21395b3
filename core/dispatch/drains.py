"""Background drains in the web process, for the embedded default (no Redis, no worker).

A webhook must be answered at once: the helpdesk waits for the acknowledgement and retries (or
switches the hook off) when it is slow. Without a queue, the work a delivery calls for (applying
the tenant's pending events) runs here, on a thread of its own, after the answer.

One drain per key (a tenant of a database) at a time: a delivery arriving while that drain runs
only asks it to go round once more, so nothing stored is left behind (the drain looks again after
the delivery's events were committed). The work returns how many seconds until it wants to run
again (an event waiting for its retry), and a timer starts it then. Threads are daemons: at process
exit an unfinished drain's transaction simply never commits, its events stay pending in the
database, and the next delivery (or the scheduler's sweep) applies them.

At most :data:`MAX_THREADS` drains run at once, whatever the number of tenants: a burst of
deliveries for hundreds of tenants must not start hundreds of threads (each holds a database
connection, and SQLite applies one write at a time anyway). A drain asked for while every thread is
busy waits its turn, first asked first run, and is run by the next thread to finish.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

#: What a drain runs: it returns the seconds until it wants to run again, or None.
Work = Callable[[], float | None]

#: Drains running at once in one process.
MAX_THREADS = 4

_lock = threading.Lock()
_running: dict[Hashable, tuple[threading.Thread, str]] = {}
_waiting: dict[Hashable, tuple[str, Work, contextvars.Context]] = {}  # in the order asked (dicts keep it)
_again: set[Hashable] = set()
_timers: dict[Hashable, threading.Timer] = {}


def start(key: Hashable, name: str, work: Work) -> bool:
    """Run ``work`` on a background thread unless a drain for ``key`` runs already, in which case
    that drain runs it once more when it is done. Returns whether a thread was started. ``name``
    names the thread and the log lines (no secret, no personal data)."""
    with _lock:
        timer = _timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in _running:
            _again.add(key)
            return False
        if key in _waiting:
            return False
        if len(_running) >= MAX_THREADS:
            _waiting[key] = (name, work, contextvars.copy_context())
            return False
        # In the caller's context: the drain's log lines carry the request id of the delivery that started it.
        thread = threading.Thread(target=contextvars.copy_context().run, args=(_run, key, name, work),
                                  name=f"deskloop-drain-{name}", daemon=True)
        _running[key] = (thread, name)
        thread.start()
        return True


def _run(key: Hashable, name: str, work: Work) -> None:
    """Run ``work`` until nobody asks for it again, then the waiting drains, in turn (each in the
    context of the delivery that asked for it)."""
    following = _drain(key, name, work)
    while following is not None:
        key, name, work, context = following
        following = context.run(_drain, key, name, work)


def _drain(key: Hashable, name: str, work: Work) -> tuple[Hashable, str, Work, contextvars.Context] | None:
    """Run one drain; return the waiting drain this thread takes on next, if any (handed over under
    the same lock that ends this one, so no moment shows neither running)."""
    while True:
        again_in: float | None = None
        try:
            again_in = work()
        except Exception as exc:  # noqa: BLE001 - a thread has no caller to raise to; logged without values
            where = " < ".join(f"{frame.name} ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
                               for frame in reversed(traceback.extract_tb(exc.__traceback__)))
            log.error("background drain %s stopped by %s at %s; its events stay pending",
                      name, type(exc).__name__, where)
        with _lock:
            if key in _again:
                _again.discard(key)
                continue
            del _running[key]
            if again_in is not None:
                timer = threading.Timer(max(again_in, 0.0), start, args=(key, name, work))
                timer.daemon = True
                _timers[key] = timer
                timer.start()
            if not _waiting:
                return None
            following = next(iter(_waiting))
            following_name, following_work, context = _waiting.pop(following)
            _running[following] = (threading.current_thread(), following_name)
            return following, following_name, following_work, context


def running() -> list[str]:
    """The names of the drains running now."""
    with _lock:
        return [f"deskloop-drain-{name}" for _, name in _running.values()]


def wait_idle(timeout: float = 30.0) -> None:
    """Return once no drain runs (timers waiting for a retry do not count); ``TimeoutError`` after
    ``timeout`` seconds. What a test (or an orderly shutdown) waits on to know deliveries so far
    are applied."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = list({thread for thread, _ in _running.values()})
        if not threads:
            return
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        if time.monotonic() >= deadline and any(thread.is_alive() for thread in threads):
            raise TimeoutError(f"background drains still running after {timeout} s: {running()}")


def cancel_timers() -> None:
    """Forget every scheduled re-run (a test's teardown; a process about to close its database)."""
    with _lock:
        for timer in _timers.values():
            timer.cancel()
        _timers.clear()
