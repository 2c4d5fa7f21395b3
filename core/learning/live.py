"""The live memory of each tenant, kept current in every process from the signals table.

The database is the one source of truth, so every web worker and job process sees the same
corrections. A process checks for signals newer than the last one it applied before a suggestion
(at most every :data:`POLL_SECONDS`; at once after a signal recorded in this process), applies
them, and rebuilds from scratch when a signal was revoked. Applying a signal reads the vector stored
with its suggestion, so no text is encoded again, and the page the suggestion was made for (its
``context_key``), so the memory knows which resolution worked on which page (see :mod:`core.ml.memory`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import func, select

from core.learning.kinds import TEACHING_AT_ONCE, effect_of
from core.ml.memory import FeedbackMemory, Taught
from core.ml.templates import mask_echoes
from core.store.tables import SignalRow, SuggestionRow, TicketRow

#: How stale another process's view may be: a correction acts within this (plus one query).
POLL_SECONDS = 0.1


@dataclass
class _State:
    memory: FeedbackMemory = field(default_factory=FeedbackMemory)
    last_signal_id: int = 0
    revoked: int = 0
    checked_at: float = 0.0
    dirty: bool = True


_states: dict[tuple[str, int, str], _State] = {}
_lock = threading.Lock()


def notify(tenant_id: int) -> None:
    """A signal was recorded or revoked in this process: the next suggestion must see it."""
    with _lock:
        for (_, tid, _), state in _states.items():
            if tid == tenant_id:
                state.dirty = True


def recorded(tenant_id: int, signal_id: int, kind: str, weight: float, payload: dict, suggestion,
             ticket_id: int | None) -> None:
    """A signal this process just stored: apply it to the tenant's memories at once, without a
    query, where it is the very next signal they have not seen (ids are handed out in order, so
    nothing can sit between); otherwise mark them to read from the database."""
    effect = effect_of(kind, weight, payload, getattr(suggestion, "intent", None),
                       getattr(suggestion, "draft_source", None))
    vector = getattr(suggestion, "vector", None)
    with _lock:
        for (_, tid, _), state in _states.items():
            if tid != tenant_id:
                continue
            # Teaching needs the stored vector, and the customer's name from the suggestion (the
            # database path would take the ticket's requester instead).
            unnamed = getattr(suggestion, "customer_name", None) is None and ticket_id
            incomplete = kind in TEACHING_AT_ONCE and (vector is None or unnamed)
            if state.dirty or state.last_signal_id != signal_id - 1 or incomplete:
                state.dirty = True
                continue
            _apply(state, signal_id, kind, effect,
                   np.frombuffer(vector, dtype=np.float32) if vector is not None else None,
                   getattr(suggestion, "customer_name", None), getattr(suggestion, "text", None),
                   getattr(suggestion, "context_key", None))


def memory_for(runtime, tenant_id: int, model, version: str, row_for) -> FeedbackMemory:
    """The tenant's memory, current to the newest signal. ``row_for(text)`` gives the similarity
    row of a text (used only for signals whose suggestion stored no vector)."""
    key = (str(runtime.db.engine.url), tenant_id, version)
    with _lock:
        state = _states.setdefault(key, _State())
        now = time.monotonic()
        if not state.dirty and now - state.checked_at < POLL_SECONDS:
            return state.memory
        with runtime.db.tenant_session(tenant_id) as session:
            revoked = session.scalar(select(func.count(SignalRow.id)).where(SignalRow.revoked_at.is_not(None)))
            if revoked != state.revoked:
                state.memory, state.last_signal_id, state.revoked = FeedbackMemory(), 0, revoked
            _apply_new_signals(session, state, row_for)
        state.checked_at, state.dirty = now, False
        return state.memory


def _apply_new_signals(session, state: _State, row_for) -> None:
    rows = session.execute(
        select(SignalRow.id, SignalRow.kind, SignalRow.weight, SignalRow.payload, SignalRow.ticket_id,
               SuggestionRow.intent, SuggestionRow.draft_source, SuggestionRow.vector, SuggestionRow.text,
               SuggestionRow.customer_name, SuggestionRow.context_key, TicketRow.text, TicketRow.requester_name)
        .outerjoin(SuggestionRow, SuggestionRow.id == SignalRow.suggestion_id)
        .outerjoin(TicketRow, TicketRow.id == SignalRow.ticket_id)
        .where(SignalRow.id > state.last_signal_id, SignalRow.revoked_at.is_(None))
        .order_by(SignalRow.id)
    ).all()
    for (signal_id, kind, weight, payload, _ticket_id, suggested_intent, draft_source, vector, suggestion_text,
         customer_name, context, ticket_text, requester) in rows:
        payload = payload or {}
        effect = effect_of(kind, weight, payload, suggested_intent, draft_source)
        row = None
        text = suggestion_text or ticket_text
        if kind in TEACHING_AT_ONCE:
            row = np.frombuffer(vector, dtype=np.float32) if vector is not None else (row_for(text) if text else None)
        _apply(state, signal_id, kind, effect, row, customer_name or requester, text,
               context)


def _apply(state: _State, signal_id: int, kind: str, effect, row, customer_name: str | None,
           text: str | None = None, context: str | None = None) -> None:
    """One signal into the memory (both the database path and a process's own signal use this).

    An edited reply becomes a preferred answer for other customers, so what it copied from its own
    ticket (``text``: an address, card digits, an order id the customer wrote) is turned into
    placeholders before it is remembered; the draft then treats it like any other reply (see
    :func:`core.suggesting.drafting.draft_reply`)."""
    if effect.reply and text:
        effect = replace(effect, reply=mask_echoes(effect.reply, text, customer_name))
    state.memory.reinforce(effect.source, effect.outcome, context)
    if kind in TEACHING_AT_ONCE and row is not None:
        state.memory.teach(Taught(signal_id, effect.intent, effect.tags, effect.reply, customer_name, context), row)
    state.last_signal_id = signal_id


def forget(runtime=None) -> None:
    """Drop every cached memory (tests, and after a tenant is deleted)."""
    with _lock:
        _states.clear()
