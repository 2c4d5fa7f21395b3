"""The seeded tenant of the knowledge-gaps tests and page tests: 300 tickets of six intents full of
personal data (``tests/personal_data.py``), one intent troubled (abstentions, edited drafts, reopens,
bad ratings) and one healthy."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.tables import SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from core.types import Csat, Signal
from tests.personal_data import INTENTS, personal_history

NOW = datetime(2026, 2, 15, 9, tzinfo=UTC)
BAD, HEALTHY = "refund", "card_delivery"
#: What agents told the customers whose refund tickets were reopened: an answer that did not work.
WRONG_ANSWER = ("Hi {first}, please wait another month for the refund, sometimes these get stuck in processing "
                "and there is nothing we can do before then. {agent}")
CUSTOMER_QUESTIONS = " ".join(q for questions, _ in INTENTS.values() for q in questions)


def seed_knowledge_gaps(runtime: Runtime, slug_: str = "acme", now: datetime = NOW) -> tuple[list, list[int]]:
    """300 tickets of six intents; refund: abstentions, edited drafts, reopens and bad ratings on a
    third of its tickets (answered with :data:`WRONG_ANSWER`), good ratings on the rest; card
    delivery: drafts sent as they were and good ratings. Returns the customers and the ids of the
    reopened refund tickets. ``now`` moves the whole history (the 8 days from 41 days before it),
    for a page that shows the days ending at the real clock."""
    tickets, customers = personal_history(seed=5, customers=120, tickets=300)
    shift = now - NOW
    for ticket in tickets:
        ticket.created_at = ticket.created_at + shift if ticket.created_at else None
    db = runtime.db
    by_key = {c.key: c for c in customers}
    reopened_external: set[str] = set()
    seen_refunds = 0
    for ticket in tickets:
        customer = by_key[ticket.requester.external_id]
        if ticket.intent == BAD:
            seen_refunds += 1
            if seen_refunds % 3 == 0:
                reopened_external.add(ticket.external_id)
                ticket.messages[1].body = WRONG_ANSWER.format(first=customer.first,
                                                              agent=ticket.messages[1].author_name.split()[0])
                ticket.reopen_count, ticket.csat = 1, Csat(score=1)
            else:
                ticket.csat = Csat(score=5)
            if seen_refunds % 2:  # a subject full of the customer's details
                ticket.subject = f"Refund for order {customer.values['order']} ({customer.values['email']})"
        elif ticket.intent == HEALTHY:
            ticket.csat = Csat(score=5)
    tenant_id = db.ensure_tenant(slug_)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    with db.transaction(tenant_id) as session:
        rows = session.execute(select(TicketRow.id, TicketRow.intent, TicketRow.external_id)
                               .order_by(TicketRow.id)).all()
        suggestions = {}
        refunds = 0
        for row in (r for r in rows if r.intent in (BAD, HEALTHY)):
            refunds += row.intent == BAD
            abstained = row.intent == BAD and refunds % 4 != 1  # 37 of 50
            n = refunds
            suggestion = SuggestionRow(
                tenant_id=tenant_id, ticket_id=row.id, text="?", intent=None if abstained else row.intent,
                confidence=0.2 if abstained else 0.9, abstained=abstained,
                abstain_reason=("low_confidence" if n % 2 else "novel") if abstained else None,
                draft=None if abstained else "Your request is being handled, it takes 5 to 10 working days.",
                created_at=now)
            session.add(suggestion)
            session.flush()
            suggestions[row.id] = (suggestion, row)
    for suggestion, row in suggestions.values():
        if suggestion.abstained:
            continue
        sent = suggestion.draft if row.intent == HEALTHY else (
            "Sorry for the wait: refunds go back to the card you paid with and can take up to 10 days.")
        record_signal(runtime, slug_, Signal(kind="draft_sent", suggestion_id=suggestion.id, payload={"sent": sent}))
    reopened_ids = [r.id for r in rows if r.external_id in reopened_external]
    for ticket_id in reopened_ids:
        record_signal(runtime, slug_, Signal(kind="reopened", ticket_id=ticket_id))
    return customers, reopened_ids
