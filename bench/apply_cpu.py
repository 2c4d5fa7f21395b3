"""CPU an applied webhook event costs the worker and its PostgreSQL backend.

The apply path's counterpart of ``bench/ack_cpu.py``: CPU per event moves far less with whatever
else runs on this shared machine than events per second do, so this is the figure to compare
before and after a change to applying. Starts the Procfile's ``web`` line on a fresh PostgreSQL
database and Redis database, sends ``--deliveries`` signed deliveries (``bench/webhooks.py``'s
traffic) with no worker running, so every event waits, stops the web, then runs the Procfile's
``worker`` line with ``--burst`` until the queue is empty, and divides the CPU the worker and the
database's backends used (``/proc``: user + system) by the events it applied. Every event must be
applied exactly once.

    .venv/bin/python bench/apply_cpu.py [--deliveries 3000] [--redis-url redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import retrying_sender  # noqa: E402 (after the sys.path line)
from bench.ack_cpu import backend_pids, children, cpu_seconds, webhook_tenants  # noqa: E402
from bench.support import free_port, procfile_process, wait_until_serving  # noqa: E402
from bench.webhooks import _signed, build_traffic, expected_counts  # noqa: E402


def _counts(runtime) -> tuple[int, int]:
    """(events stored, events applied) over every tenant."""
    from sqlalchemy import func, select

    from core.store.tables import HelpdeskEventRow

    with runtime.db.admin_session() as session:
        stored, applied = session.execute(select(func.count(HelpdeskEventRow.id),
                                                 func.count(HelpdeskEventRow.processed_at))
                                          .execution_options(all_tenants=True)).one()
    return stored, applied


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--redis-url", default=os.environ.get("DESKLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    name = f"deskloop_apply_cpu_{os.getpid()}"
    with webhook_tenants(name, args.redis_url) as (env, database_url):
        from core.runtime import Runtime

        runtime = Runtime()
        traffic, _ = build_traffic(args.deliveries)
        distinct_events = expected_counts(traffic)[0]
        port = free_port()
        web = procfile_process("web", env, port)
        try:
            wait_until_serving(port, web)
            sent = retrying_sender.send(f"http://127.0.0.1:{port}", [
                (f"/webhooks/{d.helpdesk}/bench-{d.helpdesk}", d.body, _signed(d.helpdesk, d.body)) for d in traffic],
                100)
        finally:
            web.terminate()
            web.wait(15)
        refused = sum(1 for o in sent.outcomes if o.status != 200)
        applied_before = _counts(runtime)[1]
        backends_before = set(backend_pids(database_url, name))
        started = time.perf_counter()
        worker = procfile_process("worker", env, port, "--burst")
        # Counted from the first applied event on: the worker's start (imports, connections) is
        # what a long-running worker paid once. A backend's CPU is read while it lives.
        backends: dict[int, float] = {}  # the worker's backends, by pid: their CPU at the latest look
        first: tuple[float, int, float] | None = None  # (worker CPU, applied, backends' CPU) once applying began
        last = first
        while worker.poll() is None:
            worker_cpu = sum(cpu_seconds(p) for p in (worker.pid, *children(worker.pid)))
            for pid in set(backend_pids(database_url, name)) - backends_before:
                backends.setdefault(pid, 0.0)
            for pid in backends:  # CPU only grows; a backend that is gone reads 0 and keeps its last
                backends[pid] = max(backends[pid], cpu_seconds(pid))
            applied = _counts(runtime)[1]
            if applied > applied_before:
                last = (worker_cpu, applied, sum(backends.values()))
                first = first or last
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        stored_after, applied = _counts(runtime)
        runtime.close()
    print(f"{args.deliveries:,} deliveries, {refused} not answered 200; {stored_after:,} events stored of "
          f"{distinct_events:,} distinct, {applied:,} applied by the worker in {seconds:.1f} s")
    if first is not None and last is not None and last[1] > first[1]:
        events = last[1] - first[1]
        print(f"worker: {(last[0] - first[0]) / events * 1000:.2f} ms CPU per applied event "
              f"({events:,} events, after the first were applied)")
        print(f"its PostgreSQL backends: {(last[2] - first[2]) / events * 1000:.2f} ms CPU per applied event")
    return 0 if refused == 0 and stored_after == distinct_events == applied else 1


if __name__ == "__main__":
    sys.exit(main())
