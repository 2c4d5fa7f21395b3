"""Autonomous replies: a new ticket of an autonomous intent answered by Deskloop itself, and what
the customer's next move does to it.

A new ticket (the ``autonomy-shadow`` job, :mod:`core.autonomy.shadow`, whose decision was
``autonomous``) goes through the loop guards, then either gets the draft posted as a public reply
tagged ``deskloop-auto`` (the ticket left pending), or goes to a person (:mod:`.handoff`):

- never answered, nothing done: a machine-written message (auto-reply, bounce, another bot), or
  a ticket a person already replied to;
- handed off: the customer writes in a language the tenant has not enabled (with the holding
  message in that language), Deskloop abstains (unfamiliar, ambiguous, unsure), the confidence is
  under the intent's threshold, there is no draft, or the tenant's hourly cap is reached.

The customer's next message is read (:mod:`.answers`): a confirmation is a positive signal and, if
the tenant chose it, solves the ticket; a negative answer or a request for a person hands off, and
so does any other message (one autonomous reply per ticket within the reply window). A reopen,
or an agent touching the ticket, hands off too. The kill switch and the modes are read through the
cached policy (:mod:`.policy`), which every process refreshes within a second.

A reply is posted at most once: its row is claimed and committed before the helpdesk is called,
and a run that finds the claim does not post. A claim whose post never finished (a killed
process) is handed off as ``reply_unknown`` rather than posted again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import func, select

from core import clock
from core.autonomy.answers import read_answer
from core.autonomy.automated import automated_reason
from core.autonomy.handoff import HandoffContext, hand_off, handed_off
from core.autonomy.language import detect_language, holding_message
from core.autonomy.policy import Mode, Policy, decide_mode, policy_of
from core.helpdesk.connections import connection
from core.helpdesk.contract import HelpdeskError, ReplyFollowUpFailed, integration
from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.db import upsert_insert
from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, MessageRow, SuggestionRow, TicketRow
from core.suggesting.suggest import suggest_for_ticket
from core.types import Signal, Suggestion

log = logging.getLogger(__name__)

AbstainReason = Literal["unfamiliar", "ambiguous", "low_confidence"] | None

#: The tag every autonomous reply leaves on its ticket (reports and the helpdesk's views find them).
AUTO_TAG = "deskloop-auto"
#: A claim older than this without a posted reply belongs to a process that died mid-post.
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class TicketFacts:
    id: int
    external_id: str
    source: str
    subject: str
    requester_email: str | None
    account: str | None  # the organization, else the requester (the sensitive list's names)
    first_message: str
    first_author: str
    first_message_key: str
    human_replied: bool


def ticket_facts(runtime: Runtime, tenant_id: int, ticket_id: int) -> TicketFacts | None:
    """What the guards read about a ticket: its first customer message and whether a person replied."""
    with runtime.db.tenant_session(tenant_id) as session:
        ticket = session.get(TicketRow, ticket_id)
        if ticket is None:
            return None
        messages = list(session.scalars(select(MessageRow).where(MessageRow.ticket_id == ticket_id)
                                        .order_by(MessageRow.created_at, MessageRow.position)))
        first = next((m for m in messages if m.author_role != "agent"), None)
        # A public agent message is a person's reply (Deskloop's own notes are private, and
        # Deskloop has posted nothing yet when this is read).
        human = any(m.author_role == "agent" and m.public for m in messages)
        return TicketFacts(
            id=ticket.id, external_id=ticket.external_id, source=ticket.source, subject=ticket.subject or "",
            requester_email=ticket.requester_email, account=ticket.organization or ticket.requester_email,
            first_message=first.body if first else "",
            first_author=first.author_role if first else "customer",
            first_message_key="first" if first is None or not first.external_id else f"message:{first.external_id}",
            human_replied=human)


def answer_new_ticket(runtime: Runtime, tenant: str, facts: TicketFacts, suggestion: Suggestion) -> str:
    """Answer the ticket on its own, or hand it off (see the module docstring). Returns what was done."""
    existing = _reply_row(runtime, runtime.db.tenant_id(tenant), facts.id, facts.first_message_key)
    if existing is not None:  # a run again: settled from what the last one left (never posted twice)
        return _settle_existing(runtime, tenant, facts, existing, suggestion, policy_of(runtime, tenant))
    machine = automated_reason(facts.subject, facts.first_message, facts.requester_email, facts.first_author)
    if machine:
        return f"not answered: {machine}"
    if facts.human_replied:
        return "not answered: a person already replied"
    return _answer(runtime, tenant, facts, suggestion, facts.first_message_key,
                   f"{facts.subject}\n{facts.first_message}", "new")


def resume_new_ticket(runtime: Runtime, tenant: str, ticket_id: int, suggestion_id: int | None) -> str:
    """A new ticket's job run again after its shadow row was stored: :func:`answer_new_ticket` with
    the suggestion made then (a reply already claimed is never posted again; a handoff not yet done
    is tried again)."""
    tenant_id = runtime.db.tenant_id(tenant)
    suggestion = _suggestion(runtime, tenant, suggestion_id)
    facts = ticket_facts(runtime, tenant_id, ticket_id)
    if suggestion is None or facts is None:
        return "nothing to resume"
    with runtime.db.tenant_session(tenant_id) as session:
        started = session.execute(select(AutonomyHandoffRow.trigger, AutonomyHandoffRow.reason).where(
            AutonomyHandoffRow.ticket_id == ticket_id, AutonomyHandoffRow.trigger.like("new:%"))).first()
    if started is not None:  # decided already: the same handoff, never a reply decided afresh
        context = _context(suggestion, policy_of(runtime, tenant), None, facts.first_message)
        return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger=started.trigger,
                        reason=started.reason, context=context)
    return answer_new_ticket(runtime, tenant, facts, suggestion)


def _answer(runtime: Runtime, tenant: str, facts: TicketFacts, suggestion: Suggestion, answers: str, text: str,
            trigger: str) -> str:
    """Answer the customer message ``answers`` (its words: ``text``) or hand the ticket off."""
    tenant_id = runtime.db.tenant_id(tenant)
    policy = policy_of(runtime, tenant)
    existing = _reply_row(runtime, tenant_id, facts.id, answers)
    if existing is not None:
        return _settle_existing(runtime, tenant, facts, existing, suggestion, policy)
    language, _ = detect_language(text)
    context = _context(suggestion, policy, language, text)
    reason = _handoff_reason(runtime, tenant_id, policy, suggestion, language)
    if reason is not None:
        if reason == "language":
            _post_holding(runtime, tenant, tenant_id, facts, answers, policy, language)
        return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger=f"{trigger}:{reason}",
                        reason=reason, context=context)
    return _post_answer(runtime, tenant, tenant_id, facts, answers, suggestion, language, context, trigger)


def _handoff_reason(runtime: Runtime, tenant_id: int, policy: Policy, suggestion: Suggestion,
                    language: str | None) -> str | None:
    if language is not None and language not in policy.config.languages:
        return "language"
    if suggestion.abstained:
        return suggestion.abstain_reason or "low_confidence"
    if suggestion.confidence < policy.threshold_for(suggestion.intent):
        return "below_threshold"
    if not suggestion.draft:
        return "no_draft"
    if _posted_last_hour(runtime, tenant_id) >= policy.config.rate_per_hour:
        return "rate_cap"
    return None


def _context(suggestion: Suggestion | None, policy: Policy, language: str | None, customer_text: str,
             answered: str | None = None) -> HandoffContext:
    if suggestion is None:
        return HandoffContext(intent=None, confidence=None, threshold=None, answered=answered, would_have=None,
                              evidence=(), language=language, customer_text=customer_text)
    return HandoffContext(
        intent=suggestion.intent, confidence=float(suggestion.confidence),
        threshold=policy.threshold_for(suggestion.intent) if suggestion.intent else None,
        answered=answered, would_have=None if answered else suggestion.draft,
        evidence=tuple(e.external_id for e in suggestion.evidence[:3]), language=language,
        customer_text=customer_text, suggestion_id=suggestion.id, model_version=suggestion.model_version)


def _post_answer(runtime: Runtime, tenant: str, tenant_id: int, facts: TicketFacts, answers: str,
                 suggestion: Suggestion, language: str | None, context: HandoffContext, trigger: str) -> str:
    body = suggestion.draft or ""
    if not _claim(runtime, tenant_id, facts.id, answers, "answer", body, suggestion, language):
        return "not answered: another run holds the reply"
    try:
        message_id = integration(facts.source).client(connection(runtime, tenant)).post_reply(
            facts.external_id, body, tags=[AUTO_TAG], status="pending")
    except ReplyFollowUpFailed as exc:  # the customer has the answer; only its tag or status is missing
        log.warning("answered %s ticket %s of %s, then could not tag it or set its status: %s", facts.source,
                    facts.external_id, tenant, exc)
        message_id = exc.reply_id
    except HelpdeskError as exc:
        _settle(runtime, tenant_id, facts.id, answers, "failed", error=str(exc)[:2000])
        return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger=f"{trigger}:reply_failed",
                        reason="reply_failed", context=context, detail=type(exc).__name__)
    _settle(runtime, tenant_id, facts.id, answers, "posted", message_id=message_id)
    log.info("answered %s ticket %s of %s on its own (%s)", facts.source, facts.external_id, tenant, suggestion.intent)
    return f"answered on its own: {suggestion.intent}"


def _post_holding(runtime: Runtime, tenant: str, tenant_id: int, facts: TicketFacts, answers: str, policy: Policy,
                  language: str | None) -> None:
    """The holding message of a language handoff, in the customer's language (posted at most once;
    a failure leaves the handoff to say the rest)."""
    text = holding_message(language, policy.config.holding_templates)
    key = f"holding:{answers}"
    if not _claim(runtime, tenant_id, facts.id, key, "holding", text, None, language):
        return
    try:
        message_id = integration(facts.source).client(connection(runtime, tenant)).post_reply(
            facts.external_id, text, tags=[AUTO_TAG], status=None)
    except ReplyFollowUpFailed as exc:
        message_id = exc.reply_id
    except HelpdeskError as exc:
        _settle(runtime, tenant_id, facts.id, key, "failed", error=str(exc)[:2000])
        return
    _settle(runtime, tenant_id, facts.id, key, "posted", message_id=message_id)


def _settle_existing(runtime: Runtime, tenant: str, facts: TicketFacts, row: AutonomyReplyRow,
                     suggestion: Suggestion, policy: Policy) -> str:
    """A second run for a message already claimed: never post again; a claim left by a process
    that died mid-post is handed to a person, who can see whether the customer got it."""
    if row.state == "failed" and row.kind == "answer":  # its handoff may have failed too: tried again
        return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger="new:reply_failed",
                        reason="reply_failed", context=_context(suggestion, policy, row.language, facts.first_message))
    if row.state != "claimed" or clock.utcnow() - clock.aware_utc(row.created_at) < STALE_CLAIM:
        return f"already {row.state}"
    tenant_id = runtime.db.tenant_id(tenant)
    _settle(runtime, tenant_id, facts.id, row.answers, "unknown")
    return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger="new:reply_unknown",
                    reason="reply_unknown", context=_context(suggestion, policy, row.language, facts.first_message,
                                                             answered=row.body))


# After the reply -------------------------------------------------------------------------------


def customer_wrote(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str, text: str,
                   author_role: str, event_id: str) -> str:
    """The customer's message after an autonomous reply: confirm, or hand off (module docstring)."""
    found = _answered_ticket(runtime, tenant, helpdesk, ticket_external_id)
    if found is None:
        return "no autonomous reply on the ticket"
    tenant_id, facts, row = found
    if automated_reason("", text, facts.requester_email, author_role):
        return "ignored: machine-written"  # an out-of-office answering our reply is not an answer
    answer = read_answer(text)
    outcome = {"confirmed": "confirmed", "negative": "negative", "wants_human": "wants_human"}.get(answer, "other")
    _record_outcome(runtime, tenant_id, row.id, outcome)
    if answer == "confirmed":
        record_signal(runtime, tenant, Signal(kind="confirmed", ticket_id=facts.id, suggestion_id=row.suggestion_id,
                                              actor="customer", source_event=f"autonomy:{event_id}"))
        return _solve_if_chosen(runtime, tenant, tenant_id, facts, row)
    if handed_off(runtime, tenant_id, facts.id):
        return "already with a person"
    if answer == "negative":
        record_signal(runtime, tenant, Signal(kind="not_helpful", ticket_id=facts.id, suggestion_id=row.suggestion_id,
                                              actor="customer", source_event=f"autonomy:{event_id}"))
    if answer == "other" and _window_passed(runtime, tenant, row):
        return _answer_again(runtime, tenant, facts, event_id, text)
    reason = {"negative": "negative_answer", "wants_human": "asked_for_person"}.get(answer, "follow_up")
    return _hand_off_after(runtime, tenant, facts, row, reason, event_id, text)


