"""What the spike-alerts page costs to draw: each API call it makes, on a tenant with twelve weeks
of simulated history (:func:`core.demo.incidents.simulate`: 16 categories from 14 tickets an hour
at peak down to one a day, the office rhythm, planted incidents and deploys in the last week),
counted by one scan, served by the app in-process with an API token.

Printed: the tickets and volume rows stored, the first scan, and the median and worst of
``--repeat`` calls of each request: the busiest category's volumes over a week and over four weeks
(the most a chart asks for: each hour refits the rhythm the scan used for it), the category
picker, the deploys, the incidents and the emerging groups.

    .venv/bin/python bench/insights_page.py [--backend sqlite|postgresql] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.support import postgres_database  # noqa: E402
from core.app import create_app  # noqa: E402
from core.config import Settings  # noqa: E402
from core.demo.incidents import simulate  # noqa: E402
from core.insights.deploys import mark  # noqa: E402
from core.insights.run import scan_tenant  # noqa: E402
from core.store.tables import VolumeRow  # noqa: E402
from core.store.tickets import upsert_tickets  # noqa: E402
from core.types import Ticket  # noqa: E402
from tests.access_support import token_for  # noqa: E402

WEEKS = 12
BATCH = 2000


def _store(app, now: datetime) -> int:
    """The simulated history, ending at ``now``'s hour, as tickets of one intent per category."""
    runtime = app.extensions["deskloop"]
    history = simulate(seed=1, weeks=WEEKS, incidents=3)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=history.hours)
    tenant_id = runtime.db.ensure_tenant("acme", "zendesk", "acme.zendesk.com")
    tickets = [Ticket.model_validate({"external_id": f"{c}-{i}", "subject": f"Category {c} ticket {i}",
                                      "messages": [{"author_role": "customer", "body": "help"}],
                                      "intent": f"category_{c}", "status": "open",
                                      "created_at": start + timedelta(minutes=int(m))})
               for c, minutes in enumerate(history.arrivals) for i, m in enumerate(minutes)
               if start + timedelta(minutes=int(m)) <= now]
    for first in range(0, len(tickets), BATCH):
        with runtime.db.transaction(tenant_id) as session:
            upsert_tickets(session, tenant_id, tickets[first:first + BATCH])
    for minute in history.deploys:
        deployed_at = start + timedelta(minutes=minute)
        if deployed_at <= now:
            mark(runtime, "acme", {"service": "api", "version": f"1.{minute}", "deployed_at": deployed_at})
    return len(tickets)


def _timed(client, path: str, repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.get_json())
    return statistics.median(took), max(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deskloop-bench-")))
        url = (stack.enter_context(postgres_database("deskloop_bench_insights")) if args.backend == "postgresql"
               else f"sqlite:///{home / 'deskloop.db'}")
        app = create_app(replace(Settings(home=home, database_url=url), encoder="none"))
        stack.callback(app.extensions["deskloop"].close)
        now = datetime.now(UTC)
        started = time.perf_counter()
        stored = _store(app, now)
        stored_in = time.perf_counter() - started
        started = time.perf_counter()
        scan_tenant(app.extensions["deskloop"], "acme", now=now)
        scanned_in = time.perf_counter() - started
        db = app.extensions["deskloop"].db
        with db.tenant_session(db.tenant_id("acme")) as session:
            rows = session.scalar(select(func.count(VolumeRow.id)))
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(app, ('read',), 'acme')}"
        base = "/api/v1/tenants/acme"
        print(f"{args.backend}: {stored} tickets over {WEEKS} weeks stored in {stored_in:.1f} s; "
              f"{rows} volume rows; first scan {scanned_in:.1f} s")
        for label, path in (("volumes, busiest category, 168 h", "/volumes?kind=intent&category=category_0&hours=168"),
                            ("volumes, busiest category, 672 h", "/volumes?kind=intent&category=category_0&hours=672"),
                            ("volumes, quietest category, 672 h",
                             "/volumes?kind=intent&category=category_15&hours=672"),
                            ("categories, 168 h", "/insights/categories?hours=168"),
                            ("deploys, 672 h", "/deploys?hours=672"),
                            ("incidents", "/incidents?limit=200"),
                            ("emerging groups, 168 h", "/insights/emerging?hours=168")):
            median, worst = _timed(client, base + path, args.repeat)
            print(f"  {label:<36} median {median:7.1f} ms   worst {worst:7.1f} ms")


if __name__ == "__main__":
    main()
