"""Safe handoff: a ticket Deskloop will not (or no longer) answer goes to a person with the context.

The person gets an internal note saying what Deskloop answered or would have, why it hands off,
the evidence (intent, confidence against the intent's threshold, the resolved tickets the draft
came from, the language) and the customer's sentiment; the ticket is set open and routed to the
tenant's group for the intent. The handoff is an ``escalated`` learning signal, with what the AI
knew then.

A handoff is at least once, a reply at most once (:mod:`core.autonomy.responder`): a second note
costs an agent a glance, a lost handoff leaves a customer waiting. The row (unique per ticket and
trigger) is written first; a failed helpdesk call leaves it ``failed`` with the error and the job's
retry tries again, while a re-delivered event finds it ``done`` and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from core import clock
from core.autonomy.policy import policy_of
from core.helpdesk.connections import connection
from core.helpdesk.contract import HelpdeskError, integration
from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.db import upsert_insert
from core.store.tables import AutonomyHandoffRow
from core.text.sentiment import analyze
from core.types import Signal

log = logging.getLogger(__name__)

#: Why Deskloop hands a ticket to a person, as the note and the measures name it.
REASONS: dict[str, str] = {
    "unfamiliar": "the question is unlike anything in the resolved tickets",
    "ambiguous": "the question fits more than one intent",
    "low_confidence": "the model is not sure enough of the intent",
    "below_threshold": "the confidence is under the intent's threshold for autonomous replies",
    "no_draft": "no resolved ticket is close enough to answer from",
    "language": "the customer writes in a language not enabled for autonomous replies",
    "rate_cap": "the tenant's hourly cap of autonomous replies is reached",
    "negative_answer": "the customer said the answer did not help",
    "asked_for_person": "the customer asked for a person",
    "follow_up": "the customer wrote again after the autonomous reply",
    "reopened": "the ticket was reopened after the autonomous reply",
    "agent_took_over": "an agent touched the ticket",
    "reply_failed": "the helpdesk refused the autonomous reply",
    "reply_unknown": "an autonomous reply may not have reached the customer",
}
#: The sections every note carries (what "a complete note" means in the measures and the benchmark).
NOTE_SECTIONS = ("Why Deskloop hands off:", "Deskloop's reply:", "Evidence:", "Customer sentiment:")


@dataclass(frozen=True)
class HandoffContext:
    """What the note says about the ticket: the intent and confidence Deskloop saw, the reply it
    posted or would have posted, where the draft came from, and the customer's words."""

    intent: str | None
    confidence: float | None
    threshold: float | None
    answered: str | None  # the reply Deskloop posted
    would_have: str | None  # the draft it would have sent (when it posted nothing)
    evidence: tuple[str, ...]  # external ids of the resolved tickets the draft came from
    language: str | None
    customer_text: str
    suggestion_id: int | None = None
    model_version: str | None = None


def compose_note(reason: str, context: HandoffContext, detail: str | None = None) -> tuple[str, float]:
    """The internal note and the customer's sentiment score (-1 angry .. 1 pleased)."""
    tone = analyze(context.customer_text or "")
    if context.answered:
        reply = f"Deskloop answered on its own:\n{context.answered}"
    elif context.would_have:
        reply = f"Deskloop would have answered (not sent):\n{context.would_have}"
    else:
        reply = "Deskloop had no answer to offer."
    confidence = "no confidence" if context.confidence is None else f"confidence {context.confidence:.0%}"
    if context.threshold is not None:
        confidence += f" (autonomous replies need {context.threshold:.0%})"
    evidence = [f"intent: {context.intent or 'unknown'}, {confidence}",
                f"language: {context.language or 'not detected'}"]
    if context.evidence:
        evidence.append("drafted from resolved tickets: " + ", ".join(context.evidence))
    if context.model_version:
        evidence.append(f"model version: {context.model_version}")
    why = REASONS.get(reason, reason) + (f" ({detail})" if detail else "")
    lines = [
        "Deskloop hands this ticket to a person.",
        "",
        f"{NOTE_SECTIONS[0]} {why}.",
        "",
        f"{NOTE_SECTIONS[1]}",
        reply,
        "",
        NOTE_SECTIONS[2],
        *(f"- {item}" for item in evidence),
        "",
        f"{NOTE_SECTIONS[3]} {tone.sentiment} ({tone.score:+.2f})" + (", urgent" if tone.urgent else ""),
    ]
    return "\n".join(lines), tone.score


