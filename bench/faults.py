"""Faults under webhook load: what is lost, what is applied twice, how long recovery takes.

Each scenario runs the Procfile's lines as a platform runs them (web: gunicorn with its config;
two RQ workers; the scheduler) on a PostgreSQL cluster and a Redis server of its own (``bench/services.py``),
so they can be killed and restarted without touching anything else on the machine. It sends
10,000 signed deliveries at 500 a second (Zendesk, Freshdesk and Intercom payloads built from the
integrations' fixtures, as ``bench/webhooks.py`` does: per ticket a creation, a customer reply, an
agent reply and the ticket solved; about 5% sent twice; some updates out of order), retrying a
failed delivery the way helpdesks do (``bench/retrying_sender.py``). The Zendesk tenant has a model
and write-back on, against a local server answering like Zendesk's API, so every new customer
message is answered with tags and a private note written back.

Scenarios, the fault striking 6 s into the load:

- ``baseline``: no fault (its write-backs are the reference the others are compared with);
- ``worker-kill``: every RQ worker SIGKILLed mid-batch, restarted 1 s later as a supervisor would;
- ``redis-restart``: Redis SIGKILLed (no persistence: queued jobs and flags are gone), back 2 s later;
- ``postgres-restart``: PostgreSQL stopped in ``immediate`` mode (a crash: recovery replays the
  WAL), back 3 s later;
- ``helpdesk-errors``: the helpdesk API answers 503 for 30 s, then 429 with Retry-After for 30 s,
  during write-back;
- ``backfill-errors``: a 3,000-conversation Intercom backfill while its API answers 503 for 30 s,
  then 429 for 30 s; the command is run again, as an operator or a cron would, until it succeeds.

Figures per scenario: distinct events sent, stored, applied, lost (target 0), applied twice
(target 0, counted as messages and write-backs beyond the baseline's), seconds from the fault's end
until every event is applied and until every job (write-backs and their retries) is done, and the
acknowledgement p50/p99 of first attempts (latency counted from each delivery's scheduled time).

    .venv/bin/python bench/faults.py [--scenarios baseline,worker-kill,...] [--deliveries 10000] [--rate 500]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import retrying_sender  # noqa: E402 (after the sys.path line)
from bench.services import Postgres, RedisServer  # noqa: E402
from bench.support import free_port, procfile_process, wait_until_serving  # noqa: E402
from bench.webhooks import DOMAINS, SECRETS, _signed, build_traffic, expected_counts  # noqa: E402

SCENARIOS = ("baseline", "worker-kill", "redis-restart", "postgres-restart", "helpdesk-errors", "backfill-errors")
FAULT_AT = 6.0  # seconds into the load
STALL_SECONDS = 180  # give up waiting when nothing moved for this long


class FaultyApi:
    """WSGI middleware in front of a fake helpdesk API: answers 503, then 429 with Retry-After,
    during a window; otherwise passes the request on."""

    def __init__(self, app, unavailable_seconds: float = 30, limited_seconds: float = 30, retry_after: int = 10):
        self.app, self.start = app, None
        self.unavailable, self.limited, self.retry_after = unavailable_seconds, limited_seconds, retry_after
        self.refused = Counter()
        self.lock = threading.Lock()

    def strike(self) -> None:
        self.start = time.monotonic()

    @property
    def ends_at(self) -> float | None:
        return None if self.start is None else self.start + self.unavailable + self.limited

    def __call__(self, environ, start_response):
        if self.start is not None:
            elapsed = time.monotonic() - self.start
            if elapsed < self.unavailable:
                with self.lock:
                    self.refused[503] += 1
                start_response("503 Service Unavailable", [("Content-Type", "application/json")])
                return [b'{"error": "unavailable"}']
            if elapsed < self.unavailable + self.limited:
                with self.lock:
                    self.refused[429] += 1
                start_response("429 Too Many Requests", [("Content-Type", "application/json"),
                                                         ("Retry-After", str(self.retry_after))])
                return [b'{"error": "APIRateLimitExceeded"}']
        return self.app(environ, start_response)


def _serve_wsgi(app):
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:
            """Thousands of write-backs: the figures are what matters, not a line per request."""

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@dataclass
class Stack:
    """The Procfile's processes for one scenario."""

    env: dict[str, str]
    rq_workers: int = 2
    web: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    scheduler: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> None:
        self.port = free_port()
        self.web = self._procfile("web", "web")
        wait_until_serving(self.port, self.web)
        self.start_workers()
        self.scheduler = self._procfile("scheduler", "scheduler", "--sweep-every", "5", "--stuck-after", "10")

    def _procfile(self, kind: str, log_name: str, *extra: str) -> subprocess.Popen:
        return procfile_process(kind, self.env, self.port, *extra, log_name=log_name)

    def start_workers(self) -> None:
        self.workers = [self._procfile("worker", "worker") for _ in range(self.rq_workers)]

    def kill_workers(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        self.workers = []

    def stop(self) -> None:
        for process in [self.web, self.scheduler, *self.workers]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [self.web, self.scheduler, *self.workers]:
            if process is not None:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


#: Tickets of the simulated demo history the Zendesk tenant learns from.
HISTORY = 800


def _history():
    from datetime import date

    from core.demo.simulate import HistorySimulator
    from core.types import Ticket

    return [Ticket.model_validate(t) for t in HistorySimulator(seed=7, end=date(2026, 11, 20)).tickets(HISTORY)]


def _customer_texts() -> list[tuple[str, str]]:
    """Subjects and first messages from the history: questions the model knows (new ones would
    rightly be called unfamiliar, and nothing would be written back to measure)."""
    return [(t.subject or "", t.messages[0].body) for t in _history() if t.messages]


def _with_known_questions(traffic, texts: list[tuple[str, str]]) -> None:
    """Give Zendesk's customer messages questions the tenant's model answers (the fixtures' own
    text is one it would rightly call unfamiliar, and write nothing back)."""
    rnd = random.Random(5)
    chosen: dict[str, tuple[str, str]] = {}
    for delivery in traffic:
        if delivery.helpdesk != "zendesk" or delivery.step not in {"created", "customer"}:
            continue
        payload = json.loads(delivery.body)
        subject, text = chosen.setdefault(f"{delivery.ticket}-{delivery.step}", rnd.choice(texts))
        payload["detail"]["description"] = text
        if delivery.step == "created":
            payload["detail"]["subject"] = subject
        comment = payload.get("event", {}).get("comment")
        if isinstance(comment, dict):
            comment["body"] = text
        delivery.body = json.dumps(payload).encode()


def _prepare(env: dict[str, str], api_url: str) -> None:
    """Tenants for the three helpdesks; the Zendesk one with a model and write-back on."""
    from core.helpdesk.connections import add_tenant
    from core.learning.training import train_tenant
    from core.runtime import Runtime
    from core.store.tickets import upsert_tickets

    os.environ.update(env)
    runtime = Runtime()
    for helpdesk, secrets in SECRETS.items():
        settings = {"write_back_tags": False}
        if helpdesk == "zendesk":
            settings = {"write_back_tags": True, "private_note": True, "api_url": api_url}
        add_tenant(runtime, f"bench-{helpdesk}", helpdesk, DOMAINS[helpdesk], secrets, settings)
    tenant_id = runtime.db.tenant_id("bench-zendesk")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, _history())
    train_tenant(runtime, "bench-zendesk")
    runtime.close()


