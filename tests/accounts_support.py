"""A tenant of five accounts over the last 18 weeks, relative to the real clock (the page scores
"now"): Initech degrades (calm and well rated for twelve weeks, then three angry, badly rated,
reopened tickets a week speaking of cancelling), three stay healthy with different volumes, and
one, whose name is markup with a slash, a question mark and a hash, threatens to cancel once. What
the accounts-at-risk page and CSV tests read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from core.types import Ticket
from tests.factories import make_ticket

HOSTILE_ACCOUNT = '<img src=x onerror="document.body.dataset.pwned=1">/a?b#c'
DEGRADING = "Initech"
CALM = "How do I download my invoice? Thanks, your help is great."
ANGRY = ("This is useless and I am furious, the export broke again. We will cancel our subscription and switch "
         "to a competitor.")
#: Healthy accounts: (name, tickets a week as weeks between tickets: 1 ticket every n weeks, or n a week)
HEALTHY = {"Globex": (2, 1), "Hooli": (1, 1), "Umbrella": (1, 2)}
#: Tickets of the degrading account: 12 calm baseline weeks, then 6 weeks of 3 angry tickets.
DEGRADING_TICKETS = 12 + 6 * 3
HOSTILE_TICKETS = 4


def _calm(external_id: str, account: str, created: datetime) -> Ticket:
    return make_ticket(external_id, CALM, organization=account, created=created, status="solved",
                       solved_at=created + timedelta(hours=3), csat={"score": 5}, subject="Invoice download")


def _angry(external_id: str, account: str, created: datetime) -> Ticket:
    return make_ticket(external_id, ANGRY, organization=account, created=created, status="open", reopen_count=1,
                       csat={"score": 1}, subject="Export broken again")


def account_tickets(now: datetime) -> list[Ticket]:
    week = timedelta(weeks=1)
    start = now - 18 * week + timedelta(days=1)
    tickets = [_calm(f"in-{w}", DEGRADING, start + w * week) for w in range(12)]
    tickets += [_angry(f"in-{w}-{n}", DEGRADING, start + w * week + timedelta(hours=5 * n))
                for w in range(12, 18) for n in range(3)]
    for name, (per_week, every) in HEALTHY.items():
        tickets += [_calm(f"{name[:2].lower()}-{w}-{n}", name, start + w * week + timedelta(hours=7 * n))
                    for w in range(0, 18, every) for n in range(per_week)]
    tickets += [_calm(f"x-{w}", HOSTILE_ACCOUNT, start + w * week) for w in (2, 8, 13)]
    tickets.append(_angry("x-16", HOSTILE_ACCOUNT, start + 16 * week))
    return tickets


def seed_accounts(runtime: Runtime, slug: str = "acme", now: datetime | None = None) -> None:
    now = now or datetime.now(UTC).replace(microsecond=0)
    tenant_id = runtime.db.ensure_tenant(slug, "zendesk", f"{slug}.zendesk.com")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, account_tickets(now))
