"""CPU a webhook delivery costs the web process and its PostgreSQL backend, under gunicorn as the
Procfile runs it.

Throughput benchmarks on this shared 2-core machine move with whatever else runs; CPU time spent
per delivery does not (much), so this is the figure to compare before and after a change to the
acknowledgement path. Starts the Procfile's ``web`` line (gunicorn with its config) on a fresh
PostgreSQL database and a Redis database, connects the three helpdesks' tenants, sends a warm-up,
then ``--deliveries`` signed deliveries (``bench/webhooks.py``'s traffic: creations, replies,
solves, 5% duplicates) at ``--rate`` a second, and divides the CPU the gunicorn processes and the
database's backends used (``/proc``: user + system) by the deliveries. No RQ worker runs: applying
the events is not the acknowledgement's cost. Every delivery must be answered 200.

    .venv/bin/python bench/ack_cpu.py [--deliveries 4000] [--rate 250] [--redis-url redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import retrying_sender  # noqa: E402 (after the sys.path line)
from bench.support import free_port, postgres_database, procfile_process, wait_until_serving  # noqa: E402
from bench.webhooks import DOMAINS, SECRETS, _signed, build_traffic  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def backend_pids(database_url: str, name: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            mine = conn.execute(text("select pg_backend_pid()")).scalar_one()
            return [pid for pid in conn.execute(text("select pid from pg_stat_activity where datname = :name"),
                                                {"name": name}).scalars() if pid != mine]
    finally:
        engine.dispose()


@contextmanager
def webhook_tenants(name: str, redis_url: str) -> Iterator[tuple[dict[str, str], str]]:
    """A fresh PostgreSQL database ``name`` and an emptied Redis database with the three helpdesks'
    tenants connected as ``bench/webhooks.py`` signs for them; yields the environment for the
    Procfile's lines (also set on this process) and the database URL."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as home, postgres_database(name) as database_url:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        env = {**os.environ, "DESKLOOP_HOME": home, "DESKLOOP_DATABASE_URL": database_url,
               "DESKLOOP_REDIS_URL": redis_url, "DESKLOOP_SECRET_KEY": "bench-only-key-for-helpdesk-credentials"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        os.environ.update(env)
        from core.helpdesk.connections import add_tenant
        from core.runtime import Runtime

        runtime = Runtime()
        for helpdesk, secrets in SECRETS.items():
            add_tenant(runtime, f"bench-{helpdesk}", helpdesk, DOMAINS[helpdesk], secrets, {"write_back_tags": False})
        runtime.close()
        yield env, database_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--warm-up", type=int, default=400)
    parser.add_argument("--rate", type=float, default=250)
    parser.add_argument("--redis-url", default=os.environ.get("DESKLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    name = f"deskloop_ack_cpu_{os.getpid()}"
    with webhook_tenants(name, args.redis_url) as (env, database_url):
        traffic, _ = build_traffic(args.deliveries + args.warm_up)
        deliveries = [(f"/webhooks/{d.helpdesk}/bench-{d.helpdesk}", d.body, _signed(d.helpdesk, d.body))
                      for d in traffic]
        port = free_port()
        web = procfile_process("web", env, port)
        try:
            wait_until_serving(port, web)
            url = f"http://127.0.0.1:{port}"
            retrying_sender.send(url, deliveries[:args.warm_up], args.rate / 2)
            pids = [web.pid, *children(web.pid)]
            backends = backend_pids(database_url, name)
            web_before = sum(cpu_seconds(p) for p in pids)
            db_before = sum(cpu_seconds(p) for p in backends)
            load = os.getloadavg()
            sent = retrying_sender.send(url, deliveries[args.warm_up:], args.rate)
            web_cpu = sum(cpu_seconds(p) for p in pids) - web_before
            backends_after = backend_pids(database_url, name)
            db_cpu = sum(cpu_seconds(p) for p in backends_after) - db_before
            opened = set(backends_after) - set(backends)
        finally:
            web.terminate()
            web.wait(15)
    count = args.deliveries
    firsts = [o.first_latency_ms for o in sent.outcomes if o.first_latency_ms is not None]
    refused = sum(1 for o in sent.outcomes if o.status != 200)
    print(f"{count:,} deliveries at {args.rate:g}/s (load average before: {load[0]:.2f}); "
          f"{refused} not answered 200")
    print(f"web (gunicorn, {len(pids) - 1} workers): {web_cpu / count * 1000:.2f} ms CPU per delivery")
    print(f"PostgreSQL backends ({len(backends_after)}, {len(opened)} opened during the run): "
          f"{db_cpu / count * 1000:.2f} ms CPU per delivery")
    if firsts:
        print(f"acknowledgement p50 {np.percentile(firsts, 50):.1f} ms, p99 {np.percentile(firsts, 99):.1f} ms")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
