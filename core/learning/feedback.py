"""Signals: what agents and customers tell Deskloop about its suggestions, stored with provenance.

A draft that comes back as the agent's sent reply is classified here: unchanged means
``draft_sent``; anything else is ``draft_edited`` with the draft, the sent text and their similarity,
which is the labelled correction the learning loop consumes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import aware_utc
from core.dispatch.listeners import Occurrence, publish
from core.errors import BadInput, NotFound
from core.learning import live
from core.learning.kinds import SENT_REPLY_KINDS, check_payload, default_weight
from core.runtime import Runtime
from core.store.tables import SignalRow, SuggestionRow, TicketRow
from core.types import Signal, SignalKind

#: The longest text the draft-versus-sent comparison reads. The API and the side panels refuse a
#: longer sent reply with 400 (:data:`core.web.schemas.MAX_TEXT`, the panels' ``SentRequest``). A
#: helpdesk's webhook or the Canvas Kit app reports a reply that was already sent, so refusing
#: would only lose the signal: for them the comparison reads the first ``MAX_COMPARED_CHARS`` of
#: each text, and the whole reply is stored.
MAX_COMPARED_CHARS = 20_000


def text_similarity(a: str, b: str) -> float:
    """0..1, 1 only for identical texts (whitespace differences ignored).

    The ratio ``2 * M / (len(a) + len(b))``, M the characters the texts share in order (their
    longest common subsequence): the figure difflib's ``SequenceMatcher.ratio`` estimates, computed
    exactly. SequenceMatcher is quadratic in pure Python (13 to 28 seconds for two texts of 20,000
    characters: a request could hold a worker for that long); :func:`_common_subsequence` takes
    0.07 s. Texts longer than :data:`MAX_COMPARED_CHARS` are compared on their beginnings; texts
    that differ only past that score 0.9999, never 1.
    """
    a, b = " ".join(a.split()), " ".join(b.split())
    if a == b:
        return 1.0
    a, b = a[:MAX_COMPARED_CHARS], b[:MAX_COMPARED_CHARS]
    return min(round(2 * _common_subsequence(a, b) / (len(a) + len(b)), 4), 0.9999)


def _common_subsequence(a: str, b: str) -> int:
    """The length of the longest common subsequence of ``a`` and ``b``, bit-parallel (Hyyrö,
    "Bit-parallel LCS-length computation revisited", 2004): one big-integer step per character
    of the longer text, each over one bit per character of the shorter one."""
    if len(a) < len(b):
        a, b = b, a
    where: dict[str, int] = {}
    for i, char in enumerate(b):
        where[char] = where.get(char, 0) | 1 << i
    everywhere = (1 << len(b)) - 1
    row = everywhere
    for char in a:
        matched = row & where.get(char, 0)
        row = ((row + matched) | (row - matched)) & everywhere
    return len(b) - row.bit_count()


def _classify_sent_reply(signal: Signal, draft: str | None) -> Signal:
    sent = signal.payload.get("sent")
    if signal.kind not in SENT_REPLY_KINDS or sent is None:
        return signal
    if draft is None:
        raise BadInput("the suggestion had no draft, so a sent reply cannot be compared to one", field="payload.sent")
    similarity = text_similarity(draft, str(sent))
    kind = "draft_sent" if similarity == 1.0 else "draft_edited"
    payload = {**signal.payload, "draft": draft, "similarity": similarity}
    return signal.model_copy(update={"kind": kind, "payload": payload})


def _check_payload(signal: Signal) -> None:
    """Refuse a signal that cannot teach what its kind says (see :mod:`core.learning.kinds`)."""
    check_payload(signal.kind, signal.payload)


def _with_context(signal: Signal, suggestion: SuggestionRow | None) -> Signal:
    """An escalation keeps what the AI knew when the ticket was handed over."""
    if signal.kind != "escalated" or suggestion is None or "context" in signal.payload:
        return signal
    context = {"suggestion_id": suggestion.id, "intent": suggestion.intent, "confidence": suggestion.confidence,
               "abstained": suggestion.abstained, "abstain_reason": suggestion.abstain_reason,
               "draft": suggestion.draft, "evidence": suggestion.evidence,
               "text": suggestion.text}
    return signal.model_copy(update={"payload": {**signal.payload, "context": context}})


def record_signal(runtime: Runtime, tenant_slug: str, signal: Signal) -> tuple[Signal, bool]:
    """Store ``signal`` for the tenant. Returns (stored signal, created); a repeated
    ``source_event`` returns the signal already stored, so a duplicate delivery counts once."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    if signal.source_event is not None and not signal.source_event:
        # An empty event id names no event: stored as none, or the second one would break the
        # uniqueness of (tenant, source_event) instead of being recorded.
        signal = signal.model_copy(update={"source_event": None})
    with runtime.db.transaction(tenant_id) as session:
        if signal.source_event:
            existing = session.scalar(select(SignalRow).where(SignalRow.source_event == signal.source_event))
            if existing is not None:
                return _to_signal(existing), False
        if signal.kind in SENT_REPLY_KINDS and signal.suggestion_id is not None:
            # One outcome per draft: the panel reports the reply at send time and the helpdesk's
            # webhook reports it again moments later; a later reply on the ticket is not an edit of it.
            outcome = session.scalar(select(SignalRow).where(
                SignalRow.suggestion_id == signal.suggestion_id, SignalRow.kind.in_(SENT_REPLY_KINDS),
                SignalRow.revoked_at.is_(None)).limit(1))
            if outcome is not None:
                return _to_signal(outcome), False
        draft, model_version, ticket_id, suggestion = None, None, signal.ticket_id, None
        if signal.suggestion_id is not None:
            suggestion = session.get(SuggestionRow, signal.suggestion_id)
            if suggestion is None or suggestion.tenant_id != tenant_id:
                raise BadInput(f"no suggestion {signal.suggestion_id} for tenant {tenant_slug}", field="suggestion_id")
            draft, model_version = suggestion.draft, suggestion.model_version
            ticket_id = ticket_id or suggestion.ticket_id
        elif ticket_id is not None:
            # An outcome reported on the ticket (reopened, CSAT, ...) is about its latest suggestion.
            suggestion = session.scalar(select(SuggestionRow).where(SuggestionRow.ticket_id == ticket_id)
                                        .order_by(SuggestionRow.id.desc()).limit(1))
            if suggestion is not None:
                signal = signal.model_copy(update={"suggestion_id": suggestion.id})
                draft, model_version = suggestion.draft, suggestion.model_version
        named_ticket = signal.ticket_id  # a suggestion's own ticket is known to exist (foreign key)
        if (named_ticket is not None
                and session.scalar(select(TicketRow.id).where(TicketRow.id == named_ticket)) is None):
            raise BadInput(f"no ticket {ticket_id} for tenant {tenant_slug}", field="ticket_id")
        signal = _with_context(_classify_sent_reply(signal, draft), suggestion)
        _check_payload(signal)
        weight = signal.weight if signal.weight is not None else default_weight(signal.kind, signal.payload)
        row = SignalRow(
            tenant_id=tenant_id, ticket_id=ticket_id, suggestion_id=signal.suggestion_id, kind=signal.kind,
            actor=signal.actor, weight=weight, payload=signal.payload, source_event=signal.source_event,
            model_version=model_version,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # a concurrent delivery of the same source_event won the race
            session.rollback()
            raise
        stored = _to_signal(row)
    live.recorded(tenant_id, row.id, row.kind, row.weight, row.payload or {}, suggestion, ticket_id)
    publish(runtime, Occurrence("signal", tenant_slug, "signals", stored.kind, str(stored.id),
                                stored.model_dump(mode="json"), {}))
    return stored, True


def revoke_signal(runtime: Runtime, tenant_slug: str, signal_id: int) -> Signal:
    """Withdraw a signal (a bad correction): it stops influencing suggestions at once and is left
    out of every later model version. Kept, marked revoked, for the audit trail."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.transaction(tenant_id) as session:
        row = session.scalar(select(SignalRow).where(SignalRow.id == signal_id))
        if row is None:
            raise NotFound(f"no signal {signal_id} for tenant {tenant_slug}", field="signal_id")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.flush()
        stored = _to_signal(row)
    live.notify(tenant_id)
    return stored


def list_signals(runtime: Runtime, tenant_slug: str, limit: int = 50) -> list[Signal]:
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.scalars(select(SignalRow).order_by(SignalRow.id.desc()).limit(limit)).all()
        return [_to_signal(r) for r in rows]


def _to_signal(row: SignalRow) -> Signal:
    return Signal(
        id=row.id, kind=cast(SignalKind, row.kind), ticket_id=row.ticket_id, suggestion_id=row.suggestion_id,
        actor=row.actor,
        weight=row.weight, payload=row.payload or {}, source_event=row.source_event,
        created_at=aware_utc(row.created_at), revoked_at=aware_utc(row.revoked_at),
    )
