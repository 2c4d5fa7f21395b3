"""The simulated world of the eight-week autonomy benchmark (``bench/autonomy_weeks.py``): the
tickets that arrive, the customer who reads Deskloop's reply, and the agents who take the rest.

Everything reaches Deskloop as helpdesk events (:class:`core.events.HelpdeskEvent`) stored and
applied by :mod:`core.helpdesk.webhook_events`, so the real listeners run (embedded mode: the
listener jobs run in this process as the drain tells them). What Deskloop does back (a posted reply,
a status, a handoff note) lands in the in-memory helpdesk :mod:`bench.simdesk`, which the world
reads to decide what happens next. Time is simulated: an ordered queue of moments, with
``core.clock.utcnow`` following it.

The simulated customer, fixed before any run (none of these were tuned on a result):

- a reply with the right intent (the predicted intent is the ticket's) is confirmed
  (:data:`CONFIRM_WHEN_RIGHT`) or met with silence;
- a reply with a wrong intent gets a negative answer, or the ticket reopened (:data:`REOPEN_WHEN_WRONG`);
- whatever the reply, :data:`ASK_FOR_PERSON` of customers ask for a person instead;
- :data:`OTHER_LANGUAGE` of new tickets are written in German, French or Spanish
  (``bench/data/autonomy_translations.csv``).

Agents answer every ticket Deskloop did not (shadow and off intents, handoffs) an hour after it
needs them, with their intent's reply (``core/demo/replies.json``), and correct the intent in the
side panel when the suggestion had it wrong (the learning loop's ``intent_changed``). As in the
imported history, 3% of agent-solved tickets are reopened and 3% rated 1 of 5.
"""

from __future__ import annotations

import csv
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bench.simdesk import DESK, NAME
from core import clock
from core.autonomy.responder import solve_quiet_replies
from core.demo.simulate import AGENTS, FOLLOW_UPS, Query
from core.events import HelpdeskEvent
from core.helpdesk.webhook_events import drain_events, store_events
from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.tables import SuggestionRow, TicketRow
from core.types import Csat, Message, Person, Signal

CONFIRM_WHEN_RIGHT = 0.8
REOPEN_WHEN_WRONG = 0.3
ASK_FOR_PERSON = 0.03
OTHER_LANGUAGE = 0.04
REOPENED_AFTER_AGENT, BAD_RATING_AFTER_AGENT = 0.03, 0.03  # as bench/autonomy_backtest.py's history

CONFIRMATIONS = ("Thanks, that worked!", "Great, that solved it. Thank you.", "Perfect, all sorted now, thanks.")
PERSON_PLEASE = ("Can I talk to a person please?", "I'd rather speak to a human agent about this.")
CUSTOMER_WAIT = timedelta(hours=2)
AGENT_WAIT = timedelta(hours=1)
AFTERMATH = timedelta(days=1)

TRANSLATIONS = Path(__file__).parent / "data" / "autonomy_translations.csv"


def load_translations() -> list[tuple[str, Query]]:
    """(language, query) pairs: Banking77-like questions written in German, French and Spanish."""
    with TRANSLATIONS.open(encoding="utf-8", newline="") as handle:
        return [(row["language"], Query(row["text"].strip(), row["category"].strip()))
                for row in csv.DictReader(handle)]


@dataclass
class LiveTicket:
    external_id: str
    week: int
    at: datetime
    text: str
    intent: str  # the truth, known to the simulation only
    language: str
    first_name: str
    last_name: str
    events: int = 0
    #: What happened, as the simulation saw it (the report reads the engine's rows as well).
    answered_intent: str | None = None  # the intent of the reply Deskloop posted, if any
    reaction: str | None = None
    agent_answered: bool = False
    statuses_told: int = 0  # Deskloop's status changes already echoed back as events


