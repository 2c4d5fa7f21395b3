"""Zendesk's shapes into Deskloop's: REST tickets and comments into :class:`core.types.Ticket`, and
the value mappings the webhook parser shares (status, priority, satisfaction).

Pure translation, no I/O. Zendesk spells the same values two ways: the REST API in lower case
(``"hold"``, ``"urgent"``), ticket webhook events in upper case (``"HOLD"``, ``"URGENT"``), so every
mapping here ignores case.

How Zendesk sorts a ticket, for teams that pick a label source other than an intent:

- ``type`` (question, incident, problem, task) is the ticket's type, in lower case either way.
- ``group_id`` and ``ticket_form_id`` are ids; the group's and the form's names come from the
  account (``GET /groups``, ``GET /ticket_forms``: the client reads them once per backfill, and
  ``tenant add`` keeps them in the tenant's settings for webhooks, which carry ids only). An id
  with no known name is kept as the id, so a group is never lost, only unnamed.
- Macros are left empty: Zendesk records an applied macro only as an audit event (the ticket
  audit's "Macro reference" event, ``AgentMacroReference`` with ``macro_id``/``macro_title``),
  and neither the incremental export nor the comments carry it. Reading it would take
  ``GET /tickets/{id}/audits`` for every ticket, a second request per ticket on a backfill already
  bound by the account's rate limit (twice as long), so the backfill does not, and ticket webhook
  events carry no macro either.

References:
- Tickets: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
- Ticket comments: https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
- Satisfaction ratings: https://developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings/
- Groups and ticket forms: https://developer.zendesk.com/api-reference/ticketing/groups/groups/,
  https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_forms/
- Audit events (macros):
  https://developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.helpdesk.page_fields import PageFields
from core.types import AuthorRole, Csat, Message, Person, Priority, Status, Ticket

SOURCE = "zendesk"

#: Zendesk ticket statuses and Deskloop's name for each. ``deleted``, ``archived`` and
#: ``scrubbed`` are real Zendesk states with no Deskloop equivalent (see :data:`UNMODELLED_STATUSES`).
STATUSES: dict[str, Status] = {
    "new": "new", "open": "open", "pending": "pending", "hold": "on_hold", "solved": "solved", "closed": "closed",
}
UNMODELLED_STATUSES = frozenset({"deleted", "archived", "scrubbed"})
PRIORITIES: dict[str, Priority] = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
#: Zendesk rates good/bad; ``offered`` and ``unoffered`` mean no rating yet.
CSAT_SCORES = {"good": 5, "bad": 1}
#: Zendesk user roles; only end users are customers (agents and admins both answer tickets).
CUSTOMER_ROLES = frozenset({"end-user"})


def status_from_zendesk(value: str | None) -> Status | None:
    """Deskloop's status for a Zendesk one (either case); ``None`` when absent or unmodelled."""
    return STATUSES.get(value.lower()) if value else None


def is_zendesk_status(value: str) -> bool:
    return value.lower() in STATUSES or value.lower() in UNMODELLED_STATUSES


def priority_from_zendesk(value: str | None) -> Priority | None:
    return PRIORITIES.get(value.lower()) if value else None


def csat_from_rating(rating: Mapping[str, Any] | None) -> Csat | None:
    """A good/bad ``satisfaction_rating`` as 5/1; ``None`` when not rated."""
    if not rating:
        return None
    score = CSAT_SCORES.get(str(rating.get("score") or "").lower())
    return None if score is None else Csat(score=score, comment=rating.get("comment") or None)


def ticket_type_from_zendesk(value: str | None) -> str | None:
    """The ticket's type in lower case (REST says ``incident``, webhooks ``INCIDENT``); ``None``
    when the ticket has none."""
    return (value.strip().lower() or None) if value else None


def named(object_id: Any, names: Mapping[str, str] | None) -> str | None:
    """A group's or form's name by its id; the id itself (as a string) when the name is unknown,
    ``None`` when there is no id."""
    if object_id is None or object_id == "":
        return None
    return (names or {}).get(str(object_id)) or str(object_id)


