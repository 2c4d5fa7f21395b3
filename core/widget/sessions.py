"""Customers' widget sessions: opened by a question, continued by the next ones, and bound to the
customer who opened them. A session is named by a random token the widget keeps (only its hash is
stored); a session opened by a customer with an id answers only to that id, so one customer who
learns another's token still cannot read or continue their session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.runtime import Runtime
from core.store.tables import WidgetSessionRow
from core.types import PageContext, Suggestion
from core.widget.keys import new_session_token, token_hash

#: Earlier questions a session keeps (the latest is in ``question``); older ones are dropped.
MAX_EARLIER = 20


class SessionRefused(BadInput):
    """The session belongs to another customer (HTTP 403)."""


@dataclass(frozen=True)
class Caller:
    """Who a widget request speaks for: a customer id, ``verified`` when its HMAC was checked."""

    user_id: str | None = None
    verified: bool = False


def answer_of(suggestion: Suggestion | None) -> str | None:
    """The answer shown to the customer: the suggestion's draft, unless it abstains."""
    if suggestion is None or suggestion.abstained:
        return None
    return suggestion.draft or None


def _owned(row: WidgetSessionRow | None, caller: Caller) -> WidgetSessionRow:
    if row is None:
        raise NotFound("no such widget session (it may belong to another widget key)", field="session")
    if row.user_id is not None and row.user_id != caller.user_id:
        raise SessionRefused("this session belongs to another customer", field="session")
    return row


def find_session(session, token: str, caller: Caller, lock: bool = False) -> WidgetSessionRow:
    """The tenant's session named by ``token`` (``session``: the tenant's database session);
    ``lock``: held until the transaction ends (PostgreSQL), so two requests filing the same
    session take turns."""
    statement = select(WidgetSessionRow).where(WidgetSessionRow.token_hash == token_hash(token))
    return _owned(session.scalar(statement.with_for_update() if lock else statement), caller)


def record_exchange(runtime: Runtime, tenant_id: int, token: str | None, caller: Caller, question: str,
                    context: PageContext | None, suggestion: Suggestion | None) -> tuple[str, WidgetSessionRow]:
    """Store a question and its answer: a new session (``token`` ``None``) or the next exchange of
    the caller's session. Returns the session token and row."""
    now = utcnow()
    stored_context = context.model_dump(mode="json") if context is not None else None
    with runtime.db.transaction(tenant_id) as session:
        if token is None:
            token = new_session_token()
            row = WidgetSessionRow(tenant_id=tenant_id, token_hash=token_hash(token), user_id=caller.user_id,
                                   identity_verified=caller.verified, earlier=[], created_at=now)
            session.add(row)
        else:
            row = find_session(session, token, caller)
            earlier = [*(row.earlier or []), {"question": row.question, "suggestion_id": row.suggestion_id,
                                              "abstained": row.abstained, "at": row.updated_at.isoformat()}]
            row.earlier = earlier[-MAX_EARLIER:]
            row.helpful = None  # feedback is about the latest answer
            if caller.user_id is not None and row.user_id is None:
                row.user_id, row.identity_verified = caller.user_id, caller.verified
        row.question, row.page_context = question, stored_context
        row.answer, row.abstained = answer_of(suggestion), answer_of(suggestion) is None
        row.suggestion_id = suggestion.id if suggestion is not None else None
        row.updated_at = now
        session.flush()
        return token, row


def set_helpful(runtime: Runtime, tenant_id: int, row_id: int, helpful: bool) -> None:
    """What the customer said of the session's latest answer."""
    with runtime.db.transaction(tenant_id) as session:
        row = session.get(WidgetSessionRow, row_id)
        if row is not None:
            row.helpful, row.updated_at = helpful, utcnow()
