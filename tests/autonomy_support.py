"""A tenant's autonomous history made row by row, for the measures' tests and the autonomy page's:
each ticket below is commented with what the measures must make of it, so every figure in
``tests/test_autonomy_measures.py`` can be counted by hand from this file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.store.db import Database
from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, MessageRow, TicketRow

CARD, REFUND = "card_arrival", "refund_status"


@dataclass
class Made:
    """One ticket to make: created ``age`` before now, its answer (if any) posted ``answer_after``
    its creation, people's public replies ``human_after`` its creation."""

    name: str
    intent: str | None
    age: timedelta
    status: str = "solved"
    csat: int | None = None
    answer_intent: str | None = None
    answer_after: timedelta | None = None
    answer_state: str = "posted"
    outcome: str | None = None
    echoed: bool = False  # the helpdesk stored Deskloop's answer as a public agent message
    holding_echo: bool = False  # a holding message posted, and stored back as a public agent message
    human_after: list[timedelta] = field(default_factory=list)
    handoff: tuple[str, str] | None = None  # (reason, state)


S, M, H, D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

HISTORY = [
    # card_arrival: 7 tickets in the 28 days, 6 answers posted, 3 auto-resolved (T1, T2, T5), 1 wrong (T3)
    Made("T1", None, 2 * D, csat=5, answer_intent=CARD, answer_after=60 * S, outcome="confirmed"),  # auto; no label
    Made("T2", CARD, 3 * D, csat=4, answer_intent=CARD, answer_after=120 * S,
         echoed=True),  # auto; the echo of its answer is not a person
    Made("T3", CARD, 10 * D, csat=2, answer_intent=CARD, answer_after=30 * S, outcome="negative",
         human_after=[H], handoff=("negative_answer", "done")),  # wrong; a person solved it
    Made("T4", CARD, 12 * D, status="pending", answer_intent=CARD, answer_after=90 * S),  # not solved yet
    Made("T5", CARD, 15 * D, answer_intent=CARD, answer_after=45 * S, human_after=[45 * S + 8 * D]),  # auto: reply late
    Made("T6", CARD, 16 * D, csat=3, answer_intent=CARD, answer_after=50 * S, human_after=[2 * D]),  # a person in 7 d
    Made("T7", CARD, 5 * D, csat=4, holding_echo=True, human_after=[H],
         handoff=("below_threshold", "pending")),  # a person answered first (the holding echo is not them)
    Made("T8", CARD, 40 * D, csat=5, answer_intent=CARD, answer_after=S, outcome="confirmed"),  # before the period
    # refund_status: 4 tickets, 2 answers posted, both wrong, none auto-resolved
    Made("R1", REFUND, 1 * D, status="open", answer_intent=REFUND, answer_after=10 * S, outcome="reopened",
         human_after=[2 * H], handoff=("reopened", "done")),
    Made("R2", "billing", 20 * D, csat=1, answer_intent=REFUND, answer_after=20 * S, outcome="corrected",
         human_after=[5 * M], handoff=("agent_took_over", "failed")),  # grouped by the answer's intent
    Made("R3", REFUND, 6 * D, csat=5, human_after=[2 * H]),
    Made("R4", REFUND, 6 * D, csat=5, answer_intent=REFUND, answer_after=S, answer_state="failed",
         human_after=[30 * M], handoff=("reply_failed", "done")),  # never posted: not an answer
    # no intent at all
    Made("X1", None, 8 * D, status="new"),
]


def seed_autonomy_history(db: Database, tenant: str, now: datetime, history: list[Made] = HISTORY) -> dict[str, int]:
    """Make ``history`` for ``tenant`` (created if need be); returns the tickets' ids by name."""
    tenant_id = db.ensure_tenant(tenant)
    ids = {}
    with db.transaction(tenant_id) as session:
        for made in history:
            created = now - made.age
            ticket = TicketRow(tenant_id=tenant_id, source="zendesk", external_id=f"{tenant}-{made.name}",
                               subject=f"Ticket {made.name}", intent=made.intent, status=made.status,
                               created_at=created, csat_score=made.csat, content_hash=made.name,
                               solved_at=created + D if made.status == "solved" else None)
            session.add(ticket)
            session.flush()
            ids[made.name] = ticket.id
            messages = [("customer", True, created, None)]
            if made.answer_after is not None:
                posted = made.answer_state == "posted"
                session.add(AutonomyReplyRow(
                    tenant_id=tenant_id, ticket_id=ticket.id, answers="first", kind="answer", intent=made.answer_intent,
                    state=made.answer_state, body="Your card is on its way.", confidence=0.97,
                    external_message_id=f"{made.name}-answer" if posted else None,
                    posted_at=created + made.answer_after if posted else None, outcome=made.outcome))
                if made.echoed:
                    messages.append(("agent", True, created + made.answer_after, f"{made.name}-answer"))
            if made.holding_echo:
                session.add(AutonomyReplyRow(tenant_id=tenant_id, ticket_id=ticket.id, answers="holding",
                                             kind="holding", state="posted", body="A person will answer shortly.",
                                             external_message_id=f"{made.name}-holding", posted_at=created + 5 * S))
                messages.append(("agent", True, created + 5 * S, f"{made.name}-holding"))
            messages += [("agent", True, created + after, None) for after in made.human_after]
            messages.append(("agent", False, created + 2 * S, None))  # a private note: never a reply
            for position, (role, public, at, external_id) in enumerate(messages):
                session.add(MessageRow(tenant_id=tenant_id, ticket_id=ticket.id, position=position, author_role=role,
                                       public=public, body_raw="text", body="text", created_at=at,
                                       external_id=external_id))
            if made.handoff is not None:
                session.add(AutonomyHandoffRow(tenant_id=tenant_id, ticket_id=ticket.id, trigger="new",
                                               reason=made.handoff[0], intent=made.answer_intent or made.intent,
                                               note="Why Deskloop hands off: ...", state=made.handoff[1],
                                               created_at=created + H))
    return ids
