"""Shadow mode live: for a new ticket of an intent in shadow, the reply Deskloop would have sent is
stored (never posted), then compared with what the agent sent and judged by the backtest's rule
(:mod:`.judging`); a later reopen or bad rating turns a right reply wrong.

Four listeners on the helpdesk events (:mod:`core.dispatch.listeners`) do it:

- ``autonomy-shadow`` (a job, after ``ticket_created``): suggests for the ticket and asks
  :func:`~core.autonomy.policy.decide_mode` about the predicted intent; ``shadow`` is recorded, and so
  is ``autonomous`` (the row keeps the mode it was given: autonomous tickets stay evidence), which
  then goes to :func:`core.autonomy.responder.answer_new_ticket` to be answered or handed off. One
  row per ticket (a unique key): a re-delivered event, or the job run twice, adds none.
  The job is only queued while the tenant has an intent in shadow or autonomous.
- ``autonomy-shadow-compare`` (inline, after ``agent_replied``): the agent's first public reply
  compared with the stored draft (:func:`~core.learning.feedback.text_similarity`, as the learning
  loop's draft-versus-sent signal does).
- ``autonomy-shadow-outcome`` (inline, after ``reopened`` and ``csat_received``): the agent's reply
  did not hold, so neither would Deskloop's.
- ``autonomy-follow-up`` (a job, after ``customer_replied``, ``reopened`` and ``agent_replied``, while
  an intent is autonomous): what the customer or an agent did after an autonomous reply.

The predicted intent counts as right unless the ticket carries another intent when the agent's
reply arrives (the helpdesk's field, or a label source): a live ticket often has no label at all.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select

from core.autonomy.judging import is_bad_csat, judged_right
from core.autonomy.policy import Mode, decide_mode, policy_of
from core.autonomy.responder import (
    agent_touched,
    answer_new_ticket,
    customer_wrote,
    resume_new_ticket,
    ticket_facts,
    ticket_reopened,
)
from core.dispatch.listeners import Occurrence, listen
from core.events import HelpdeskEvent
from core.learning.feedback import text_similarity
from core.learning.training import registry_for
from core.runtime import Runtime
from core.store.db import upsert_insert
from core.store.tables import AutonomyShadowRow, MessageRow, TicketRow
from core.suggesting.suggest import suggest_for_ticket
from core.text.limits import MESSAGE_RAW_CHARS
from core.text.normalize import clean_message
from core.types import Message

log = logging.getLogger(__name__)

#: The modes whose tickets get a shadow row (an autonomous one is also answered or handed off).
SHADOWED = (Mode.SHADOW, Mode.AUTONOMOUS)


def shadow_wanted(runtime: Runtime, tenant: str) -> bool:
    """Whether any intent of the tenant is in shadow or autonomous (from the cached policy)."""
    return any(mode in SHADOWED for mode in policy_of(runtime, tenant).modes.values())


def record_shadow(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str) -> str:
    """Suggest for the ticket and store the reply Deskloop would have sent when its predicted
    intent is in shadow (or autonomous); returns what was done."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        ticket = session.execute(
            select(TicketRow.id, TicketRow.organization, TicketRow.requester_email)
            .where(TicketRow.source == helpdesk, TicketRow.external_id == ticket_external_id)).first()
        if ticket is None:
            return "no such ticket"
        recorded = session.execute(select(AutonomyShadowRow.mode, AutonomyShadowRow.suggestion_id)
                                   .where(AutonomyShadowRow.ticket_id == ticket.id)).first()
    if recorded is not None:
        if recorded.mode != Mode.AUTONOMOUS.value:
            return "already recorded"
        # A retried job (a handoff the helpdesk refused, a worker killed mid-post) goes on where the
        # last run stopped: the reply's claim and the handoff's row say what is already done.
        return "already recorded; " + resume_new_ticket(runtime, tenant, ticket.id, recorded.suggestion_id)
    if registry_for(runtime, tenant).current_version() is None:
        return "no model yet"
    suggestion = suggest_for_ticket(runtime, tenant, ticket.id)
    if suggestion is None:
        return "no such ticket"
    decision = decide_mode(runtime, tenant, suggestion.intent, ticket.organization or ticket.requester_email)
    if decision.mode not in SHADOWED:
        return f"not shadowed: {decision.reason}"
    with runtime.db.transaction(tenant_id) as session:
        dialect = session.get_bind().dialect.name
        session.execute(upsert_insert(dialect, AutonomyShadowRow.__table__).on_conflict_do_nothing(
            index_elements=["tenant_id", "ticket_id"]).values(
            tenant_id=tenant_id, ticket_id=ticket.id, suggestion_id=suggestion.id, intent=suggestion.intent,
            mode=decision.mode.value, confidence=float(suggestion.confidence), abstained=suggestion.abstained,
            draft=suggestion.draft, model_version=suggestion.model_version, created_at=datetime.now(UTC),
            reopened=False, bad_csat=False))
    _catch_up(runtime, tenant_id, ticket.id)
    done = f"shadow reply recorded ({decision.reason})" + (": abstained" if suggestion.abstained else "")
    if decision.mode is not Mode.AUTONOMOUS:
        return done
    facts = ticket_facts(runtime, tenant_id, ticket.id)
    return done if facts is None else f"{done}; {answer_new_ticket(runtime, tenant, facts, suggestion)}"


