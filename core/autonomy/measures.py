"""What autonomous resolution did for a tenant, per intent, over a period: the figures a person
weighs before leaving an intent autonomous (issue 20's measures).

One population: the tickets *created* in the period (``days`` back from now), with every
autonomous reply and handoff of those tickets and their messages. Read-only: nothing here writes.

- **Auto-resolved**: the ticket has an autonomous answer that was posted, no answer of it ended
  ``negative``, ``reopened``, ``corrected``, ``wants_human`` or ``other``, no person replied in
  public within :data:`HOLD_DAYS` of the first answer, and it is solved (the ticket's status or
  solved time, Deskloop's own solve, or the customer's confirmation). The **auto-resolution rate**
  is auto-resolved tickets over every new ticket of the intent: the share of the inbox nobody
  had to touch.
- **Wrong-reply rate**: posted answers whose outcome is ``negative``, ``reopened`` or ``corrected``,
  over posted answers.
- **First response**: for a ticket with a posted answer, the first answer's ``posted_at`` minus the
  ticket's creation; for the others, the first public reply of a person. Median and 90th
  percentile (nearest rank), in seconds.
- **CSAT**: the mean score (and how many were rated) of auto-resolved tickets against the solved
  tickets a person answered in public.
- **Handoffs** by reason, with the share the helpdesk took (``state`` ``done``).
- **Widget**: the in-app widget's answers as a channel of their own
  (:mod:`core.autonomy.widget_measures`).

A ticket's intent is the one its first answer was given for (the mode that applied), else the
ticket's own, else ``(none)``. A person's reply is a public agent message that is not one of
Deskloop's own posts (matched by the helpdesk's message id).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import cast

from pydantic import BaseModel, Field
from sqlalchemy import Row, select

from core import clock
from core.autonomy.handoff import REASONS
from core.autonomy.widget_measures import WidgetChannel, widget_channel
from core.runtime import Runtime
from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, MessageRow, TicketRow

#: The period measured by default, and the longest one asked for.
DEFAULT_DAYS, MAX_DAYS = 28, 365
#: A person's public reply within this many days of the autonomous answer means it did not resolve.
HOLD_DAYS = 7
#: Outcomes that mean an answer did not resolve the ticket; the first three also mean it was wrong.
UNRESOLVED = frozenset({"negative", "reopened", "corrected", "wants_human", "other"})
WRONG = frozenset({"negative", "reopened", "corrected"})
SOLVED_STATUSES = frozenset({"solved", "closed"})
NO_INTENT = "(none)"
#: What is read of each autonomous reply (columns, not rows: a month of a busy tenant is read at once).
REPLY_COLUMNS = (AutonomyReplyRow.id, AutonomyReplyRow.ticket_id, AutonomyReplyRow.kind, AutonomyReplyRow.state,
                 AutonomyReplyRow.intent, AutonomyReplyRow.created_at, AutonomyReplyRow.posted_at,
                 AutonomyReplyRow.outcome, AutonomyReplyRow.solved_at, AutonomyReplyRow.external_message_id)
#: Ticket ids per ``IN`` list when reading their replies, messages and handoffs.
CHUNK = 5000


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None = Field(description="90th percentile, nearest rank")


class Csat(BaseModel):
    rated: int = Field(description="tickets with a CSAT score")
    mean: float | None


class IntentMeasures(BaseModel):
    intent: str = Field(description="the intent, or `all` for the tenant's whole inbox")
    new_tickets: int
    answers_posted: int = Field(description="autonomous answers posted to these tickets")
    auto_resolved: int
    auto_resolution_rate: float | None = Field(description="auto_resolved / new_tickets")
    wrong_replies: int = Field(description="posted answers whose outcome is negative, reopened or corrected")
    wrong_reply_rate: float | None = Field(description="wrong_replies / answers_posted")
    first_response_autonomous: Durations
    first_response_human: Durations
    csat_autonomous: Csat = Field(description="auto-resolved tickets")
    csat_human: Csat = Field(description="solved tickets a person answered in public")
    handoffs: int


class WeekMeasures(BaseModel):
    start: datetime
    end: datetime
    new_tickets: int
    auto_resolved: int
    auto_resolution_rate: float | None


class HandoffReason(BaseModel):
    reason: str
    description: str
    count: int
    done: int
    done_share: float = Field(description="done / count: handoffs the helpdesk took")


class AutonomyMeasures(BaseModel):
    tenant: str
    days: int
    since: datetime
    until: datetime
    hold_days: int = Field(description="a person's public reply within this many days undoes an auto-resolution")
    overall: IntentMeasures
    intents: list[IntentMeasures]
    weeks: list[WeekMeasures] = Field(description="seven-day spans ending at `until`, oldest first")
    handoffs: list[HandoffReason] = Field(description="by reason, the most frequent first")
    widget: WidgetChannel | None = Field(default=None, description="the help widget's answers as a channel")


@dataclass
class _Ticket:
    """One new ticket and what happened to it, as the measures read it."""

    id: int
    intent: str
    created_at: datetime
    solved: bool
    csat: int | None
    answers: list[Row] = field(default_factory=list)  # REPLY_COLUMNS of its posted answers, oldest first
    answered_at: datetime | None = None  # when the first answer was posted
    human_replies: list[datetime | None] = field(default_factory=list)
    handoffs: int = 0

    @cached_property
    def auto_resolved(self) -> bool:
        """The module's rule; decided once per ticket (the overall, per-intent and weekly figures all ask)."""
        if self.answered_at is None or any(a.outcome in UNRESOLVED for a in self.answers):
            return False
        held_until = self.answered_at + timedelta(days=HOLD_DAYS)
        if any(at is None or clock.aware_utc(at) <= held_until for at in self.human_replies):
            return False
        return self.solved or any(a.solved_at is not None or a.outcome == "confirmed" for a in self.answers)

    def first_response_seconds(self) -> tuple[str, float] | None:
        """("autonomous" or "human", seconds from creation to the first response), or None."""
        if self.answered_at is not None:
            return "autonomous", _seconds(self.created_at, self.answered_at)
        replied = [clock.aware_utc(at) for at in self.human_replies if at is not None]
        return ("human", _seconds(self.created_at, min(replied))) if replied else None


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def autonomy_measures(runtime: Runtime, tenant: str, days: int = DEFAULT_DAYS,
                      now: datetime | None = None) -> AutonomyMeasures:
    """The measures of ``tenant`` over the ``days`` before ``now`` (raises UnknownTenantError)."""
    until = clock.aware_utc(now) if now is not None else clock.utcnow()
    since = until - timedelta(days=days)
    tickets, reasons = _read(runtime, tenant, since, until)
    by_intent: dict[str, list[_Ticket]] = defaultdict(list)
    for ticket in tickets:
        by_intent[ticket.intent].append(ticket)
    return AutonomyMeasures(
        tenant=tenant, days=days, since=since, until=until, hold_days=HOLD_DAYS,
        overall=_group("all", tickets),
        intents=[_group(intent, own) for intent, own in sorted(by_intent.items())],
        weeks=_weeks(tickets, since, until),
        handoffs=[HandoffReason(reason=reason, description=REASONS.get(reason, reason), count=count,
                                done=done, done_share=round(done / count, 4))
                  for reason, (count, done) in sorted(reasons.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        widget=widget_channel(runtime, runtime.db.tenant_id(tenant), since, until),
    )


def _read(runtime: Runtime, tenant: str, since: datetime,
          until: datetime) -> tuple[list[_Ticket], dict[str, tuple[int, int]]]:
    tenant_id = runtime.db.tenant_id(tenant)
    new = (TicketRow.created_at >= since) & (TicketRow.created_at < until)
    with runtime.db.tenant_session(tenant_id) as session:
        columns = (TicketRow.id, TicketRow.intent, TicketRow.created_at, TicketRow.status, TicketRow.solved_at,
                   TicketRow.csat_score)  # not the text: a month of a busy inbox is read at once
        tickets = {row.id: _Ticket(id=row.id, intent=row.intent or NO_INTENT,
                                   created_at=cast(datetime, clock.aware_utc(row.created_at)),  # in the period
                                   solved=row.status in SOLVED_STATUSES or row.solved_at is not None,
                                   csat=row.csat_score)
                   for row in session.execute(select(*columns).where(new))}
        replies: list[Row] = []
        people: list = []
        handoffs: list = []
        for chunk in _chunks(sorted(tickets)):
            replies += session.execute(select(*REPLY_COLUMNS).where(AutonomyReplyRow.ticket_id.in_(chunk)))
            people += session.execute(
                select(MessageRow.ticket_id, MessageRow.created_at, MessageRow.external_id)
                .where(MessageRow.ticket_id.in_(chunk), MessageRow.author_role == "agent", MessageRow.public.is_(True)))
            handoffs += session.execute(
                select(AutonomyHandoffRow.ticket_id, AutonomyHandoffRow.reason, AutonomyHandoffRow.state)
                .where(AutonomyHandoffRow.ticket_id.in_(chunk)))
    replies.sort(key=lambda r: (clock.aware_utc(r.posted_at or r.created_at), r.id))
    ours = {r.external_message_id for r in replies if r.external_message_id}
    for reply in replies:
        if reply.kind == "answer" and reply.state == "posted" and reply.posted_at is not None:
            ticket = tickets[reply.ticket_id]
            if not ticket.answers:  # the first: its time is the first response, its intent the ticket's
                ticket.answered_at = clock.aware_utc(reply.posted_at)
                ticket.intent = reply.intent or ticket.intent
            ticket.answers.append(reply)
    for ticket_id, created_at, external_id in people:
        if external_id is None or external_id not in ours:
            tickets[ticket_id].human_replies.append(created_at)
    counts: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for ticket_id, reason, state in handoffs:
        tickets[ticket_id].handoffs += 1
        counts[reason] += 1
        done[reason] += state == "done"
    return list(tickets.values()), {reason: (counts[reason], done[reason]) for reason in counts}


def _chunks(ids: list[int]) -> list[list[int]]:
    """The ids in slices of :data:`CHUNK`: the ticket-scoped rows are read by ticket id (the tenant
    filter applies only to entities named in the query, so no subquery on the tickets; and a join
    leads SQLite to scan the tenant's messages once per ticket)."""
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _group(intent: str, tickets: list[_Ticket]) -> IntentMeasures:
    resolved = [t for t in tickets if t.auto_resolved]
    answers = [a for t in tickets for a in t.answers]
    wrong = sum(1 for a in answers if a.outcome in WRONG)
    responses: dict[str, list[float]] = {"autonomous": [], "human": []}
    for ticket in tickets:
        found = ticket.first_response_seconds()
        if found is not None:
            responses[found[0]].append(found[1])
    human_solved = [t for t in tickets if t.solved and not t.auto_resolved and t.human_replies]
    return IntentMeasures(
        intent=intent, new_tickets=len(tickets), answers_posted=len(answers), auto_resolved=len(resolved),
        auto_resolution_rate=_rate(len(resolved), len(tickets)), wrong_replies=wrong,
        wrong_reply_rate=_rate(wrong, len(answers)),
        first_response_autonomous=_durations(responses["autonomous"]),
        first_response_human=_durations(responses["human"]),
        csat_autonomous=_csat(resolved), csat_human=_csat(human_solved),
        handoffs=sum(t.handoffs for t in tickets),
    )


def _weeks(tickets: list[_Ticket], since: datetime, until: datetime) -> list[WeekMeasures]:
    """Seven-day spans back from ``until``; the oldest is cut at ``since`` when the days are not whole weeks."""
    weeks = []
    end = until
    while end > since:
        start = max(since, end - timedelta(days=7))
        own = [t for t in tickets if start <= t.created_at < end]
        resolved = sum(1 for t in own if t.auto_resolved)
        weeks.append(WeekMeasures(start=start, end=end, new_tickets=len(own), auto_resolved=resolved,
                                  auto_resolution_rate=_rate(resolved, len(own))))
        end = start
    return weeks[::-1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations(count=0, median_seconds=None, p90_seconds=None)
    ordered = sorted(values)
    return Durations(count=len(ordered), median_seconds=round(statistics.median(ordered), 1),
                     p90_seconds=round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1))


def _csat(tickets: list[_Ticket]) -> Csat:
    scores = [t.csat for t in tickets if t.csat is not None]
    return Csat(rated=len(scores), mean=round(sum(scores) / len(scores), 3) if scores else None)