def _counts(database_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "select (select count(*) from helpdesk_events),"
                " (select count(*) from helpdesk_events where processed_at is not null),"
                " (select count(*) from messages m join tickets t on t.id = m.ticket_id where t.source <> 'import')"
            )).one()
        return {"stored": row[0], "applied": row[1], "messages": row[2]}
    finally:
        engine.dispose()


def _wait_until_applied(database_url: str, expected: int) -> float | None:
    """perf_counter time when every expected event is stored and applied, or None on a stall."""
    seen, moved = None, time.monotonic()
    while time.monotonic() - moved < STALL_SECONDS:
        try:
            counts = _counts(database_url)
        except Exception:  # the database is restarting
            time.sleep(1)
            continue
        if counts["stored"] >= expected and counts["applied"] == counts["stored"]:
            return time.perf_counter()
        if (counts["stored"], counts["applied"]) != seen:
            seen, moved = (counts["stored"], counts["applied"]), time.monotonic()
        time.sleep(0.5)
    return None


def _send(url: str, deliveries: list[tuple[str, bytes, dict[str, str]]], rate: float) -> retrying_sender.Sent:
    """:func:`retrying_sender.send` in a process of its own: this one also answers the write-backs
    (the local helpdesk API's threads), and sharing an interpreter lock with them would delay the
    sender's loop and charge the server with the delay. Both processes read the same monotonic
    clock, so the outcome's times compare with this process's."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(retrying_sender.send, url, deliveries, rate).result()


def _write_back_jobs(worker_log: Path, traffic, notes: dict[int, int]) -> dict[str, int]:
    """Write-backs lost and done twice, counted per job rather than against the baseline's notes
    (whether a suggestion abstains depends on what the ticket held when its job ran, so note counts
    differ between runs without anything lost). Every new customer message of the Zendesk tenant
    must have its write-back job completed (the workers' log names each job whose listener ran to
    the end: ``listener job ... completed``; a run that found its outbox entry already done, or
    claimed by another run, did not write and is not counted); a job completed more than once, or a
    ticket with more notes than its customer messages, is twice. Also counted: the jobs the outbox
    queued again (lost by the queue, or never completed) and the runs its guard stopped."""
    from core.dispatch.queue import rq_job_id
    from core.helpdesk.contract import integration

    expected: dict[str, str] = {}  # job id -> ticket
    for delivery in {(d.helpdesk, d.body): d for d in traffic if d.helpdesk == "zendesk"}.values():
        for event in integration("zendesk").parse(delivery.body):
            if event.kind in ("ticket_created", "customer_replied"):
                expected[rq_job_id(f"zendesk:bench-zendesk:write-back:{event.event_id}")] = event.ticket_external_id
    completed: Counter[str] = Counter()
    requeued = guarded = 0
    for line in worker_log.read_text(errors="replace").splitlines():
        if '"listener job ' not in line and "queued again (" not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = record.get("message", "")
        if message.startswith("listener job ") and message.endswith(" completed"):
            completed[record.get("job_id", "")] += 1
        elif message.startswith("listener job ") and ("already done" in message or "another worker" in message):
            guarded += 1
        elif "queued again (" in message:
            requeued += int(message.split("queued again (", 1)[1].split(")", 1)[0])
    per_ticket = Counter(expected.values())
    extra_notes = sum(max(0, n - per_ticket.get(str(ticket), 0)) for ticket, n in notes.items())
    return {"expected": len(expected), "lost": sum(1 for job in expected if not completed[job]),
            "twice": sum(n - 1 for job, n in completed.items() if job in expected and n > 1) + extra_notes,
            "requeued": requeued, "guarded": guarded}


def _notes_by_ticket(fake_state) -> dict[int, int]:
    with fake_state.lock:
        return {ticket: len(notes) for ticket, notes in fake_state.notes.items()}


def run_webhook_scenario(name: str, deliveries: int, rate: float, reference: dict | None,
                         warm_up: int = 0, rq_workers: int = 2) -> dict:
    from tests.integrations.zendesk import fake_zendesk

    postgres, redis = Postgres(), RedisServer()
    zendesk_api = fake_zendesk.make_app(tickets=10**7)
    faulty = FaultyApi(zendesk_api)
    api_server, api_url = _serve_wsgi(faulty)
    home = tempfile.mkdtemp(prefix=f"deskloop-faults-{name}-")
    print(f"   logs in {home}", flush=True)
    env = {**os.environ, "DESKLOOP_HOME": home, "DESKLOOP_DATABASE_URL": postgres.url,
           "DESKLOOP_REDIS_URL": redis.url, "DESKLOOP_SECRET_KEY": "bench-only-key-for-helpdesk-credentials"}
    stack = Stack(env, rq_workers)
    try:
        _prepare(env, api_url)
        traffic, _ = build_traffic(deliveries + warm_up)
        _with_known_questions(traffic, _customer_texts())
        traffic_all = list(traffic)
        for delivery in traffic:
            delivery.headers = _signed(delivery.helpdesk, delivery.body)
        distinct_events, distinct_messages = expected_counts(traffic)
        stack.start()
        if warm_up:  # a running deployment is warm: connections open, models loaded, code imported
            warm = [(f"/webhooks/{d.helpdesk}/bench-{d.helpdesk}", d.body, d.headers) for d in traffic[:warm_up]]
            _send(f"http://127.0.0.1:{stack.port}", warm, rate / 2)
            warm_events, _ = expected_counts(traffic[:warm_up])
            _wait_until_applied(postgres.url, warm_events)
            _wait_for_jobs(redis.url, postgres.url)
            traffic = traffic[warm_up:]
        fault_end: list[float] = []

        def strike() -> None:
            time.sleep(0.5 + FAULT_AT)
            if name == "worker-kill":
                stack.kill_workers()
                time.sleep(1)
                stack.start_workers()
            elif name == "redis-restart":
                redis.kill()
                time.sleep(2)
                redis.start()
            elif name == "postgres-restart":
                postgres.stop("immediate")
                time.sleep(3)
                postgres.start()
            elif name == "helpdesk-errors":
                # Strike once write-backs are flowing (the first ones wait for the model to load).
                state, waited = fake_zendesk.fake(zendesk_api), time.monotonic()
                while sum(_notes_by_ticket(state).values()) < 20 and time.monotonic() - waited < 120:
                    time.sleep(0.2)
                faulty.strike()
                time.sleep(faulty.unavailable + faulty.limited)
            fault_end.append(time.perf_counter())

        striker = threading.Thread(target=strike, daemon=True)
        striker.start()
        sent = _send(
            f"http://127.0.0.1:{stack.port}",
            [(f"/webhooks/{d.helpdesk}/bench-{d.helpdesk}", d.body, d.headers) for d in traffic], rate)
        striker.join()
        all_applied = _wait_until_applied(postgres.url, distinct_events)
        # Write-backs still running, waiting for their retry, or not yet completed in the outbox.
        jobs_done = _wait_for_jobs(redis.url, postgres.url)
        counts = _counts(postgres.url)
    finally:
        stack.stop()
        api_server.shutdown()
        redis.close()
        postgres.close()
    notes = _notes_by_ticket(fake_zendesk.fake(zendesk_api))
    writes = _write_back_jobs(Path(home) / "worker.log", traffic_all, notes)
    result = _summary(name, sent, counts, distinct_events, distinct_messages, all_applied,
                      fault_end[0] if fault_end else None, notes, reference, faulty, rate, writes)
    ended = fault_end[0] if fault_end else sent.finished
    result["jobs_done_s"] = None if jobs_done is None else round(max(0.0, jobs_done - ended), 1)
    return result


def _wait_for_jobs(redis_url: str, database_url: str, quiet_seconds: float = 5, longest: float = 900) -> float | None:
    """Until no job is queued, running or waiting for a retry, and no listener job is left
    uncompleted in the outbox (``listener_jobs``: a job Redis lost is queued again from there), for
    ``quiet_seconds`` (a failed write-back waits up to minutes for its next try); returns the
    perf_counter time the last job ended, or None when jobs were still pending after ``longest`` seconds."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry
    from rq.serializers import JSONSerializer
    from sqlalchemy import create_engine, text

    connection = Redis.from_url(redis_url)
    queue = Queue("deskloop", connection=connection, serializer=JSONSerializer)

    def running() -> int:
        """Started jobs still to finish: those whose worker beats, and listener jobs (write-backs)
        whose worker was SIGKILLed, which RQ retries once their timeout has passed (the workers'
        registry maintenance, ``core.dispatch.queue.MAINTENANCE_SECONDS``). A killed drain is left
        out: nothing retries it, and the scheduler's sweep drains its events again."""
        ids = StartedJobRegistry(queue=queue).get_job_ids()
        jobs = [job for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer) if job]
        now = time.time()
        return sum(1 for job in jobs if job.func_name.endswith("run_listener") or (
            job.last_heartbeat is not None and now - job.last_heartbeat.timestamp() < 60))

    engine = create_engine(database_url)

    def unfinished() -> int:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from listener_jobs"
                                     " where done_at is null and failed_at is null")).scalar_one()

    try:
        idle_since, began = None, time.monotonic()
        while time.monotonic() - began < longest:
            try:
                busy = len(queue) + running() + len(ScheduledJobRegistry(queue=queue)) + unfinished()
            except Exception:  # Redis or PostgreSQL restarting
                busy = 1
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = time.perf_counter()
            elif time.perf_counter() - idle_since >= quiet_seconds:
                return idle_since
            time.sleep(1)
        return None
    finally:
        engine.dispose()