def note_is_complete(note: str) -> bool:
    """Whether a note carries every section a person needs (the benchmark's "complete note")."""
    return all(section in note for section in NOTE_SECTIONS)


def hand_off(runtime: Runtime, tenant: str, ticket_id: int, helpdesk: str, ticket_external_id: str, *,
             trigger: str, reason: str, context: HandoffContext, detail: str | None = None,
             route: bool = True) -> str:
    """Hand the ticket to a person (see the module docstring); ``route``: assign the intent's group
    (an agent who already took the ticket keeps it). Returns what was done."""
    tenant_id = runtime.db.tenant_id(tenant)
    policy = policy_of(runtime, tenant)
    group = policy.config.group_for(context.intent) if route else None
    note, sentiment = compose_note(reason, context, detail)
    with runtime.db.transaction(tenant_id) as session:
        dialect = session.get_bind().dialect.name
        session.execute(upsert_insert(dialect, AutonomyHandoffRow.__table__).on_conflict_do_nothing(
            index_elements=["tenant_id", "ticket_id", "trigger"]).values(
            tenant_id=tenant_id, ticket_id=ticket_id, trigger=trigger[:255], reason=reason,
            suggestion_id=context.suggestion_id, intent=context.intent, confidence=context.confidence,
            language=context.language, sentiment=sentiment, group_name=group, note=note, state="pending",
            created_at=clock.utcnow()))
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.scalar(select(AutonomyHandoffRow).where(AutonomyHandoffRow.ticket_id == ticket_id,
                                                              AutonomyHandoffRow.trigger == trigger[:255]))
        if row is None or row.state == "done":
            return "already handed off"
        row_id, note, group = row.id, row.note, row.group_name
    try:
        integration(helpdesk).client(connection(runtime, tenant)).hand_off(ticket_external_id, note, group)
    except HelpdeskError as exc:
        _finish(runtime, tenant_id, row_id, "failed", str(exc)[:2000])
        log.warning("handoff of %s ticket %s for %s failed: %s", helpdesk, ticket_external_id, tenant, exc)
        raise
    _finish(runtime, tenant_id, row_id, "done", None)
    record_signal(runtime, tenant, Signal(
        kind="escalated", ticket_id=ticket_id, suggestion_id=context.suggestion_id, actor="deskloop:autonomy",
        payload={"group": group, "reason": reason}, source_event=f"autonomy-handoff:{row_id}"))
    log.info("handed %s ticket %s of %s to a person: %s", helpdesk, ticket_external_id, tenant, reason)
    return f"handed off: {reason}"


def _finish(runtime: Runtime, tenant_id: int, row_id: int, state: str, error: str | None) -> None:
    with runtime.db.transaction(tenant_id) as session:
        row = session.get(AutonomyHandoffRow, row_id)
        if row is not None:
            row.state, row.error = state, error
            row.done_at = clock.utcnow() if state == "done" else None


def handed_off(runtime: Runtime, tenant_id: int, ticket_id: int) -> bool:
    """Whether a person already has the ticket from Deskloop (any handoff recorded)."""
    with runtime.db.tenant_session(tenant_id) as session:
        return session.scalar(select(AutonomyHandoffRow.id).where(AutonomyHandoffRow.ticket_id == ticket_id)
                              .limit(1)) is not None
