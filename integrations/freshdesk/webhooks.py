"""Freshdesk webhook deliveries in: verified by a shared-secret header, parsed into common events.

Freshdesk has no webhook events of its own to subscribe to: an admin creates automation rules
whose "Trigger webhook" action POSTs a JSON body the admin writes, with ``{{ticket.*}}``
placeholders (https://support.freshdesk.com/support/solutions/articles/132589). So the payload is
ours to design; ``SETUP.md`` gives the exact template for each rule, and every template carries
``"deskloop_event"``, the literal name of the rule's event, which is what :data:`EVENT_HANDLERS`
dispatches on. Field names follow Freshdesk's own "simple content" convention (``ticket_id`` for
``{{ticket.id}}``, ``ticket_requester_email`` for ``{{ticket.requester.email}}``) under the root
``freshdesk_webhook``.

Everything a placeholder renders is a string: ids ("1042"), tags joined with ", ", comments as
"Name : HTML", times as Rails prints them. Deliveries carry no id and no signature, so:

- ``event_id`` is ``<ticket id>:<event>:<ticket modified time>:<digest of the payload>``: a retried
  delivery (Freshdesk retries after 5, 30 and 60 minutes) carries the same facts and dedupes, and
  two facts in the same second still differ.
- the delivery is authenticated by a secret header the admin adds to the rule
  (:data:`SECRET_HEADER`), compared in constant time.
- loop prevention: Deskloop writes tags (which no rule below listens to: Freshdesk has no
  tag-changed event, and no template uses "Ticket is updated") and private notes. A note or reply
  is ``from_deskloop`` when its body carries
  :data:`~integrations.freshdesk.adapter.NOTE_MARKER` (every note Deskloop writes ends with it),
  or when its author is the agent whose API key Deskloop holds: the comment placeholders name
  the author, so the tenant setting ``api_user_name`` holds that agent's name
  (:meth:`FreshdeskClient.api_user_name <integrations.freshdesk.client.FreshdeskClient.api_user_name>`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from core.events import BadSignature, EventKind, HelpdeskEvent, MalformedPayload
from core.helpdesk.page_fields import PageFields
from core.types import AuthorRole, Csat, Message, Person
from integrations.freshdesk import adapter
from integrations.payload import Payload

#: The header the admin adds to each rule's "Trigger webhook" action, holding ``webhook_secret``.
SECRET_HEADER = "X-Deskloop-Webhook-Secret"
ROOT = "freshdesk_webhook"
EVENT_FIELD = "deskloop_event"
#: The tenant setting naming the agent Deskloop acts as.
API_USER_SETTING = "api_user_name"

Handler = Callable[[Payload, "_Common"], list[HelpdeskEvent]]


def sign(body: bytes, secret: str) -> dict[str, str]:
    """The headers Freshdesk sends for ``body`` when the rule is set up as ``SETUP.md`` says.
    The body is not covered (Freshdesk cannot sign it); the argument keeps the shape every
    integration's ``sign`` has."""
    del body
    return {SECRET_HEADER: secret}


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
    """Accept the delivery only if it carries the tenant's webhook secret in :data:`SECRET_HEADER`.

    There is no timestamp to bound replays: duplicates are absorbed by the deterministic
    ``event_id`` instead."""
    del body, now
    expected = secrets.get("webhook_secret") or ""
    if not expected:
        raise BadSignature("no webhook_secret is configured for this tenant")
    wanted = SECRET_HEADER.lower()
    received = next((value for name, value in headers.items() if name.lower() == wanted), None)
    if received is None:
        raise BadSignature(f"header {SECRET_HEADER} is missing (add it to the rule's Trigger webhook action)")
    if not hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8")):
        raise BadSignature(f"header {SECRET_HEADER} does not match the tenant's webhook_secret")


def event_name(body: bytes) -> str | None:
    """The ``deskloop_event`` of the delivery, for logs; ``None`` when it cannot be read."""
    try:
        return Payload.from_body(body).obj(ROOT).str(EVENT_FIELD)
    except MalformedPayload:
        return None