def _summary(name, sent, counts, distinct_events, distinct_messages, all_applied, fault_end, notes,
             reference, faulty, rate, writes) -> dict:
    firsts = [o.first_latency_ms for o in sent.outcomes if o.first_latency_ms is not None]
    never = sum(1 for o in sent.outcomes if o.acknowledged_at is None)
    retried = sum(1 for o in sent.outcomes if o.attempts > 1)
    lost_events = max(0, distinct_events - counts["applied"])
    # Messages are compared with the baseline's (the same traffic, applied without a fault): some
    # deliveries carry more than one message, so the baseline is the count to expect.
    expected_messages = reference["messages"] if reference is not None else counts["messages"]
    twice_messages = max(0, counts["messages"] - expected_messages)
    missing_messages = max(0, expected_messages - counts["messages"])
    lost_writes, twice_writes = writes["lost"], writes["twice"]
    recovery = None
    if all_applied is not None:
        recovery = all_applied - (fault_end if fault_end is not None else sent.finished)
    return {
        "scenario": name, "deliveries": len(sent.outcomes), "retried": retried, "never_acknowledged": never,
        "events_sent": distinct_events, "stored": counts["stored"], "applied": counts["applied"],
        "lost": lost_events, "messages": counts["messages"], "messages_twice": twice_messages,
        "messages_missing": missing_messages,
        "write_backs": sum(notes.values()), "write_back_jobs": writes["expected"],
        "write_backs_lost": lost_writes, "write_backs_twice": twice_writes,
        "jobs_requeued": writes["requeued"], "runs_guarded": writes["guarded"],
        "recovery_s": None if recovery is None else round(recovery, 1),
        "p50_ms": round(float(np.percentile(firsts, 50)), 1) if firsts else None,
        "p99_ms": round(float(np.percentile(firsts, 99)), 1) if firsts else None,
        "sending_s": round(sent.finished - sent.started, 1),
        "p99_ms_by_second": _p99_by_second(sent, rate),
        "api_refused": dict(faulty.refused), "notes": notes,
    }