def _window_passed(runtime: Runtime, tenant: str, row: AutonomyReplyRow) -> bool:
    """Whether the last autonomous reply is older than the tenant's reply window (one per window)."""
    window = timedelta(hours=policy_of(runtime, tenant).config.reply_window_hours)
    return row.posted_at is not None and clock.utcnow() - clock.aware_utc(row.posted_at) >= window


def _answer_again(runtime: Runtime, tenant: str, facts: TicketFacts, event_id: str, text: str) -> str:
    """A new question on a ticket whose reply window has passed: decided like a new ticket."""
    suggestion = suggest_for_ticket(runtime, tenant, facts.id)
    if suggestion is None:
        return "no such ticket"
    decision = decide_mode(runtime, tenant, suggestion.intent, facts.account)
    if decision.mode is not Mode.AUTONOMOUS:
        context = _context(suggestion, policy_of(runtime, tenant), None, text)
        return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger=f"event:{event_id}",
                        reason="follow_up", context=context, detail=decision.reason)
    return _answer(runtime, tenant, facts, suggestion, f"event:{event_id}"[:128], text, f"event:{event_id}")


def ticket_reopened(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str, event_id: str) -> str:
    found = _answered_ticket(runtime, tenant, helpdesk, ticket_external_id)
    if found is None:
        return "no autonomous reply on the ticket"
    tenant_id, facts, row = found
    _record_outcome(runtime, tenant_id, row.id, "reopened", overrides=True)
    return _hand_off_after(runtime, tenant, facts, row, "reopened", event_id, facts.first_message)