def parse(body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
    """The common events in a delivery: ``[]`` for an event name no handler knows (answered 200
    and logged), :class:`MalformedPayload` naming the field when the body cannot be read.
    ``settings`` are the tenant's connection settings (``api_user_name``)."""
    root = Payload.from_body(body).obj(ROOT)
    name = _text(root, EVENT_FIELD)
    handler = EVENT_HANDLERS.get(name)
    if handler is None:
        return []
    api_user = str((settings or {}).get(API_USER_SETTING) or "").strip() or None
    return handler(root, _Common.read(root, name, api_user, PageFields.from_settings(settings)))


class _Common:
    """The fields every template carries, read once."""

    def __init__(self, root: Payload, name: str, ticket_id: str, occurred_at: datetime,
                 api_user: str | None, page_fields: PageFields | None = None) -> None:
        self.root, self.name, self.ticket_id, self.occurred_at = root, name, ticket_id, occurred_at
        self.api_user, self.page_fields = api_user, page_fields or PageFields()
        digest = hashlib.sha256(json.dumps(root.data, sort_keys=True).encode("utf-8")).hexdigest()[:12]
        self.event_id = f"{ticket_id}:{name}:{occurred_at:%Y%m%dT%H%M%SZ}:{digest}"

    @classmethod
    def read(cls, root: Payload, name: str, api_user: str | None, page_fields: PageFields | None = None) -> _Common:
        ticket_id = root.int("ticket_id")
        if ticket_id is None or ticket_id <= 0:
            raise MalformedPayload(f"{root.path}.ticket_id: expected a ticket number")
        return cls(root, name, str(ticket_id), _time(root, "ticket_modified_on"), api_user, page_fields)

    def event(self, kind: EventKind, **fields) -> HelpdeskEvent:
        """An event with the ticket fields the template reports (a field the template leaves out
        stays ``None``: not said, so the stored ticket keeps its value)."""
        root = self.root
        fields.setdefault("status", adapter.status_from_placeholder(_text(root, "ticket_status")))
        for key, field, read in _TICKET_FIELDS:
            if root.has(key):
                fields.setdefault(field, read(root.str(key)))
        email = root.str("ticket_requester_email", required=False) or None
        requester_name = root.str("ticket_requester_name", required=False) or None
        if email or requester_name:
            fields.setdefault("requester", Person(name=requester_name, email=email))
        custom = _custom_fields(root)
        if custom:
            fields.setdefault("custom_fields", custom)
            fields.setdefault("page_context", self.page_fields.context(custom))
        return HelpdeskEvent(kind=kind, event_id=self.event_id, ticket_external_id=self.ticket_id,
                             occurred_at=self.occurred_at, **fields)


#: Optional template fields: (template key, event field, how its rendered string reads).
_TICKET_FIELDS: list[tuple[str, str, Callable[[str], object]]] = [
    ("ticket_subject", "subject", lambda value: value.strip() or None),
    ("ticket_priority", "priority", adapter.priority_from_placeholder),
    ("ticket_source", "channel", adapter.channel_from_placeholder),
    ("ticket_tags", "tags", adapter.tags_from_placeholder),
    # How the ticket is sorted: both render names (an empty render is "no type" / "no group", which
    # has no common value, so the stored one stays).
    ("ticket_ticket_type", "ticket_type", adapter.text_or_none),
    ("ticket_group_name", "group", adapter.text_or_none),
]


# Handlers, one per rule in SETUP.md --------------------------------------------------------------


def _ticket_created(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """Rule on ticket creation: the ticket with the customer's first message."""
    description = adapter.strip_attachments(root.str("ticket_description", required=False) or "")
    message = Message(author_role="customer", body=description, public=True,
                      author_name=root.str("ticket_requester_name", required=False) or None,
                      created_at=common.occurred_at) if description else None
    created = _time(root, "ticket_created_on") if root.has("ticket_created_on") else common.occurred_at
    return [common.event("ticket_created", message=message, created_at=created)]


def _customer_replied(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """"Reply is sent" performed by the requester: the latest public comment is the reply."""
    return [_message_event(common, "customer_replied", "customer", "ticket_latest_public_comment", public=True)]


def _agent_replied(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """"Reply is sent" performed by an agent: the reply the customer received, as sent."""
    return [_message_event(common, "agent_replied", "agent", "ticket_latest_public_comment", public=True)]


def _note_added(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """"Note is added" (any type): ``{{triggered_event}}`` says which type, so the matching
    latest comment is the note."""
    name, value = _triggered(root)
    if name != "note_type" or value not in ("public", "private"):
        raise MalformedPayload(
            f"{root.path}.triggered_event: expected a note type, got {root.str('triggered_event')!r}")
    field = "ticket_latest_private_comment" if value == "private" else "ticket_latest_public_comment"
    return [_message_event(common, "agent_replied", "agent", field, public=value == "public")]


def _status_changed(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    return [common.event("status_changed")]


def _ticket_reopened(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """Status changed from Resolved or Closed to Open: a reopen, whoever did it."""
    return [common.event("reopened")]


def _properties_changed(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """Priority, type or a custom field changed: the ticket's current fields (its type and group
    included, as ``{{ticket.ticket_type}}`` and ``{{ticket.group.name}}`` render them)."""
    return [common.event("fields_changed")]


def _feedback_received(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """"Customer feedback is received": the rating is in ``{{triggered_event}}``
    (``{customer_feedback:103}``) unless the rule's template states it as ``"rating"``."""
    rating = root.str("rating", required=False)
    where = f"{root.path}.rating"
    if not rating:
        name, value = _triggered(root)
        if name != "customer_feedback" or not isinstance(value, str):
            raise MalformedPayload(f"{root.path}.triggered_event: expected a customer feedback rating, "
                                   f"got {root.str('triggered_event')!r}")
        rating, where = value, f"{root.path}.triggered_event"
    try:
        score = adapter.csat_score(rating)
    except ValueError as exc:
        raise MalformedPayload(f"{where}: {exc}") from exc
    return [common.event("csat_received", csat=Csat(score=score))]


def _ticket_reassigned(root: Payload, common: _Common) -> list[HelpdeskEvent]:
    """Agent or group updated: the new assignee (by email, else name) and group."""
    assignee = (root.str("ticket_agent_email", required=False) or root.str("ticket_agent_name", required=False)
                or None)
    group = root.str("ticket_group_name", required=False) or None
    return [common.event("reassigned", assignee=assignee, group=group)]


#: Deskloop event name (the ``deskloop_event`` each SETUP.md template states) -> handler.
EVENT_HANDLERS: dict[str, Handler] = {
    "ticket_created": _ticket_created,
    "customer_replied": _customer_replied,
    "agent_replied": _agent_replied,
    "note_added": _note_added,
    "status_changed": _status_changed,
    "ticket_reopened": _ticket_reopened,
    "properties_changed": _properties_changed,
    "feedback_received": _feedback_received,
    "ticket_reassigned": _ticket_reassigned,
}


# Readers ------------------------------------------------------------------------------------------


def _message_event(common: _Common, kind: EventKind, role: AuthorRole, field: str, public: bool) -> HelpdeskEvent:
    author, body = adapter.split_comment(_text(common.root, field))
    if not body:
        raise MalformedPayload(f"{common.root.path}.{field}: the comment has no body")
    message = Message(author_role=role, body=body, public=public, author_name=author,
                      created_at=common.occurred_at)
    ours = adapter.written_by_deskloop(body) or (
        common.api_user is not None and author is not None and author.casefold() == common.api_user.casefold())
    return common.event(kind, message=message, from_deskloop=ours)


def _custom_fields(root: Payload) -> dict[str, str]:
    """``ticket_custom_fields``: the ``cf_*`` placeholders a template lists (``SETUP.md``, 3.1 and
    3.7: ``{"cf_page_url": "{{ticket.cf_page_url}}"}``), rendered as strings. A blank render (the
    field is empty) says nothing and is left out; an unrendered ``{{...}}`` names a field the
    account does not have and is left out too."""
    custom = root.obj("ticket_custom_fields", required=False)
    if custom is None:
        return {}
    out = {}
    for key in custom.data:
        value = custom.str(key, required=False)
        if value and value.strip() and not value.strip().startswith("{{"):
            out[str(key)] = value.strip()
    return out


def _text(root: Payload, key: str) -> str:
    """A required placeholder: present and not blank (an empty render means a wrong template)."""
    value = root.str(key)
    if not value.strip():
        raise MalformedPayload(f"{root.path}.{key}: empty")
    return value


def _time(root: Payload, key: str) -> datetime:
    value = _text(root, key)
    try:
        return adapter.placeholder_time(value)
    except ValueError as exc:
        raise MalformedPayload(f"{root.path}.{key}: {exc}") from exc


def _triggered(root: Payload) -> tuple[str, str | tuple[str, str]]:
    value = _text(root, "triggered_event")
    try:
        return adapter.parse_triggered_event(value)
    except ValueError as exc:
        raise MalformedPayload(f"{root.path}.triggered_event: {exc}") from exc