def parse_time(value: str | None) -> datetime | None:
    """A Zendesk REST timestamp (``2024-03-05T09:12:44Z``) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def person_from_user(user_id: Any, user: Mapping[str, Any] | None) -> Person | None:
    """The requester as a :class:`Person`; name and email only when the user was sideloaded."""
    if user_id is None:
        return None
    user = user or {}
    return Person(external_id=str(user_id), name=user.get("name") or None, email=user.get("email") or None)


def author_role(author_id: Any, requester_id: Any, users: Mapping[str, Mapping[str, Any]]) -> AuthorRole:
    """Who wrote a comment. The author's Zendesk role decides when it is known (an end user CC'd
    on the ticket is still a customer); otherwise the requester is the customer and anyone else
    is staff, since REST comments carry no role of their own."""
    user = users.get(str(author_id))
    if user and user.get("role"):
        return "customer" if user["role"] in CUSTOMER_ROLES else "agent"
    return "customer" if str(author_id) == str(requester_id) else "agent"


def message_from_comment(comment: Mapping[str, Any], requester_id: Any,
                         users: Mapping[str, Mapping[str, Any]]) -> Message:
    author = users.get(str(comment.get("author_id"))) or {}
    return Message(author_role=author_role(comment.get("author_id"), requester_id, users),
                   body=comment.get("body") or "", public=bool(comment.get("public", True)),
                   author_name=author.get("name") or None, created_at=parse_time(comment.get("created_at")),
                   external_id=None if comment.get("id") is None else str(comment["id"]))


def custom_fields_from(fields: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``[{"id": 360001, "value": "NW-104233"}]`` as ``{"360001": "NW-104233"}``, unset fields left out."""
    return {str(f["id"]): f["value"] for f in fields or () if f.get("id") is not None and f.get("value") is not None}


def ticket_from_rest(ticket: Mapping[str, Any], comments: Sequence[Mapping[str, Any]],
                     users: Mapping[str, Mapping[str, Any]] | None = None,
                     groups: Mapping[str, str] | None = None, forms: Mapping[str, str] | None = None,
                     page_fields: PageFields | None = None) -> Ticket:
    """A REST ticket with its comments (oldest first) in the common shape.

    ``users`` maps user id (as a string) to a sideloaded Zendesk user; without it, names and
    emails are unknown and authorship falls back to "the requester is the customer". ``page_fields``
    names the ticket fields the tenant keeps the customer's page in. ``groups``
    and ``forms`` map ids (as strings) to names (see the module notes). A ticket
    whose comments could not be read keeps its ``description`` (the opening comment's text), so
    it still has the customer's words.
    """
    users = users or {}
    requester_id = ticket.get("requester_id")
    messages = [message_from_comment(c, requester_id, users) for c in comments]
    if not messages:
        messages = [Message(author_role="customer", body=ticket.get("description") or "",
                            created_at=parse_time(ticket.get("created_at")))]
    via = ticket.get("via") or {}
    organization = ticket.get("organization_id")
    fields = custom_fields_from(ticket.get("custom_fields"))
    return Ticket(
        source=SOURCE, external_id=str(ticket["id"]), subject=ticket.get("subject") or "", messages=messages,
        requester=person_from_user(requester_id, users.get(str(requester_id))),
        organization=None if organization is None else str(organization),
        tags=list(ticket.get("tags") or []), priority=priority_from_zendesk(ticket.get("priority")),
        status=status_from_zendesk(ticket.get("status")), channel=via.get("channel") or None,
        created_at=parse_time(ticket.get("created_at")), updated_at=parse_time(ticket.get("updated_at")),
        csat=csat_from_rating(ticket.get("satisfaction_rating")),
        custom_fields=fields, page_context=(page_fields or PageFields()).context(fields),
        ticket_type=ticket_type_from_zendesk(ticket.get("type")), group=named(ticket.get("group_id"), groups),
        form=named(ticket.get("ticket_form_id"), forms),
    )