def agent_touched(runtime: Runtime, tenant: str, helpdesk: str, ticket_external_id: str, event_id: str) -> str:
    """A person replied or wrote a note on a ticket Deskloop answered: the person has it now."""
    found = _answered_ticket(runtime, tenant, helpdesk, ticket_external_id)
    if found is None:
        return "no autonomous reply on the ticket"
    tenant_id, facts, row = found
    _record_outcome(runtime, tenant_id, row.id, "corrected")
    if handed_off(runtime, tenant_id, facts.id):
        return "already with a person"
    return _hand_off_after(runtime, tenant, facts, row, "agent_took_over", event_id, facts.first_message, route=False)


def _hand_off_after(runtime: Runtime, tenant: str, facts: TicketFacts, row: AutonomyReplyRow, reason: str,
                    event_id: str, text: str, route: bool = True) -> str:
    suggestion = _suggestion(runtime, tenant, row.suggestion_id)
    context = _context(suggestion, policy_of(runtime, tenant), row.language, text, answered=row.body)
    return hand_off(runtime, tenant, facts.id, facts.source, facts.external_id, trigger=f"event:{event_id}",
                    reason=reason, context=context, route=route)


def _solve_if_chosen(runtime: Runtime, tenant: str, tenant_id: int, facts: TicketFacts, row: AutonomyReplyRow) -> str:
    if policy_of(runtime, tenant).config.status_after_reply == "pending" or row.solved_at is not None:
        return "confirmed"
    integration(facts.source).client(connection(runtime, tenant)).set_status(facts.external_id, "solved")
    with runtime.db.transaction(tenant_id) as session:
        stored = session.get(AutonomyReplyRow, row.id)
        if stored is not None:
            stored.solved_at = clock.utcnow()
    return "confirmed: solved"