@dataclass
class World:
    runtime: Runtime
    tenant: str
    replies: dict[str, dict]
    rnd: random.Random
    tickets: dict[str, LiveTicket] = field(default_factory=dict)
    _queue: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    _tenant_id: int | None = None

    # Time --------------------------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (moment, next(self._order), action))

    def run_until(self, end: datetime) -> None:
        """Everything due before ``end``, in time order, with the clock following."""
        while self._queue and self._queue[0][0] < end:
            moment, _, action = heapq.heappop(self._queue)
            clock.utcnow = lambda moment=moment: moment  # type: ignore[assignment]
            action()
        clock.utcnow = lambda: end  # type: ignore[assignment]

    @property
    def tenant_id(self) -> int:
        if self._tenant_id is None:
            self._tenant_id = self.runtime.db.tenant_id(self.tenant)
        return self._tenant_id

    # Events ------------------------------------------------------------------------------------

    def send(self, ticket: LiveTicket, kind: str, **fields) -> None:
        """One helpdesk event about ``ticket``, stored and applied as a webhook's would be."""
        self.deliver(ticket, [self.event(ticket, kind, **fields)])

    def event(self, ticket: LiveTicket, kind: str, **fields) -> HelpdeskEvent:
        ticket.events += 1
        return HelpdeskEvent(kind=kind, event_id=f"{ticket.external_id}:{ticket.events}:{kind}",  # type: ignore[arg-type]
                             ticket_external_id=ticket.external_id, occurred_at=clock.utcnow(), **fields).check()

    def deliver(self, ticket: LiveTicket, events: list[HelpdeskEvent]) -> None:
        """Events delivered together (one webhook batch), applied and heard; then any status
        Deskloop set meanwhile comes back as the helpdesk's event."""
        store_events(self.runtime, self.tenant_id, NAME, events)
        drain_events(self.runtime, self.tenant)
        self._echo_status(ticket)

    def _echo_status(self, ticket: LiveTicket) -> None:
        """A status Deskloop set through the API comes back as the helpdesk's event (its own change)."""
        statuses = DESK.statuses.get(ticket.external_id, [])
        if len(statuses) > ticket.statuses_told:
            ticket.statuses_told = len(statuses)
            event = self.event(ticket, "status_changed", status=statuses[-1], from_deskloop=True)
            store_events(self.runtime, self.tenant_id, NAME, [event])
            drain_events(self.runtime, self.tenant)

    # The ticket's life -------------------------------------------------------------------------

    def arrive(self, ticket: LiveTicket) -> None:
        self.tickets[ticket.external_id] = ticket
        self.at(ticket.at, lambda: self._created(ticket))

    def _created(self, ticket: LiveTicket) -> None:
        posts, _ = self._seen(ticket)
        email = f"{ticket.first_name}.{ticket.last_name}.{ticket.external_id}@example.com".lower()
        requester = Person(name=f"{ticket.first_name} {ticket.last_name}", email=email)
        self.send(ticket, "ticket_created", requester=requester,
                  status="new", created_at=clock.utcnow(), message_external_id=f"{ticket.external_id}-0",
                  message=Message(author_role="customer", body=ticket.text, created_at=clock.utcnow(),
                                  author_name=ticket.first_name))
        answer = self._new_answer(ticket, posts)
        if answer is not None:
            ticket.answered_intent = self._answered_intent(ticket)
            self.send(ticket, "agent_replied", from_deskloop=True, message_external_id=answer.message_id,
                      message=Message(author_role="agent", body=answer.body, created_at=clock.utcnow()))
            self.at(clock.utcnow() + CUSTOMER_WAIT, lambda: self._customer_reacts(ticket))
        else:  # handed off, or never Deskloop's: an agent has it
            self.at(clock.utcnow() + AGENT_WAIT, lambda: self._agent_answers(ticket))

    def _customer_reacts(self, ticket: LiveTicket) -> None:
        _, notes = self._seen(ticket)
        right = ticket.answered_intent == ticket.intent
        if self.rnd.random() < ASK_FOR_PERSON:
            ticket.reaction = "asked_for_person"
            self._customer_writes(ticket, self.rnd.choice(PERSON_PLEASE))
        elif right:
            if self.rnd.random() < CONFIRM_WHEN_RIGHT:
                ticket.reaction = "confirmed"
                self._customer_writes(ticket, self.rnd.choice(CONFIRMATIONS))
            else:
                ticket.reaction = "silent"
        elif self.rnd.random() < REOPEN_WHEN_WRONG:
            ticket.reaction = "reopened"
            self.send(ticket, "reopened", status="open")
        else:
            ticket.reaction = "negative"
            self._customer_writes(ticket, self.rnd.choice(FOLLOW_UPS))
        if len(DESK.notes.get(ticket.external_id, [])) > notes:  # handed off: an agent takes it
            self.at(clock.utcnow() + AGENT_WAIT, lambda: self._agent_answers(ticket))

    def _customer_writes(self, ticket: LiveTicket, text: str) -> None:
        self.send(ticket, "customer_replied", message_external_id=f"{ticket.external_id}-c{ticket.events}",
                  message=Message(author_role="customer", body=text, created_at=clock.utcnow(),
                                  author_name=ticket.first_name))

    def _agent_answers(self, ticket: LiveTicket) -> None:
        """The agent replies with the intent's answer, solves the ticket, and corrects the intent
        in the side panel when the latest suggestion had it wrong."""
        agent = self.rnd.choice(AGENTS)
        reply = self.replies[ticket.intent]["reply"].format(first_name=ticket.first_name, agent_name=agent)
        ticket.agent_answered = True
        self.deliver(ticket, [
            self.event(ticket, "agent_replied", message_external_id=f"{ticket.external_id}-a{ticket.events}",
                       message=Message(author_role="agent", body=reply, created_at=clock.utcnow(), author_name=agent)),
            self.event(ticket, "status_changed", status="solved")])
        self._correct_intent(ticket, agent)
        if self.rnd.random() < REOPENED_AFTER_AGENT:
            self.at(clock.utcnow() + AFTERMATH, lambda: self.send(ticket, "reopened", status="open"))
        if self.rnd.random() < BAD_RATING_AFTER_AGENT:
            self.at(clock.utcnow() + AFTERMATH, lambda: self.send(ticket, "csat_received", csat=Csat(score=1)))

    def _correct_intent(self, ticket: LiveTicket, agent: str) -> None:
        with self.runtime.db.tenant_session(self.tenant_id) as session:
            found = session.execute(
                select(TicketRow.id, SuggestionRow.id, SuggestionRow.intent)
                .outerjoin(SuggestionRow, SuggestionRow.ticket_id == TicketRow.id)
                .where(TicketRow.source == NAME, TicketRow.external_id == ticket.external_id)
                .order_by(SuggestionRow.id.desc()).limit(1)).first()
        if found is None:
            return
        ticket_id, suggestion_id, intent = found
        if intent != ticket.intent:
            record_signal(self.runtime, self.tenant, Signal(
                kind="intent_changed", ticket_id=None if suggestion_id else ticket_id, suggestion_id=suggestion_id,
                actor=agent, payload={"intent": ticket.intent}))

    # Reading the helpdesk back -----------------------------------------------------------------

    def _seen(self, ticket: LiveTicket) -> tuple[int, int]:
        return len(DESK.replies.get(ticket.external_id, [])), len(DESK.notes.get(ticket.external_id, []))

    def _new_answer(self, ticket: LiveTicket, before: int):
        """Deskloop's answer posted since ``before`` (a holding message leaves the status alone)."""
        new = DESK.replies.get(ticket.external_id, [])[before:]
        return next((p for p in new if p.status == "pending"), None)

    def _answered_intent(self, ticket: LiveTicket) -> str | None:
        """The intent of the answer Deskloop recorded for the ticket (the engine's row)."""
        from core.store.tables import AutonomyReplyRow

        with self.runtime.db.tenant_session(self.tenant_id) as session:
            found = session.execute(select(AutonomyReplyRow.intent, TicketRow.id)
                                    .join(TicketRow, TicketRow.id == AutonomyReplyRow.ticket_id)
                                    .where(TicketRow.source == NAME, TicketRow.external_id == ticket.external_id,
                                           AutonomyReplyRow.kind == "answer")
                                    .order_by(AutonomyReplyRow.id.desc()).limit(1)).first()
        return found[0] if found else None

    def sweep(self, now: datetime) -> int:
        """The scheduler's hourly sweep (run daily here): quiet autonomous replies solved after N days."""
        solved = solve_quiet_replies(self.runtime, self.tenant, now)
        for ticket in self.tickets.values():
            if len(DESK.statuses.get(ticket.external_id, [])) > ticket.statuses_told:
                self._echo_status(ticket)
        return solved
