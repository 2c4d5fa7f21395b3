"""A widget session becomes a ticket: in the tenant's helpdesk when it is connected to one whose
integration can create tickets (the optional ``create_ticket`` capability,
:class:`core.helpdesk.contract.TicketCreating`), else in Deskloop's own store (source ``widget``),
with the page context attached either way. One ticket per session: filing again answers the ticket
already filed.

For a tenant that uses autonomy the ticket also carries the autonomy handoff note
(:func:`core.autonomy.widget_gate.widget_handoff`): a private message in Deskloop's own store, or
the helpdesk client's ``hand_off`` (the note and the intent's group; a private note where the
client has no handoff) right after the ticket is created. The ticket is filed first: a note the
helpdesk refuses is logged, never a reason to file the ticket twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select

from core.autonomy.widget_gate import widget_handoff
from core.clock import utcnow
from core.errors import NotFound
from core.helpdesk.connections import connection
from core.helpdesk.contract import HelpdeskError, TicketCreating, integration
from core.runtime import Runtime
from core.store.tables import SuggestionRow, TicketRow, WidgetSessionRow
from core.store.tickets import upsert_tickets
from core.types import Message, PageContext, Person, Ticket
from core.widget.sessions import Caller, find_session

log = logging.getLogger(__name__)

SOURCE = "widget"
SUBJECT_CHARS = 80


@dataclass(frozen=True)
class Filed:
    #: ``deskloop`` (own store) or the helpdesk's name.
    filed_in: str
    #: The helpdesk's ticket id, or ``widget-<session id>`` in Deskloop's own store.
    external_id: str
    created: bool


@dataclass(frozen=True)
class Request:
    """What the customer added when asking for a person."""

    email: str | None = None
    name: str | None = None
    message: str | None = None


def subject_of(question: str) -> str:
    first = " ".join(question.split())
    return first if len(first) <= SUBJECT_CHARS else first[:SUBJECT_CHARS - 1].rstrip() + "…"


def body_of(row: WidgetSessionRow, request: Request) -> str:
    """The ticket's first message: the customer's own words, then what they asked in the widget
    and what Deskloop answered (the agent sees what did not help)."""
    parts = [request.message] if request.message else []
    asked = [e["question"] for e in row.earlier or [] if e.get("question")] + [row.question]
    parts.append("Asked in the help widget:\n" + "\n".join(f"- {q}" for q in asked))
    parts.append(f"Deskloop answered:\n{row.answer}" if row.answer else "Deskloop had no answer.")
    return "\n\n".join(parts)


def _context(row: WidgetSessionRow) -> PageContext | None:
    return PageContext.model_validate(row.page_context) if row.page_context else None


def _helpdesk_creator(runtime: Runtime, tenant: str) -> tuple[str, TicketCreating] | None:
    try:
        conn = connection(runtime, tenant)
    except NotFound:  # imported history only: no helpdesk to file in
        return None
    desk = integration(conn.helpdesk)
    if "create_ticket" not in desk.capabilities:
        return None
    return desk.name, cast(TicketCreating, desk.client(conn))


def _handoff(runtime: Runtime, tenant: str, session, row: WidgetSessionRow) -> tuple[str, str | None] | None:
    suggestion = session.get(SuggestionRow, row.suggestion_id) if row.suggestion_id is not None else None
    return widget_handoff(runtime, tenant, row.question, row.answer, row.helpful, suggestion)


def _own_ticket(session, tenant_id: int, row: WidgetSessionRow, caller: Caller, request: Request,
                handoff: tuple[str, str | None] | None) -> str:
    external_id = f"widget-{row.id}"
    body = body_of(row, request)
    requester = Person(name=request.name, email=request.email,
                       external_id=caller.user_id if caller.verified else None)
    now = utcnow()
    messages = [Message(author_role="customer", body=body, author_name=request.name, created_at=now)]
    if handoff is not None:
        messages.append(Message(author_role="bot", body=handoff[0], author_name="Deskloop", public=False,
                                created_at=now))
    upsert_tickets(session, tenant_id, [Ticket(
        source=SOURCE, external_id=external_id, subject=subject_of(row.question),
        messages=messages,
        requester=requester if (request.name or request.email or requester.external_id) else None,
        status="new", channel=SOURCE, created_at=now, updated_at=now, page_context=_context(row),
        group=handoff[1] if handoff is not None else None)])
    row.ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.source == SOURCE,
                                                              TicketRow.external_id == external_id))
    return external_id


def file_ticket(runtime: Runtime, tenant: str, tenant_id: int, token: str, caller: Caller,
                request: Request) -> Filed:
    """File the caller's session as a ticket (once). A helpdesk that refuses raises its
    :class:`core.helpdesk.contract.HelpdeskError` and nothing is recorded, so the widget can retry."""
    with runtime.db.transaction(tenant_id) as session:
        row = find_session(session, token, caller)
        if row.ticket_external_id is not None:
            return Filed(row.ticket_filed_in or "deskloop", row.ticket_external_id, False)
    creator = _helpdesk_creator(runtime, tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = find_session(session, token, caller, lock=True)
        if row.ticket_external_id is not None:  # filed by a concurrent request meanwhile
            return Filed(row.ticket_filed_in or "deskloop", row.ticket_external_id, False)
        handoff = _handoff(runtime, tenant, session, row)
        if creator is None:
            external_id, filed_in = _own_ticket(session, tenant_id, row, caller, request, handoff), "deskloop"
        else:
            filed_in, client = creator
            external_id = client.create_ticket(subject_of(row.question), body_of(row, request), request.email,
                                               request.name, _context(row))
        row.ticket_external_id, row.ticket_filed_in, row.updated_at = external_id, filed_in, utcnow()
    if creator is not None and handoff is not None:
        _note_in_helpdesk(creator, external_id, handoff)
    return Filed(filed_in, external_id, True)


def _note_in_helpdesk(creator: tuple[str, TicketCreating], external_id: str, handoff: tuple[str, str | None]) -> None:
    """The handoff note and group on the ticket just created (see the module's docstring)."""
    name, client = creator
    note, group = handoff
    try:
        if hasattr(client, "hand_off"):
            client.hand_off(external_id, note, group)
        elif hasattr(client, "add_private_note"):
            client.add_private_note(external_id, note)
    except HelpdeskError as exc:
        log.warning("the handoff note on %s ticket %s from the widget failed: %s", name, external_id, exc)