def solve_quiet_replies(runtime: Runtime, tenant: str, now: datetime | None = None) -> int:
    """Solve the tickets whose autonomous reply had no answer for the tenant's N days (when it
    chose ``solved_after_days``); returns how many. Run by the scheduler."""
    config = policy_of(runtime, tenant).config
    if config.status_after_reply != "solved_after_days":
        return 0
    tenant_id = runtime.db.tenant_id(tenant)
    before = (now or clock.utcnow()) - timedelta(days=config.solve_after_days)
    with runtime.db.tenant_session(tenant_id) as session:
        quiet = list(session.execute(
            select(AutonomyReplyRow.id, TicketRow.source, TicketRow.external_id)
            .join(TicketRow, TicketRow.id == AutonomyReplyRow.ticket_id)
            .where(AutonomyReplyRow.kind == "answer", AutonomyReplyRow.state == "posted",
                   AutonomyReplyRow.outcome.is_(None), AutonomyReplyRow.solved_at.is_(None),
                   AutonomyReplyRow.posted_at <= before)))
    solved = 0
    for row_id, source, external_id in quiet:
        try:
            integration(source).client(connection(runtime, tenant)).set_status(external_id, "solved")
        except HelpdeskError as exc:
            log.warning("could not solve %s ticket %s of %s: %s", source, external_id, tenant, exc)
            continue
        with runtime.db.transaction(tenant_id) as session:
            stored = session.get(AutonomyReplyRow, row_id)
            if stored is not None:
                stored.solved_at = clock.utcnow()
        solved += 1
    return solved


