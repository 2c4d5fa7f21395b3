"""A tenant with nine weeks of login tickets in a weekly rhythm, a spike of them in the last 40
minutes after a deploy, and a group of tickets the model found unfamiliar (one with a hostile
subject), scanned as the scheduler would: what the insights API and page tests read. Times are
relative to the real clock, because the page and the API show the hours ending now."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.insights.deploys import mark
from core.insights.run import scan_tenant
from core.runtime import Runtime
from core.store.tables import SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket

HOSTILE_SUBJECT = '<img src=x onerror="document.body.dataset.pwned=1">Widget ate my files'
SPIKE = 24
UNFAMILIAR_CLUSTER = 7
UNFAMILIAR = 8


@dataclass(frozen=True)
class SeededInsights:
    now: datetime
    login_per_hour: Counter[datetime]  # the login tickets per creation hour
    deploy_at: datetime


#: The eight weeks the scan learns from, and the week a chart shows before them.
HISTORY_WEEKS = timedelta(weeks=9)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def office_hours(hour: datetime) -> bool:
    return hour.weekday() < 5 and 8 <= hour.hour < 18


def _office_rhythm(start: datetime) -> list[datetime]:
    """Two tickets an hour in weekday office hours (UTC), one every four hours otherwise: the same
    every week, so the rhythm the scan learns is known."""
    found = []
    for offset in range(int(HISTORY_WEEKS / timedelta(hours=1))):
        hour = start + timedelta(hours=offset)
        if office_hours(hour):
            found += [hour + timedelta(minutes=10), hour + timedelta(minutes=40)]
        elif hour.hour % 4 == 0:
            found.append(hour + timedelta(minutes=20))
    return found


def seed_insights(runtime: Runtime, slug: str = "acme", now: datetime | None = None) -> SeededInsights:
    db = runtime.db
    now = now or datetime.now(UTC).replace(microsecond=0)
    tenant_id = db.ensure_tenant(slug, "zendesk", f"{slug}.zendesk.com")
    created = [c for c in _office_rhythm(_hour(now) - HISTORY_WEEKS) if c < now - timedelta(hours=3)]
    tickets = [make_ticket(f"h-{i}", "cannot log in", intent="login", created=c, subject="Login fails", tags=["auth"])
               for i, c in enumerate(created)]
    spike = [now - timedelta(minutes=40) + timedelta(seconds=90 * i) for i in range(SPIKE)]
    tickets += [make_ticket(f"s-{i}", "cannot log in since the update", intent="login", created=c,
                            subject=f"Login broken #{i}", tags=["auth"]) for i, c in enumerate(spike)]
    odd = [now - timedelta(hours=5, minutes=3 * i) for i in range(UNFAMILIAR)]
    tickets += [make_ticket(f"u-{i}", "the new widget eats my files", created=c,
                            subject=HOSTILE_SUBJECT if i == 0 else f"Widget problem {i}") for i, c in enumerate(odd)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    with db.transaction(tenant_id) as session:  # the model abstained on them: unlike anything it knows
        for row in session.scalars(select(TicketRow).where(TicketRow.external_id.startswith("u-"))):
            row.cluster_key = UNFAMILIAR_CLUSTER
            session.add(SuggestionRow(tenant_id=tenant_id, ticket_id=row.id, text="", intent=None, confidence=0.1,
                                      abstained=True, abstain_reason="unfamiliar"))
    deploy_at = now - timedelta(minutes=90)
    mark(runtime, slug, {"service": "auth", "version": "2.4.1", "deployed_at": deploy_at,
                         "link": "https://ci.example.com/runs/9"})
    scan_tenant(runtime, slug, now=now)
    return SeededInsights(now, Counter(_hour(c) for c in created + spike), deploy_at)
