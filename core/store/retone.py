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

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from core.store.db import Database
from core.store.tables import MessageRow, TicketRow
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
            ids = session.scalars(select(TicketRow.id).where(TicketRow.id > after)
                                  .order_by(TicketRow.id).limit(batch)).all()
            if not ids:
                return done
            after = ids[-1]
            _retone_tickets(session, list(ids), done)


def _retone_tickets(session, ids: list[int], done: Retoned) -> None:
    messages = session.execute(
        select(MessageRow.id, MessageRow.ticket_id, MessageRow.body, MessageRow.sentiment,
               MessageRow.sentiment_score, MessageRow.urgent)
        .where(MessageRow.ticket_id.in_(ids), MessageRow.author_role == "customer")
        .order_by(MessageRow.ticket_id, MessageRow.position)).all()
    per_ticket: dict[int, list[tuple[str | None, bool | None]]] = {}
    changed = []
    for message in messages:
        tone = analyze(message.body) if message.body else None
        values = (tone.sentiment, tone.score, tone.urgent) if tone else (None, None, None)
        if values != (message.sentiment, message.sentiment_score, message.urgent):
            changed.append({"row_id": message.id, "s": values[0], "score": values[1], "u": values[2]})
        if tone is not None:
            per_ticket.setdefault(message.ticket_id, []).append((tone.sentiment, tone.urgent))
    if changed:
        session.connection().execute(
            update(MessageRow.__table__).where(MessageRow.__table__.c.id == bindparam("row_id"))
            .values(sentiment=bindparam("s"), sentiment_score=bindparam("score"), urgent=bindparam("u")), changed)
    stored = session.execute(select(TicketRow.id, TicketRow.sentiment, TicketRow.urgent)
                             .where(TicketRow.id.in_(ids))).all()
    tickets_changed = []
    for ticket in stored:
        tones = per_ticket.get(ticket.id)
        latest = (tones[-1][0], any(u for _, u in tones)) if tones else (None, None)
        if latest != (ticket.sentiment, ticket.urgent):
            tickets_changed.append({"row_id": ticket.id, "s": latest[0], "u": latest[1]})
    if tickets_changed:
        session.connection().execute(
            update(TicketRow.__table__).where(TicketRow.__table__.c.id == bindparam("row_id"))
            .values(sentiment=bindparam("s"), urgent=bindparam("u")), tickets_changed)
    done.tickets += len(ids)
    done.messages += len(messages)
    done.messages_changed += len(changed)
    done.tickets_changed += len(tickets_changed)
