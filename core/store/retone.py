"""Customer messages read again by the current tone reader.

A message's tone is read when it is stored, so a better reader (a new
:data:`core.text.sentiment.TONE_VERSION`) leaves the tickets already stored with the old reading
until they are imported again, and a churn score would mix the two. ``deskloop retone`` reads
every stored customer message again, a batch of tickets per transaction (an interrupted run
leaves each ticket either read again or not, and running it again finishes the job), and
updates only what changed: each message's tone and each ticket's (the latest customer message's
sentiment, and whether any is urgent).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from core.store.db import Database
from core.store.tables import MessageRow, TicketRow
from core.store.tickets import in_time_order, ticket_tone, tone_columns
from core.text.sentiment import analyze

#: Tickets per transaction.
BATCH = 500


@dataclass
class Retoned:
    tickets: int = 0
    messages: int = 0
    messages_changed: int = 0
    tickets_changed: int = 0

    def summary(self, slug: str) -> str:
        return (f"{slug}: {self.messages} customer message(s) of {self.tickets} ticket(s) read again; "
                f"{self.messages_changed} message(s) and {self.tickets_changed} ticket(s) changed tone")


def retone_tenant(db: Database, tenant_id: int, batch: int = BATCH) -> Retoned:
    done = Retoned()
    after = 0
    while True:
        with db.transaction(tenant_id) as session:
            tickets = session.scalars(select(TicketRow).where(TicketRow.id > after)
                                      .order_by(TicketRow.id).limit(batch)).all()
            if not tickets:
                return done
            after = tickets[-1].id
            _retone_tickets(session, tickets, done)


def _retone_tickets(session, tickets, done: Retoned) -> None:
    """Each customer message's tone read again, and each ticket's from them by the rule a
    delivery applies (:func:`ticket_tone` over the public ones in time order). The ORM writes
    only the rows whose values changed."""
    messages = session.scalars(select(MessageRow).where(MessageRow.ticket_id.in_([t.id for t in tickets]),
                                                        MessageRow.author_role == "customer")).all()
    per_ticket: dict[int, list[MessageRow]] = defaultdict(list)
    for message in messages:
        columns = tone_columns(analyze(message.body) if message.body else None)
        if any(getattr(message, name) != value for name, value in columns.items()):
            for name, value in columns.items():
                setattr(message, name, value)
            done.messages_changed += 1
        per_ticket[message.ticket_id].append(message)
    for ticket in tickets:
        tone = ticket_tone([m for m in in_time_order(per_ticket[ticket.id]) if m.public and m.body])
        if tone is not None and tone != (ticket.sentiment, ticket.urgent):
            ticket.sentiment, ticket.urgent = tone
            done.tickets_changed += 1
    done.tickets += len(tickets)
    done.messages += len(messages)
