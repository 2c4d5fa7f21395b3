"""A tenant with something in every section of the weekly digest of :data:`WEEK` (2026-W18, which
ends when the simulated churn history does): accounts with planted churners (some of them lone
requesters, named by their address), feature requests on the rise, an intent where Deskloop
abstains, a spike opened after a deploy, and four weeks of drafts sent and edited and of intents
corrected. Requesters have names and addresses; the digest must carry none of them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.insights.incidents import DeployMarker, Incident
from core.insights.weeks import IsoWeek
from core.runtime import Runtime
from core.store.tables import IncidentRow, SignalRow, SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.churn_support import END, simulated, store_accounts
from tests.factories import make_ticket
from tests.feature_requests_support import seed_feature_requests

WEEK = IsoWeek(2026, 18)
assert WEEK.end.date() == END
GAP_INTENT = "refund_status"
#: A requester of the knowledge-gap tickets: a name and an address the digest must never show.
GAP_REQUESTER = "Grace Hopperfield"
#: Per week, oldest first: (drafts sent unchanged, drafts edited).
DRAFTS = [(2, 2), (3, 1), (1, 1), (6, 2)]


def _suggestion(session, tenant_id: int, ticket_id: int, when, abstained: bool) -> SuggestionRow:
    row = SuggestionRow(tenant_id=tenant_id, ticket_id=ticket_id, text="?", intent=None if abstained else GAP_INTENT,
                        confidence=0.2 if abstained else 0.9, abstained=abstained,
                        abstain_reason="low_confidence" if abstained else None,
                        draft=None if abstained else "Refunds take 5 to 10 working days.", created_at=when)
    session.add(row)
    session.flush()
    return row


def _learning_history(runtime: Runtime, tenant_id: int) -> None:
    """Four weeks of drafts and signals; one suggestion of :data:`WEEK` has its intent corrected."""
    tickets = [make_ticket(f"kg-{w}-{i}", "Where is my refund? It has been two weeks.", GAP_INTENT,
                           "Hello, refunds take 5 to 10 working days.", GAP_REQUESTER,
                           WEEK.previous(3 - w).start + timedelta(hours=10 + i))
               for w in range(4) for i in range(sum(DRAFTS[w]) + 3)]
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    with runtime.db.transaction(tenant_id) as session:
        rows = {r.external_id: r for r in session.execute(select(TicketRow.id, TicketRow.external_id,
                                                                 TicketRow.created_at)).all()}
        for w, (unchanged, edited) in enumerate(DRAFTS):
            for i in range(unchanged + edited + 3):
                ticket = rows[f"kg-{w}-{i}"]
                when = WEEK.previous(3 - w).start + timedelta(hours=10 + i)
                suggestion = _suggestion(session, tenant_id, ticket.id, when, abstained=i >= unchanged + edited)
                if i < unchanged + edited:
                    kind = "draft_sent" if i < unchanged else "draft_edited"
                    payload = {"sent": "Refunds take 5 to 10 working days."} if kind == "draft_sent" else {
                        "sent": "Sorry: your refund went out today.", "similarity": 0.4}
                    session.add(SignalRow(tenant_id=tenant_id, ticket_id=ticket.id, suggestion_id=suggestion.id,
                                          kind=kind, weight=1.0, payload=payload, created_at=when + timedelta(hours=1)))
                if w == 3 and i == 0:
                    session.add(SignalRow(tenant_id=tenant_id, ticket_id=ticket.id, suggestion_id=suggestion.id,
                                          kind="intent_changed", weight=1.0, payload={"intent": "billing_question"},
                                          created_at=when + timedelta(hours=2)))


def _incident(runtime: Runtime, tenant_id: int) -> None:
    started = WEEK.start + timedelta(days=2, hours=9)
    incident = Incident(incident_id="inc-w18", tenant="acme", category_kind="intent", category="login_problem",
                        started_at=started, updated_at=started + timedelta(hours=2), observed=42, expected=7.5,
                        window_hours=3, deploy=DeployMarker(service="auth-api", version="v3.1.0",
                                                            deployed_at=started - timedelta(minutes=30)))
    with runtime.db.transaction(tenant_id) as session:
        session.add(IncidentRow(tenant_id=tenant_id, incident_id=incident.incident_id, category_kind="intent",
                                category=incident.category, started_at=started, last_hot_at=started, changes=1,
                                last_change="opened", published=1, data=incident.model_dump(mode="json")))


def seed_digest(runtime: Runtime, slug: str = "acme") -> None:
    seed_feature_requests(runtime, slug, now=WEEK.end - timedelta(hours=1))
    store_accounts(runtime.db, slug, end=END)
    tenant_id = runtime.db.tenant_id(slug)
    _learning_history(runtime, tenant_id)
    _incident(runtime, tenant_id)


def personal_details() -> list[str]:
    """Every requester's name and address in the seed."""
    people = [t.requester for t in simulated(90, end=END).tickets if t.requester is not None]
    found = {p.name for p in people if p.name} | {p.email for p in people if p.email}
    return sorted(found | {GAP_REQUESTER, "grace.hopperfield@example.com", "Ada Lovelace", "ada.lovelace@example.com"})