def _catch_up(runtime: Runtime, tenant_id: int, ticket_id: int) -> None:
    """What happened to the ticket before its shadow row was stored (a queued job can run after
    the agent already answered): the agent's first public reply, a reopen, a rating."""
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(AutonomyShadowRow).where(AutonomyShadowRow.ticket_id == ticket_id)
                             .with_for_update())
        ticket = session.execute(select(TicketRow.intent, TicketRow.reopen_count, TicketRow.csat_score)
                                 .where(TicketRow.id == ticket_id)).first()
        sent = session.scalar(select(MessageRow.body).where(
            MessageRow.ticket_id == ticket_id, MessageRow.author_role == "agent", MessageRow.public.is_(True))
            .order_by(MessageRow.created_at, MessageRow.position).limit(1))
        if row is None or ticket is None:
            return
        row.reopened = row.reopened or bool(ticket.reopen_count)
        row.bad_csat = row.bad_csat or is_bad_csat(ticket.csat_score)
        if sent and row.compared_at is None:
            _compare(row, ticket.intent, sent)
        _judge(row)


def compare_reply(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str, sent: str) -> bool:
    """Compare the agent's public reply ``sent`` with the ticket's shadow reply (the first reply
    only); returns whether a shadow reply was compared."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row, labelled = _locked_shadow(session, helpdesk, ticket_external_id)
        if row is None or row.compared_at is not None:
            return False
        _compare(row, labelled, sent)
        _judge(row)
    return True


def _compare(row: AutonomyShadowRow, labelled: str | None, sent: str) -> None:
    """The agent's reply ``sent`` against the shadow draft; ``labelled``: the ticket's intent now."""
    row.compared_at = datetime.now(UTC)
    row.similarity = round(text_similarity(row.draft, sent), 4) if row.would_send and row.draft else None
    row.intent_right = labelled is None or labelled == row.intent


def record_outcome(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str, *,
                   reopened: bool = False, csat_score: int | None = None) -> bool:
    """A reopen or a bad rating of the ticket: its shadow reply can no longer be right. Returns
    whether a shadow row changed."""
    bad = is_bad_csat(csat_score)
    if not (reopened or bad):
        return False
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row, _ = _locked_shadow(session, helpdesk, ticket_external_id)
        if row is None:
            return False
        row.reopened = row.reopened or reopened
        row.bad_csat = row.bad_csat or bad
        _judge(row)
    return True


def _locked_shadow(session, helpdesk: str, ticket_external_id: str) -> tuple[AutonomyShadowRow | None, str | None]:
    """The ticket's shadow row, locked, and the intent the ticket carries now (its label)."""
    ticket = session.execute(select(TicketRow.id, TicketRow.intent).where(
        TicketRow.source == helpdesk, TicketRow.external_id == ticket_external_id)).first()
    if ticket is None:
        return None, None
    row = session.scalar(select(AutonomyShadowRow).where(AutonomyShadowRow.ticket_id == ticket.id).with_for_update())
    return row, ticket.intent


def _judge(row: AutonomyShadowRow) -> None:
    if row.compared_at is not None:
        row.right = judged_right(row.would_send, bool(row.intent_right), row.similarity, row.reopened, row.bad_csat)


# The listeners ----------------------------------------------------------------------------------


def _wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return shadow_wanted(runtime, occurrence.tenant)


@listen("autonomy-shadow", "event", ("ticket_created",), as_job=True, wanted=_wanted)
def _record_shadow(runtime: Runtime, occurrence: Occurrence) -> str:
    return record_shadow(runtime, occurrence.tenant, occurrence.source, occurrence.data["ticket_external_id"])


@listen("autonomy-shadow-compare", "event", ("agent_replied",))
def _compare_reply(runtime: Runtime, occurrence: Occurrence) -> None:
    event = HelpdeskEvent.model_validate(occurrence.data)
    message = cast(Message, event.message)  # a checked agent_replied carries its message
    if message.public and not event.from_deskloop:  # Deskloop's own reply is not the agent's
        compare_reply(runtime, occurrence.tenant, occurrence.source, event.ticket_external_id,
                      clean_message(message.body, MESSAGE_RAW_CHARS))


@listen("autonomy-shadow-outcome", "event", ("reopened", "csat_received"))
def _record_outcome(runtime: Runtime, occurrence: Occurrence) -> None:
    event = HelpdeskEvent.model_validate(occurrence.data)
    record_outcome(runtime, occurrence.tenant, occurrence.source, event.ticket_external_id,
                   reopened=event.kind == "reopened", csat_score=event.csat.score if event.csat else None)


def _autonomous_wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return any(mode is Mode.AUTONOMOUS for mode in policy_of(runtime, occurrence.tenant).modes.values())


@listen("autonomy-follow-up", "event", ("customer_replied", "reopened", "agent_replied"), as_job=True,
        wanted=_autonomous_wanted)
def _follow_up(runtime: Runtime, occurrence: Occurrence) -> str:
    """After an autonomous reply: the customer's answer, a reopen, or an agent touching the ticket
    (:mod:`core.autonomy.responder`). Deskloop's own reply echoed back by the helpdesk is not a touch."""
    event = HelpdeskEvent.model_validate(occurrence.data)
    tenant, source, ticket = occurrence.tenant, occurrence.source, event.ticket_external_id
    if event.kind == "reopened":
        return ticket_reopened(runtime, tenant, source, ticket, event.event_id)
    if event.from_deskloop or event.message is None:
        return "Deskloop's own message"
    if event.kind == "agent_replied":
        return agent_touched(runtime, tenant, source, ticket, event.event_id)
    return customer_wrote(runtime, tenant, source, ticket, clean_message(event.message.body, MESSAGE_RAW_CHARS),
                          event.message.author_role, event.event_id)
