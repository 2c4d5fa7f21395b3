"""What an agent waits for in the side panel: ``/apps/api`` over HTTP, as the panels call it.

Builds a 10,000-ticket tenant (``deskloop simulate`` wording, stored as Zendesk tickets), trains
it, connects it (no helpdesk call) and issues an app token; then serves the app under gunicorn as
the Procfile does (2 workers x 4 threads, the embedded SQLite database) and, one request at a time
after a warm-up, times the panel's two calls from the client's side:

- ``POST /apps/api/tickets/<id>/suggestion``: find the stored ticket, suggest (intent, tags,
  entities, draft, similar tickets; sentence encoding included), store the suggestion, link the
  similar tickets;
- ``POST /apps/api/suggestions/<id>/sent``: the agent's edited reply, compared with the draft and
  recorded as a signal.

    .venv/bin/python bench/panel_latency.py [--tickets 10000] [--requests 500] [--home DIR]

``--home DIR`` keeps the built tenant and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import free_port, serve  # noqa: E402

SECRET_KEY = "bench-only-key-that-encrypts-tenant-credentials"
TENANT = "panel"
WARM_UP = 30


def build(home: Path, tickets: int) -> str:
    """The trained, connected tenant in ``home``; returns its app token."""
    from datetime import date

    from core.config import Settings
    from core.demo.simulate import write_history
    from core.helpdesk.connections import add_tenant
    from core.ingest import import_file
    from core.learning.training import train_tenant
    from core.panel.access import issue_app_token
    from core.runtime import Runtime

    runtime = Runtime(Settings.from_env({"DESKLOOP_HOME": str(home), "DESKLOOP_SECRET_KEY": SECRET_KEY}))
    history = home / "history.jsonl"
    write_history(history, count=tickets, seed=11, end=date(2026, 11, 20))
    as_zendesk = home / "zendesk.jsonl"
    with history.open() as src, as_zendesk.open("w") as out:
        for line in src:
            out.write(json.dumps({**json.loads(line), "source": "zendesk"}) + "\n")
    started = time.perf_counter()
    import_file(runtime.db, as_zendesk, TENANT, show_progress=False)
    train_tenant(runtime, TENANT)
    print(f"built and trained {tickets:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    add_tenant(runtime, TENANT, "zendesk", "bench.zendesk.com",
               {"email": "ops@bench.example", "api_token": "unused", "webhook_secret": "unused"},
               {"write_back_tags": False})
    token = issue_app_token(runtime, TENANT)
    runtime.close()
    (home / "app-token").write_text(token)
    return token


def ticket_ids(home: Path) -> list[str]:
    with (home / "zendesk.jsonl").open() as lines:
        return [json.loads(line)["external_id"] for line in lines]


def percentiles(name: str, samples: list[float]) -> None:
    ms = np.array(samples) * 1000
    print(f"{name:<11} n={len(ms):>4}  p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
          f"p99 {np.percentile(ms, 99):6.1f} ms  max {ms.max():6.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--home", type=Path, help="keep (or reuse) the built tenant in this directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskloop-panel-") as scratch:
        home = args.home or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        token = (home / "app-token").read_text() if (home / "app-token").exists() else build(home, args.tickets)
        env = {**os.environ, "DESKLOOP_HOME": str(home), "DESKLOOP_SECRET_KEY": SECRET_KEY}
        env.pop("DESKLOOP_DATABASE_URL", None)
        env.pop("DESKLOOP_REDIS_URL", None)
        port = free_port()
        server = serve(env, "gunicorn", port, workers=2, threads=4)
        try:
            base = f"http://127.0.0.1:{port}/apps/api"
            headers = {"Authorization": f"Bearer {token}"}
            chosen = random.Random(5).sample(ticket_ids(home), WARM_UP + args.requests)
            http = requests.Session()
            suggest_times, sent_times, abstained = [], [], 0
            for n, external_id in enumerate(chosen):
                started = time.perf_counter()
                answer = http.post(f"{base}/tickets/{external_id}/suggestion", json={}, headers=headers, timeout=30)
                took = time.perf_counter() - started
                answer.raise_for_status()
                shown = answer.json()
                if n >= WARM_UP:
                    suggest_times.append(took)
                if not shown["draft"]:
                    abstained += n >= WARM_UP
                    continue
                started = time.perf_counter()
                sent = http.post(f"{base}/suggestions/{shown['suggestion_id']}/sent",
                                 json={"text": shown["draft"] + " Let me know if anything else comes up."},
                                 headers=headers, timeout=30)
                took = time.perf_counter() - started
                sent.raise_for_status()
                if n >= WARM_UP:
                    sent_times.append(took)
            print(f"panel calls over HTTP, gunicorn 2x4 threads, SQLite, one at a time after {WARM_UP} warm-up "
                  f"({abstained} of {args.requests} abstained, no draft to send):")
            percentiles("suggestion", suggest_times)
            percentiles("sent", sent_times)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
