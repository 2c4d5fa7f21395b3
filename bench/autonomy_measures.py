"""How long the autonomy measures take on a busy month: N tickets created in the last 28 days
across 30 intents, half of them answered autonomously (a seeded third of those confirmed, a third
negative), the other half answered by a person an hour later, a quarter handed off. The rows are
written directly into a fresh SQLite home (or the PostgreSQL database named), then
:func:`core.autonomy.measures.autonomy_measures` runs once, timed: what the autonomy page and
``GET .../autonomy/measures`` wait for.

    .venv/bin/python bench/autonomy_measures.py [--tickets 20000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from core.autonomy.measures import autonomy_measures
from core.config import Settings
from core.runtime import Runtime
from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, MessageRow, TicketRow


def seed(runtime: Runtime, tickets: int, rnd: random.Random) -> None:
    tenant_id = runtime.db.ensure_tenant("bench")
    now = datetime.now(UTC)
    with runtime.db.transaction(tenant_id) as session:
        session.execute(insert(TicketRow), [dict(
            tenant_id=tenant_id, source="zendesk", external_id=str(i), subject="s", text="t" * 400, intent=f"i{i % 30}",
            status="solved", created_at=now - timedelta(minutes=rnd.randrange(28 * 1440)),
            csat_score=rnd.choice([None, 3, 5]), content_hash=str(i), tags=[], custom_fields={}, macros=[],
            reopen_count=0) for i in range(tickets)])
        made = session.execute(select(TicketRow.id, TicketRow.created_at).order_by(TicketRow.id)).all()
        session.execute(insert(AutonomyReplyRow), [dict(
            tenant_id=tenant_id, ticket_id=i, answers="first", kind="answer", state="posted", body="b", intent="i1",
            posted_at=at + timedelta(seconds=30), external_message_id=f"m{i}",
            outcome=rnd.choice([None, "confirmed", "negative"])) for i, at in made[::2]])
        session.execute(insert(MessageRow), [dict(
            tenant_id=tenant_id, ticket_id=i, position=1, author_role="agent", public=True, body_raw="x", body="x",
            created_at=at + timedelta(hours=1)) for i, at in made[1::2]])
        session.execute(insert(AutonomyHandoffRow), [dict(
            tenant_id=tenant_id, ticket_id=i, trigger="new", reason="below_threshold", note="n", state="done")
            for i, _ in made[1::4]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--database-url", default=None, help="An empty database (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deskloop-measures-"))
    runtime = Runtime(Settings(home=home, database_url=args.database_url or f"sqlite:///{home / 'deskloop.db'}"))
    try:
        runtime.db.migrate()
        seed(runtime, args.tickets, random.Random(args.seed))
        started = time.perf_counter()
        found = autonomy_measures(runtime, "bench")
        took = time.perf_counter() - started
    finally:
        runtime.close()
    print(f"{runtime.db.dialect}: {found.overall.new_tickets} new tickets, {found.overall.answers_posted} autonomous "
          f"answers, {len(found.intents)} intents: measured in {took:.2f} s "
          f"(auto-resolution {found.overall.auto_resolution_rate})")


if __name__ == "__main__":
    main()
