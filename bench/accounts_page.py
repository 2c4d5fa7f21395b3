"""How long the accounts-at-risk page waits: the three API calls its script makes (the ranked
accounts, one account's timeline, and the CSV behind "Download CSV"), through the real app with an
API token, on a simulated history of accounts with planted churners stored in SQLite, scored "now".
Each call scores every account afresh, so the figures grow with the tickets of the last 18 weeks.

    .venv/bin/python bench/accounts_page.py [--accounts 300] [--weeks 36] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per route (the median is printed)")
    args = parser.parse_args()

    from core.access.tokens import issue_token
    from core.app import create_app
    from core.config import Settings
    from core.demo.accounts import simulate_accounts
    from core.store.tickets import upsert_tickets

    end = (datetime.now(UTC) - timedelta(days=1)).date()
    history = simulate_accounts(seed=11, strength=0.5, accounts=args.accounts, weeks=args.weeks, end=end)
    with tempfile.TemporaryDirectory() as home:
        app = create_app(Settings(home=Path(home), database_url=f"sqlite:///{home}/deskloop.db"))
        runtime = app.extensions["deskloop"]
        tenant_id = runtime.db.ensure_tenant("bench")
        for start in range(0, len(history.tickets), 1000):
            with runtime.db.transaction(tenant_id) as session:
                upsert_tickets(session, tenant_id, history.tickets[start:start + 1000])
        token, _ = issue_token(runtime, "bench", ("read",), "bench", "bench")
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        root = "/api/v1/tenants/bench/insights/accounts"
        ranking = client.get(f"{root}?limit=200").get_json()
        top = ranking["accounts"][0]["account"]
        print(f"{len(history.tickets)} tickets of {args.accounts} accounts over {args.weeks} weeks; "
              f"{ranking['total']} accounts scored ({ranking['method']})")
        for name, path in (("ranked accounts (limit 200)", f"{root}?limit=200"),
                           ("one account's timeline", f"{root}/{quote(top, safe='')}"),
                           ("CSV (limit 200)", f"{root}.csv?limit=200")):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                answer = client.get(path)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.get_data(as_text=True)[:200]
            print(f"{name}: median {statistics.median(times):.2f} s over {args.repeat} calls "
                  f"({len(answer.get_data())} bytes)")
        runtime.close()


if __name__ == "__main__":
    main()
