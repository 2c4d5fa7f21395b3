"""Backtest: what Deskloop would have sent on a tenant's own resolved history, before go-live.

The tenant's resolved, labelled tickets are replayed in time order through the same loop as
``deskloop replay`` (:mod:`core.suggesting.replay`): each ticket arrives with only the customer's
first message, gets a suggestion from what was learned before it, and then teaches the loop what
the agent did (the intent, the reply the agent actually sent); the model is retrained through the
promotion check as the history grows. So no ticket is ever predicted from itself or a later one.

The replay runs in a scratch database of its own (a temporary SQLite file with the tenant's
settings copied), never in the tenant's: nothing the tenant's processes read changes, no model
version or signal is added to it, and the scratch files go when the backtest ends.

A replayed reply is *right* when the predicted intent is the ticket's, the draft is close to the
agent's reply (:data:`CLOSE_ENOUGH`), and the agent's own reply held (the ticket was not reopened
and not rated badly). Per intent, the threshold offered is the lowest confidence at which the
replies Deskloop would have sent for that intent reach the target precision at the lower end of
their Wilson interval (one-sided 95%): a handful of lucky tickets is not evidence.

The threshold is picked on the whole replay (all the evidence there is), but in the estimated
auto-resolution rate each ticket counts by how much of the history the model had learned when it
came (:func:`learned_weights`: the n-th of N tickets weighs n/N): going live happens with a model
trained on the whole history, and the replay's first tickets, predicted by a model that knew next
to nothing, would drag an unweighted estimate below what that model does. The estimate is given per
intent at the picked threshold and as a curve over every threshold (:func:`curve_thresholds`), so
an intent switched on at another one (the tenant's default, a threshold set by hand) is estimated
at the threshold it actually runs with (:func:`rate_at`).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from core.autonomy.config import DEFAULT_THRESHOLD
from core.autonomy.judging import CLOSE_ENOUGH, is_bad_csat, judged_right, wilson_lower
from core.autonomy.policy import load_policy
from core.clock import aware_utc
from core.learning.feedback import record_signal, text_similarity
from core.runtime import Runtime
from core.store.tables import MessageRow, TenantRow, TicketRow
from core.suggesting.replay import (
    FIRST_TRAINING,
    RETRAIN_GROWTH,
    answered,
    arriving,
    retrain,
    store_ticket,
    suggest_stored,
)
from core.types import Message, Person, Signal, Suggestion, Ticket

log = logging.getLogger(__name__)

#: A ticket of the history and its CSAT score (1 to 5, or None).
HistoryTicket = tuple[Ticket, int | None]
#: Statuses of a resolved ticket.
RESOLVED = ("solved", "closed")
#: Tenant settings the scratch tenant does without (see :func:`_scratch_runtime`).
NOT_COPIED = ("label_source", "label_report")
#: A log line every so many replayed tickets: a long history takes minutes.
PROGRESS_EVERY = 500
#: The thresholds of the estimated-rate curve: 0 to 0.99 in steps of 0.01, then 0.991 to 1 in
#: steps of 0.001 (thresholds near 1 are common, and the rate falls fast there).
CURVE_THRESHOLDS = tuple(round(step / 100, 2) for step in range(100)) + tuple(
    round(0.99 + step / 1000, 3) for step in range(1, 11))


@dataclass(frozen=True)
class Replayed:
    """One ticket of the replay: what Deskloop suggested from what it knew before the ticket, and
    what the agent did."""

    external_id: str
    created_at: datetime | None
    intent: str  # the ticket's intent
    predicted: str | None
    confidence: float
    abstained: bool
    draft: str | None
    agent_reply: str | None
    similarity: float | None  # draft to the agent's reply; None without both
    reopened: bool
    bad_csat: bool

    @property
    def would_send(self) -> bool:
        """Whether this suggestion is a reply Deskloop could send on its own."""
        return self.predicted is not None and not self.abstained and bool(self.draft)

    @property
    def right(self) -> bool:
        return judged_right(self.would_send, self.predicted == self.intent, self.similarity, self.reopened,
                            self.bad_csat)


def pick_threshold(sent: Iterable[Replayed], target: float) -> tuple[float | None, int, int]:
    """(threshold, replies at or above it, right ones) for the replies one intent would have
    sent: the lowest confidence whose replies at or above it reach ``target`` at the Wilson lower
    bound; ``(None, 0, 0)`` when none does. Ties are cut together or not at all."""
    ranked = sorted(sent, key=lambda r: -r.confidence)
    best: tuple[float | None, int, int] = (None, 0, 0)
    right = 0
    for n, replayed in enumerate(ranked, start=1):
        right += replayed.right
        if n < len(ranked) and ranked[n].confidence == replayed.confidence:
            continue
        if wilson_lower(right, n) >= target:
            best = (replayed.confidence, n, right)
    return best


def learned_weights(replayed: list[Replayed]) -> list[float]:
    """Each replayed ticket's weight in the estimate: the share of the history the model had seen
    when it came (the n-th of N weighs n/N; see the module's docstring)."""
    return [(n + 1) / len(replayed) for n in range(len(replayed))]


def estimated_rate(own: list[tuple[Replayed, float]], threshold: float | None) -> float:
    """Right replies at ``threshold`` or above over the intent's tickets ``own`` (each with its
    weight): the estimated auto-resolution rate (0 without a threshold or without tickets)."""
    total = sum(weight for _, weight in own)
    if threshold is None or not total:
        return 0.0
    return sum(weight for r, weight in own if r.right and r.confidence >= threshold) / total


def curve_thresholds(picked: float | None) -> list[float]:
    """:data:`CURVE_THRESHOLDS` with the picked threshold among them."""
    return sorted({*CURVE_THRESHOLDS, *(() if picked is None else (round(picked, 4),))})


def rate_curve(own: list[tuple[Replayed, float]], picked: float | None = None) -> list[list[float]]:
    """``[threshold, estimated rate]`` pairs over :func:`curve_thresholds` (see :func:`rate_at`)."""
    return [[t, round(estimated_rate(own, t), 4)] for t in curve_thresholds(picked)]


def rate_at(curve: list[list[float]], threshold: float) -> float:
    """The estimated rate at ``threshold`` read from a curve of :func:`rate_curve`: a point's own
    rate, linear between two points; below the first point, the first point's rate."""
    if not curve:
        return 0.0
    below = [point for point in curve if point[0] <= threshold]
    above = [point for point in curve if point[0] >= threshold]
    if not below:
        return curve[0][1]
    low, high = below[-1], (above[0] if above else below[-1])
    if high[0] == low[0]:
        return low[1]
    return low[1] + (high[1] - low[1]) * (threshold - low[0]) / (high[0] - low[0])


def report(replayed: list[Replayed], target: float, default_threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Per intent (the tickets' intents): tickets, drafts and how close they came to the agent's
    replies, the agent's outcomes; at the threshold picked for ``target`` (on the whole replay) the
    replies sent, the right ones and the share of wrong replies; the estimated auto-resolution rate
    at that threshold and its curve over every threshold (weighted by what the model had learned,
    see the module's docstring), and at ``default_threshold`` (what switching the intent on without
    a threshold of its own would do). The overall rate weights each intent's estimate by its tickets."""
    intents = sorted({r.intent for r in replayed})
    weighted = list(zip(replayed, learned_weights(replayed), strict=True))
    rows: list[dict] = []
    sent_total = right_total = 0
    estimated_right = 0.0
    for intent in intents:
        own = [r for r in replayed if r.intent == intent]
        candidates = [r for r in replayed if r.would_send and r.predicted == intent]
        threshold, sent, right = pick_threshold(candidates, target)
        sent_total, right_total = sent_total + sent, right_total + right
        own_weighted = [(r, weight) for r, weight in weighted if r.intent == intent]
        rate = estimated_rate(own_weighted, threshold)
        estimated_right += rate * len(own)
        sims = [r.similarity for r in own if r.similarity is not None]
        example = next((r for r in reversed(own) if r.draft), None)
        rows.append({
            "intent": intent,
            "tickets": len(own),
            "drafts": sum(1 for r in own if r.would_send),
            "predicted_right": sum(1 for r in own if r.predicted == intent),
            "mean_similarity": round(sum(sims) / len(sims), 4) if sims else None,
            "close_to_agent": sum(1 for r in own if (r.similarity or 0.0) >= CLOSE_ENOUGH),
            "reopened": sum(r.reopened for r in own),
            "bad_csat": sum(r.bad_csat for r in own),
            "threshold": None if threshold is None else round(threshold, 4),
            "sent": sent,
            "right": right,
            "precision_lower_bound": round(wilson_lower(right, sent), 4) if sent else None,
            "auto_resolution_rate": round(rate, 4),
            "wrong_reply_share": round((sent - right) / sent, 4) if sent else None,
            "curve": rate_curve(own_weighted, threshold),
            "rate_at_default_threshold": round(estimated_rate(own_weighted, default_threshold), 4),
            "example": None if example is None else {"ticket": example.external_id, "draft": example.draft,
                                                     "agent_reply": example.agent_reply},
        })
    sent, right = sent_total, right_total
    return {
        "target_precision": target,
        "default_threshold": default_threshold,
        "close_enough": CLOSE_ENOUGH,
        "tickets": len(replayed),
        "intents": rows,
        "auto_resolution_rate": round(estimated_right / len(replayed), 4) if replayed else None,
        "wrong_reply_share": round((sent - right) / sent, 4) if sent else None,
        "sent": sent,
        "right": right,
    }


def backtest(runtime: Runtime, tenant: str, since: datetime | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Replay ``tenant``'s resolved, labelled tickets (created at or after ``since``) and report
    (see :func:`report`) at the tenant's target precision."""
    policy = load_policy(runtime, tenant)
    tickets = resolved_history(runtime, tenant, since)
    replayed = replay_history(runtime, tenant, tickets, progress)
    return {"tenant": tenant, "since": since.isoformat() if since else None,
            **report(replayed, policy.target_precision, policy.config.default_threshold)}


def resolved_history(runtime: Runtime, tenant: str, since: datetime | None = None) -> list[HistoryTicket]:
    """The tenant's resolved tickets with an intent, oldest first, each with its customer's first
    message and the agent's first public reply (what the replay needs), and its CSAT score."""
    tenant_id = runtime.db.tenant_id(tenant)
    query = (select(TicketRow).where(TicketRow.intent.is_not(None), TicketRow.status.in_(RESOLVED))
             .order_by(TicketRow.created_at, TicketRow.id))
    if since is not None:
        query = query.where(TicketRow.created_at >= since)
    with runtime.db.tenant_session(tenant_id) as session:
        rows = list(session.scalars(query))
        messages: dict[int, list[MessageRow]] = {}
        for message in session.scalars(select(MessageRow).where(MessageRow.ticket_id.in_([r.id for r in rows]))
                                       .order_by(MessageRow.ticket_id, MessageRow.position)):
            messages.setdefault(message.ticket_id, []).append(message)
        return [_history_ticket(row, messages.get(row.id, [])) for row in rows if messages.get(row.id)]


def _history_ticket(row: TicketRow, messages: list[MessageRow]) -> HistoryTicket:
    customer = next((m for m in messages if m.author_role == "customer"), messages[0])
    reply = next((m for m in messages if m.author_role == "agent" and m.public), None)
    kept = [Message(author_role="customer", body=customer.body_raw, public=True)]
    if reply is not None:
        kept.append(Message(author_role="agent", body=reply.body, public=True))
    person = Person(name=row.requester_name) if row.requester_name else None
    return Ticket.model_construct(
        source=row.source, external_id=row.external_id, subject=row.subject, messages=kept, requester=person,
        organization=row.organization, tags=[], intent=row.intent, status=row.status,
        created_at=aware_utc(row.created_at), reopen_count=row.reopen_count or 0,
        csat=None, custom_fields={}, macros=[], priority=None, channel=None, updated_at=None,
        first_response_at=None, solved_at=None, page_context=None, ticket_type=None, group=None, form=None,
    ), row.csat_score


def replay_history(runtime: Runtime, tenant: str, history: list[HistoryTicket],
                   progress: Callable[[int, int], None] | None = None) -> list[Replayed]:
    """Each ticket of ``history`` ((ticket, csat score) pairs, oldest first) through the loop in a
    scratch database; returns what happened to each, in order."""
    with tempfile.TemporaryDirectory(prefix="deskloop-backtest-") as scratch_home:
        scratch = _scratch_runtime(runtime, tenant, Path(scratch_home))
        try:
            tenant_id = scratch.db.tenant_id(tenant)
            out: list[Replayed] = []
            last_attempt = 0
            for n, (ticket, csat_score) in enumerate(history, start=1):
                out.append(_replay_one(scratch, tenant, tenant_id, ticket, csat_score))
                if n >= FIRST_TRAINING and n >= last_attempt * RETRAIN_GROWTH:
                    last_attempt = n
                    retrain(scratch, tenant)
                if n % PROGRESS_EVERY == 0:
                    log.info("backtest of %s: %d of %d tickets replayed", tenant, n, len(history))
                if progress:
                    progress(n, len(history))
            return out
        finally:
            scratch.close()


def _scratch_runtime(runtime: Runtime, tenant: str, home: Path) -> Runtime:
    """A runtime on an empty SQLite database of its own, holding ``tenant`` with its settings
    (abstention, excluded tags), so suggestions are made as the tenant's would be. The label source
    is left out: the replay teaches each ticket's intent through signals, as the agent's correction
    would. No LLM rewrite (a backtest must not send the tenant's history anywhere) and no job queue
    (training runs inline)."""
    settings = dataclasses.replace(runtime.settings, home=home, database_url=f"sqlite:///{home / 'backtest.db'}",
                                   redis_url=None, llm_url=None,
                                   encoder_dir=runtime.settings.encoder_dir or runtime.settings.home / "encoders")
    with runtime.db.admin_session() as session:
        tenant_settings = dict(session.scalar(select(TenantRow.settings).where(TenantRow.slug == tenant)) or {})
    for key in NOT_COPIED:
        tenant_settings.pop(key, None)
    scratch = Runtime(settings)
    scratch_id = scratch.db.ensure_tenant(tenant)
    with scratch.db.transaction() as session:
        row = session.get_one(TenantRow, scratch_id)
        row.settings = tenant_settings
    return scratch


def _replay_one(scratch: Runtime, tenant: str, tenant_id: int, history: Ticket, csat_score: int | None) -> Replayed:
    label = history.intent or ""
    reply = next((m.body for m in history.messages if m.author_role == "agent"), None)
    name = history.requester.name if history.requester else None
    ticket_id = store_ticket(scratch, tenant_id, arriving(history))
    suggestion: Suggestion | None = suggest_stored(scratch, tenant, ticket_id, name)
    similarity = text_similarity(suggestion.draft, reply) if suggestion and suggestion.draft and reply else None
    _teach(scratch, tenant, ticket_id, suggestion, label, reply)
    store_ticket(scratch, tenant_id, answered(history, reply))
    return Replayed(
        external_id=history.external_id, created_at=history.created_at, intent=label,
        predicted=suggestion.intent if suggestion else None,
        confidence=float(suggestion.confidence) if suggestion else 0.0,
        abstained=suggestion.abstained if suggestion else True,
        draft=suggestion.draft if suggestion else None, agent_reply=reply, similarity=similarity,
        reopened=history.reopen_count > 0, bad_csat=is_bad_csat(csat_score),
    )


def _teach(scratch: Runtime, tenant: str, ticket_id: int, suggestion: Suggestion | None, label: str,
           reply: str | None) -> None:
    """What the agent's handling teaches the loop, through the API's code: the ticket's intent
    (a correction when the suggestion missed it) and the reply the agent actually sent."""
    if suggestion is None:
        record_signal(scratch, tenant, Signal(kind="intent_changed", ticket_id=ticket_id, actor="backtest",
                                              payload={"intent": label}))
        return
    if suggestion.intent != label or suggestion.abstained or not (suggestion.draft and reply):
        record_signal(scratch, tenant, Signal(kind="intent_changed", suggestion_id=suggestion.id, actor="backtest",
                                              payload={"intent": label}))
    if suggestion.draft and reply:
        record_signal(scratch, tenant, Signal(kind="draft_edited", suggestion_id=suggestion.id, actor="backtest",
                                              payload={"sent": reply, "intent": label}))
