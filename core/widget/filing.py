"""A widget session becomes a ticket: in the tenant's helpdesk when it is connected to one whose
integration can create tickets (the optional ``create_ticket`` capability,
:class:`core.helpdesk.contract.TicketCreating`), else in Deskloop's own store (source ``widget``),
with the page context attached either way. One ticket per session: filing again answers the ticket
already filed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import select

from core.clock import utcnow
from core.errors import NotFound
from core.helpdesk.connections import connection
from core.helpdesk.contract import TicketCreating, integration
from core.runtime import Runtime
from core.store.tables import TicketRow, WidgetSessionRow
from core.store.tickets import upsert_tickets
from core.types import Message, PageContext, Person, Ticket
from core.widget.sessions import Caller, find_session

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


def _own_ticket(session, tenant_id: int, row: WidgetSessionRow, caller: Caller, request: Request) -> str:
    external_id = f"widget-{row.id}"
    body = body_of(row, request)
    requester = Person(name=request.name, email=request.email,
                       external_id=caller.user_id if caller.verified else None)
    now = utcnow()
    upsert_tickets(session, tenant_id, [Ticket(
        source=SOURCE, external_id=external_id, subject=subject_of(row.question),
        messages=[Message(author_role="customer", body=body, author_name=request.name, created_at=now)],
        requester=requester if (request.name or request.email or requester.external_id) else None,
        status="new", channel=SOURCE, created_at=now, updated_at=now, page_context=_context(row))])
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
        if creator is None:
            external_id, filed_in = _own_ticket(session, tenant_id, row, caller, request), "deskloop"
        else:
            filed_in, client = creator
            external_id = client.create_ticket(subject_of(row.question), body_of(row, request), request.email,
                                               request.name, _context(row))
        row.ticket_external_id, row.ticket_filed_in, row.updated_at = external_id, filed_in, utcnow()
    return Filed(filed_in, external_id, True)