# Rows ------------------------------------------------------------------------------------------


def _claim(runtime: Runtime, tenant_id: int, ticket_id: int, answers: str, kind: str, body: str,
           suggestion: Suggestion | None, language: str | None) -> bool:
    """Claim the reply to ``answers`` (committed before any post); False when a claim exists."""
    with runtime.db.transaction(tenant_id) as session:
        dialect = session.get_bind().dialect.name
        result = session.execute(upsert_insert(dialect, AutonomyReplyRow.__table__).on_conflict_do_nothing(
            index_elements=["tenant_id", "ticket_id", "answers"]).values(
            tenant_id=tenant_id, ticket_id=ticket_id, answers=answers, kind=kind, state="claimed", body=body,
            suggestion_id=suggestion.id if suggestion else None, intent=suggestion.intent if suggestion else None,
            confidence=float(suggestion.confidence) if suggestion else None, language=language,
            created_at=clock.utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for an INSERT


def _settle(runtime: Runtime, tenant_id: int, ticket_id: int, answers: str, state: str, *,
            message_id: str | None = None, error: str | None = None) -> None:
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(AutonomyReplyRow).where(AutonomyReplyRow.ticket_id == ticket_id,
                                                            AutonomyReplyRow.answers == answers).with_for_update())
        if row is None:
            return
        row.state, row.error = state, error
        if state == "posted":
            row.posted_at, row.external_message_id = clock.utcnow(), message_id


def _reply_row(runtime: Runtime, tenant_id: int, ticket_id: int, answers: str) -> AutonomyReplyRow | None:
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.scalar(select(AutonomyReplyRow).where(AutonomyReplyRow.ticket_id == ticket_id,
                                                            AutonomyReplyRow.answers == answers))
        if row is not None:
            session.expunge(row)
        return row


def _posted_last_hour(runtime: Runtime, tenant_id: int) -> int:
    since = clock.utcnow() - timedelta(hours=1)
    with runtime.db.tenant_session(tenant_id) as session:
        return session.scalar(select(func.count(AutonomyReplyRow.id)).where(
            AutonomyReplyRow.kind == "answer", AutonomyReplyRow.state.in_(("claimed", "posted")),
            AutonomyReplyRow.created_at >= since)) or 0


def _answered_ticket(runtime: Runtime, tenant: str, helpdesk: str,
                     ticket_external_id: str) -> tuple[int, TicketFacts, AutonomyReplyRow] | None:
    """The ticket and its latest posted autonomous answer, or ``None``."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.source == helpdesk,
                                                              TicketRow.external_id == ticket_external_id))
        if ticket_id is None:
            return None
        row = session.scalar(select(AutonomyReplyRow).where(
            AutonomyReplyRow.ticket_id == ticket_id, AutonomyReplyRow.kind == "answer",
            AutonomyReplyRow.state == "posted").order_by(AutonomyReplyRow.posted_at.desc()).limit(1))
        if row is not None:
            session.expunge(row)
    facts = ticket_facts(runtime, tenant_id, ticket_id) if row is not None else None
    if row is None or facts is None:
        return None
    return tenant_id, facts, row


def _record_outcome(runtime: Runtime, tenant_id: int, row_id: int, outcome: str, overrides: bool = False) -> None:
    """The answer's first outcome; a reopen overrides a confirmation (the answer did not hold)."""
    with runtime.db.transaction(tenant_id) as session:
        row = session.get(AutonomyReplyRow, row_id, with_for_update=True)
        if row is not None and (row.outcome is None or (overrides and row.outcome not in ("negative", "corrected"))):
            row.outcome, row.outcome_at = outcome, clock.utcnow()


def _suggestion(runtime: Runtime, tenant: str, suggestion_id: int | None) -> Suggestion | None:
    if suggestion_id is None:
        return None
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.get(SuggestionRow, suggestion_id)
        if row is None:
            return None
        return Suggestion(id=row.id, ticket_id=row.ticket_id, intent=row.intent, confidence=row.confidence,
                          abstained=row.abstained, abstain_reason=cast(AbstainReason, row.abstain_reason),
                          draft=row.draft, model_version=row.model_version, evidence=row.evidence or [])

