"""Factories for common-shape tickets used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.types import Ticket

#: A small labelled inbox: (intent, customer texts, the agent reply that resolved them).
SMALL_INBOX = {
    "card_arrival": (
        ["My new card still has not arrived", "When will my card be delivered?", "I am still waiting for my card",
         "How long does card delivery take?", "The card you sent me never came"],
        "Hi {name}, cards arrive within 5 working days. You can track delivery under Cards > Track.",
    ),
    "refund_status": (
        ["Where is my refund?", "The refund for my order has not shown up", "I was promised a refund last week",
         "Refund still missing from my account", "How long until I get my money back?"],
        "Hi {name}, refunds take 3 to 5 working days to appear once the merchant sends them.",
    ),
    "password_reset": (
        ["I forgot my password", "How do I reset my password?", "Password reset email never arrives",
         "Locked out, need a new password", "Cannot log in, forgot the password"],
        "Hi {name}, use Forgot password on the login screen; the link is valid for one hour.",
    ),
}
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"]


def make_ticket(external_id: str, text: str, intent: str | None = None, reply: str | None = None,
                requester: str = "Ada Lovelace", created: datetime | None = None, **fields) -> Ticket:
    messages = [{"author_role": "customer", "body": text, "author_name": requester}]
    if reply:
        messages.append({"author_role": "agent", "body": reply, "author_name": "Sam"})
    return Ticket.model_validate({
        "external_id": external_id,
        "subject": "",
        "messages": messages,
        "intent": intent,
        "status": "solved" if reply else "open",
        "requester": {"name": requester, "email": requester.lower().replace(" ", ".") + "@example.com"},
        "created_at": created or datetime(2026, 1, 5, 10, tzinfo=UTC),
        **fields,
    })


def small_inbox() -> list[Ticket]:
    tickets = []
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for intent, (texts, reply) in SMALL_INBOX.items():
        for i, text in enumerate(texts):
            name = NAMES[i % len(NAMES)]
            tickets.append(make_ticket(f"{intent}-{i}", text, intent, reply.format(name=name.split()[0]), name,
                                       start + timedelta(hours=len(tickets)), tags=[intent.split("_")[0]]))
    return tickets