def _p99_by_second(sent, rate: float) -> list[float | None]:
    """First attempts' acknowledgement p99 for each second of the schedule: shows whether a high
    p99 is a moment (a fault, a warm-up) or the whole run (the server short of capacity)."""
    seconds: dict[int, list[float]] = {}
    for index, outcome in enumerate(sent.outcomes):
        if outcome.first_latency_ms is not None:
            seconds.setdefault(int(index / rate), []).append(outcome.first_latency_ms)
    return [round(float(np.percentile(seconds[s], 99)), 1) if s in seconds else None
            for s in range(max(seconds, default=-1) + 1)]


def run_backfill_scenario(conversations: int = 3000) -> dict:
    from sqlalchemy import create_engine, text

    from core.helpdesk.connections import add_tenant
    from core.runtime import Runtime
    from tests.integrations.intercom import fake_intercom

    postgres = Postgres()
    api = fake_intercom.make_app(conversations=conversations, per_page_max=150)
    faulty = FaultyApi(api)
    server, url = _serve_wsgi(faulty)
    home = tempfile.mkdtemp(prefix="deskloop-faults-")
    env = {**os.environ, "DESKLOOP_HOME": home, "DESKLOOP_DATABASE_URL": postgres.url,
           "DESKLOOP_SECRET_KEY": "bench-only-key-for-helpdesk-credentials"}
    env.pop("DESKLOOP_REDIS_URL", None)
    try:
        os.environ.update(env)
        os.environ.pop("DESKLOOP_REDIS_URL", None)
        runtime = Runtime()
        add_tenant(runtime, "bench-backfill", "intercom", "api.intercom.io",
                   {"access_token": fake_intercom.ACCESS_TOKEN, "client_secret": "cs-bench"},
                   {"api_url": url, "write_back_tags": False})
        runtime.close()
        started = time.perf_counter()
        threading.Timer(1.0, faulty.strike).start()
        runs = []
        for _ in range(20):
            done = subprocess.run([sys.executable, "-m", "core.cli", "backfill", "--tenant", "bench-backfill",
                                   "--no-train"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            runs.append(done.returncode)
            if done.returncode == 0:
                break
            time.sleep(10)  # the operator's (or the cron's) next try
        finished = time.perf_counter()
        engine = create_engine(postgres.url)
        with engine.connect() as conn:
            tickets, distinct = conn.execute(text(
                "select count(*), count(distinct external_id) from tickets")).one()
        engine.dispose()
    finally:
        server.shutdown()
        postgres.close()
    fault_end = started + 1.0 + faulty.unavailable + faulty.limited
    return {"scenario": "backfill-errors", "conversations": conversations, "stored": tickets, "distinct": distinct,
            "lost": conversations - distinct, "twice": tickets - distinct, "runs": len(runs),
            "exit_codes": runs, "total_s": round(finished - started, 1),
            "recovery_s": round(finished - fault_end, 1), "api_refused": dict(faulty.refused)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--rq-workers", type=int, default=2, help="RQ worker processes (the Procfile's worker line)")
    parser.add_argument("--warm-up", type=int, default=500,
                        help="deliveries sent first at half the rate, applied before the timed load (not timed)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    results, reference = [], None
    for name in chosen:
        print(f"== {name}", flush=True)
        if name == "backfill-errors":
            result = run_backfill_scenario()
        else:
            result = run_webhook_scenario(name, args.deliveries, args.rate, reference, args.warm_up,
                                          args.rq_workers)
            if name == "baseline":
                reference = {"notes": result["notes"], "messages": result["messages"]}
        shown = {k: v for k, v in result.items() if k != "notes"}
        print(json.dumps(shown), flush=True)
        results.append(shown)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    _table(results)
    bad = [r["scenario"] for r in results if r.get("lost") or r.get("twice") or r.get("messages_twice")
           or r.get("write_backs_lost") or r.get("write_backs_twice")]
    return 1 if bad else 0


def _table(results: list[dict]) -> None:
    print("\n| scenario | events sent | stored | applied | lost | applied twice | write-backs lost / twice |"
          " all applied | jobs done | ack p50 / p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if r["scenario"] == "backfill-errors":
            print(f"| backfill-errors | {r['conversations']:,} conversations | {r['stored']:,} | {r['distinct']:,} | "
                  f"{r['lost']} | {r['twice']} | - | {r['recovery_s']} s after the API recovered "
                  f"({r['runs']} runs) | - | - |")
            continue
        writes = f"{r['write_backs_lost']} / {r['write_backs_twice']} of {r['write_back_jobs']:,}"
        print(f"| {r['scenario']} | {r['events_sent']:,} | {r['stored']:,} | {r['applied']:,} | {r['lost']} | "
              f"{r['messages_twice']} | {writes} | {r['recovery_s']} s | {r['jobs_done_s']} s | "
              f"{r['p50_ms']} / {r['p99_ms']} ms |")


if __name__ == "__main__":
    sys.exit(main())
