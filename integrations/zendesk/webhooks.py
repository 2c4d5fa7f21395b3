"""Inbound Zendesk webhooks: signature verification and ticket events into common events. Pure, no I/O.

The webhook is an event subscription (Admin Center > Webhooks > "Zendesk events"): Zendesk POSTs
one JSON object per event, ``{"type": "zen:event-type:ticket.comment_added", "id", "time",
"subject", "detail": <the ticket>, "event": <what changed>}``.

References:
- Ticket events: https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events
- Event schema: https://developer.zendesk.com/api-reference/webhooks/event-types/webhook-event-types/
- Signing: https://developer.zendesk.com/documentation/webhooks/verifying/

**Loop prevention.** ``detail.via.channel`` is how the *ticket* was created, not how this change
was made, so it cannot tell our own writes apart. The actor can: Deskloop writes tags and notes
as the API user whose token it holds, so a change whose actor is that user (the comment's
author for ``comment_added``, ``detail.actor_id`` otherwise) is ``from_deskloop``. The user's id
comes from the tenant's settings (``api_user_id``, see :meth:`ZendeskClient.api_user_id`); when it
is unknown nothing can be marked.

**Groups, forms, type.** Every ticket event's ``detail`` is the ticket after the change, with
``type`` (upper case), ``group_id`` and ``form_id``: ids only. They are named with the maps
``tenant add`` stores in the tenant's settings (``group_names``, ``form_names``, read by
:meth:`ZendeskClient.identity`), so a webhook and a backfill name a group alike; a group created
since (or a tenant added with ``--no-check``) is stored by its id until a backfill re-reads the
ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from core.events import BadSignature, EventKind, HelpdeskEvent, MalformedPayload
from core.helpdesk.page_fields import PageFields
from core.types import Message, Person, Priority
from integrations.payload import Payload
from integrations.zendesk.adapter import (
    PRIORITIES,
    is_zendesk_status,
    named,
    priority_from_zendesk,
    status_from_zendesk,
    ticket_type_from_zendesk,
)

EVENT_TYPE_PREFIX = "zen:event-type:"
SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
#: How far the signed timestamp may be from our clock, either way. Zendesk documents no window;
#: five minutes covers clock skew and a delivery's time in Zendesk's queue while making a
#: captured delivery useless soon after. A replay inside the window is stopped by the event id.
REPLAY_WINDOW = timedelta(minutes=5)
#: The tenant setting naming the Zendesk user Deskloop writes as (see the module docstring).
API_USER_SETTING = "api_user_id"
#: Tenant settings naming the account's groups and ticket forms by id (see the module docstring).
GROUP_NAMES_SETTING = "group_names"
FORM_NAMES_SETTING = "form_names"

_SOLVED = frozenset({"solved", "closed"})
_UNSOLVED = frozenset({"new", "open", "pending", "on_hold"})


# Signatures -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: str) -> dict[str, str]:
    """The two headers Zendesk sends: base64(HMAC-SHA256(secret, timestamp + body)). The secret's
    UTF-8 bytes are the key as is (not base64-decoded); timestamp and body are joined with nothing."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(digest).decode("ascii"), TIMESTAMP_HEADER: timestamp}


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
    """Return if ``body`` was signed with the tenant's ``webhook_secret`` within :data:`REPLAY_WINDOW`
    of ``now``; raise :class:`BadSignature` saying which check failed (never the secret or the
    expected signature)."""
    secret = secrets.get("webhook_secret")
    if not secret:
        raise BadSignature("no webhook_secret is configured for this tenant")
    lowered = {str(k).lower(): v for k, v in headers.items()}
    signature, timestamp = lowered.get(SIGNATURE_HEADER.lower()), lowered.get(TIMESTAMP_HEADER.lower())
    if not signature:
        raise BadSignature(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise BadSignature(f"missing {TIMESTAMP_HEADER} header")
    expected = sign(body, secret, timestamp)[SIGNATURE_HEADER]
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise BadSignature("signature does not match the body and timestamp")
    try:
        signed_at = datetime.fromisoformat(timestamp.strip())
    except ValueError as exc:
        raise BadSignature(f"{TIMESTAMP_HEADER} is not an ISO-8601 time") from exc
    signed_at = signed_at.replace(tzinfo=UTC) if signed_at.tzinfo is None else signed_at
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    if abs(now - signed_at) > REPLAY_WINDOW:
        raise BadSignature(f"timestamp is more than {REPLAY_WINDOW.seconds // 60} minutes from this server's clock")


# Parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One event subscription delivery: its identity fields read and checked, and the two objects
    handlers read (``detail``, the ticket after the change; ``event``, what changed)."""

    detail: Payload
    event: Payload
    event_id: str
    ticket_external_id: str
    occurred_at: datetime
    api_user_id: str | None
    group_names: Mapping[str, str]
    form_names: Mapping[str, str]
    page_fields: PageFields = PageFields()

    def group(self, group_id: str | None) -> str | None:
        return named(group_id, self.group_names)

    def sorting(self) -> dict[str, Any]:
        """The ticket's type and form after the change, as ``detail`` tells them."""
        return {"ticket_type": ticket_type_from_zendesk(self.detail.str("type", required=False)),
                "form": named(self.detail.str("form_id", required=False), self.form_names)}

    def by_deskloop(self, actor_id: str | None) -> bool:
        return self.api_user_id is not None and actor_id is not None and actor_id == self.api_user_id

    def common(self, kind: EventKind, **fields: Any) -> HelpdeskEvent:
        """A common event with this delivery's identity; a field pydantic rejects is a malformed payload."""
        fields.setdefault("from_deskloop", self.by_deskloop(self.detail.str("actor_id", required=False)))
        try:
            return HelpdeskEvent(kind=kind, event_id=self.event_id, ticket_external_id=self.ticket_external_id,
                                 occurred_at=self.occurred_at, **fields)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise MalformedPayload(f"{where}: {first.get('msg')}") from exc


Handler = Callable[[Delivery], list[HelpdeskEvent]]


def _path(p: Payload, key: str) -> str:
    return f"{p.path}.{key}" if p.path else key


def _status(p: Payload, key: str, required: bool = True) -> str | None:
    """A Zendesk status as given (``"HOLD"``); an unknown value is a malformed payload."""
    value = p.str(key, required)
    if value is not None and not is_zendesk_status(value):
        raise MalformedPayload(f"{_path(p, key)}: unknown status {value!r}")
    return value


def _priority(p: Payload, key: str, required: bool = True) -> Priority | None:
    value = p.str(key, required)
    if value is not None and value.lower() not in PRIORITIES:
        raise MalformedPayload(f"{_path(p, key)}: unknown priority {value!r}")
    return priority_from_zendesk(value)


def ticket_created(d: Delivery) -> list[HelpdeskEvent]:
    """The ticket's fields, and its opening comment (``detail.description``) as the first message:
    written by the customer unless an agent submitted the ticket for them."""
    detail = d.detail
    requester_id, submitter_id = detail.str("requester_id", required=False), detail.str("submitter_id", required=False)
    description = detail.str("description", required=False)
    message = None if not description else Message(
        author_role="agent" if submitter_id and requester_id and submitter_id != requester_id else "customer",
        body=description, created_at=detail.time("created_at", required=False) or d.occurred_at)
    via = detail.obj("via", required=False)
    return [d.common(
        "ticket_created", subject=detail.str("subject", required=False),
        requester=Person(external_id=requester_id) if requester_id else None,
        organization=detail.str("organization_id", required=False), tags=detail.strings("tags", required=False),
        priority=_priority(detail, "priority", required=False),
        status=status_from_zendesk(_status(detail, "status", required=False)),
        channel=via.str("channel", required=False) if via else None,
        created_at=detail.time("created_at", required=False), assignee=detail.str("assignee_id", required=False),
        group=d.group(detail.str("group_id", required=False)), message=message, **d.sorting())]


def comment_added(d: Delivery) -> list[HelpdeskEvent]:
    """A staff author's comment is an agent reply (a private one is an internal note, still an
    agent reply, with ``public=False``); anyone else's is the customer's.

    The ticket's opening comment is skipped: ``ticket.created`` already carries it (as
    ``detail.description``, without a comment id to dedupe on), and reporting it twice would store
    the first message twice and answer it twice. It is recognised as the comment whose text is the
    description on a ticket not updated since it was created.
    """
    comment = d.event.obj("comment")
    author = comment.obj("author")
    body = comment.str("body")
    if _is_opening_comment(d, body):
        return []
    staff = author.bool("is_staff")
    author_id, comment_id = author.str("id", required=False), comment.str("id")
    message = Message(author_role="agent" if staff else "customer", body=body, public=comment.bool("is_public"),
                      author_name=author.str("name", required=False), created_at=d.occurred_at,
                      external_id=comment_id)
    return [d.common("agent_replied" if staff else "customer_replied", message=message,
                     message_external_id=comment_id, from_deskloop=d.by_deskloop(author_id))]


def _is_opening_comment(d: Delivery, body: str) -> bool:
    created, updated = d.detail.time("created_at", required=False), d.detail.time("updated_at", required=False)
    description = d.detail.str("description", required=False)
    return (created is not None and created == updated and description is not None
            and description.strip() == body.strip())


def status_changed(d: Delivery) -> list[HelpdeskEvent]:
    """Leaving solved or closed for an unsolved status is a reopen; Zendesk's deleted, archived and
    scrubbed states are not tracked by Deskloop and are ignored."""
    current = status_from_zendesk(_status(d.event, "current"))
    previous = status_from_zendesk(_status(d.event, "previous", required=False))
    if current is None:
        return []
    reopened = previous in _SOLVED and current in _UNSOLVED
    return [d.common("reopened" if reopened else "status_changed", status=current)]


def tags_changed(d: Delivery) -> list[HelpdeskEvent]:
    """The ticket's whole tag list after the change (``detail.tags``), not only what was added or
    removed: applying it is then idempotent and order-independent."""
    return [d.common("fields_changed", tags=d.detail.strings("tags"))]


def priority_changed(d: Delivery) -> list[HelpdeskEvent]:
    """A cleared priority has no common value ("not said" is ``None``), so it is ignored."""
    priority = _priority(d.event, "current", required=False)
    return [] if priority is None else [d.common("fields_changed", priority=priority)]


def agent_assignment_changed(d: Delivery) -> list[HelpdeskEvent]:
    return [d.common("reassigned", assignee=d.event.str("current", required=False))]


def group_assignment_changed(d: Delivery) -> list[HelpdeskEvent]:
    """Only the group: the core counts a reassignment naming a group as an escalation."""
    return [d.common("reassigned", group=d.group(d.event.str("current", required=False)))]


def type_changed(d: Delivery) -> list[HelpdeskEvent]:
    """The ticket's type after the change (``detail.type``). A cleared type has no common value
    ("not said" is ``None``), so the stored one stays."""
    ticket_type = d.sorting()["ticket_type"]
    return [] if ticket_type is None else [d.common("fields_changed", ticket_type=ticket_type)]


def form_changed(d: Delivery) -> list[HelpdeskEvent]:
    """The ticket's form after the change (``detail.form_id``, named when the tenant knows it)."""
    form = d.sorting()["form"]
    return [] if form is None else [d.common("fields_changed", form=form)]


def custom_field_changed(d: Delivery) -> list[HelpdeskEvent]:
    """One ticket field's new value (``event.custom_field.id``, ``event.current``): kept with the
    custom fields, and as the page context's part when the tenant maps that field to it (the
    messenger's ``conversationFields`` fill them as the ticket is made). A cleared field says
    nothing new. Ticket events' ``detail`` carries no custom fields, so this is the only way they
    arrive before a backfill."""
    field_id = d.event.obj("custom_field").str("id")
    current = d.event.raw("current")
    if current in (None, "", []):
        return []
    fields = {field_id: current}
    return [d.common("fields_changed", custom_fields=fields, page_context=d.page_fields.context(fields))]


#: Zendesk event type (without ``zen:event-type:``) -> handler. Zendesk has no ticket event for a
#: satisfaction rating, so CSAT reaches Deskloop through the backfill
#: (``satisfaction_rating`` on the ticket).
EVENT_HANDLERS: dict[str, Handler] = {
    "ticket.created": ticket_created,
    "ticket.comment_added": comment_added,
    "ticket.status_changed": status_changed,
    "ticket.tags_changed": tags_changed,
    "ticket.priority_changed": priority_changed,
    "ticket.agent_assignment_changed": agent_assignment_changed,
    "ticket.group_assignment_changed": group_assignment_changed,
    "ticket.type_changed": type_changed,
    "ticket.form_changed": form_changed,
    "ticket.custom_field_changed": custom_field_changed,
}


def event_key(event_type: str) -> str:
    """``"zen:event-type:ticket.created"`` -> ``"ticket.created"``."""
    return event_type.removeprefix(EVENT_TYPE_PREFIX)


def event_name(body: bytes) -> str | None:
    """The delivered event's type (as the :data:`EVENT_HANDLERS` key), for logs; never raises."""
    try:
        event_type = Payload.from_body(body).str("type", required=False)
    except MalformedPayload:
        return None
    return None if event_type is None else event_key(event_type)


def parse(body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
    """The common events in one delivery: ``[]`` for a well-formed event Deskloop does not use,
    :class:`MalformedPayload` naming the field for one it cannot read. ``settings`` are the
    tenant's (``api_user_id`` marks our own changes, see the module docstring)."""
    payload = Payload.from_body(body)
    handler = EVENT_HANDLERS.get(event_key(payload.str("type")))
    if handler is None:
        return []
    settings = settings or {}
    api_user_id = settings.get(API_USER_SETTING)
    detail = payload.obj("detail")
    event = payload.obj("event", required=False) or Payload({}, "event")  # ticket.created may send none
    delivery = Delivery(detail=detail, event=event, event_id=payload.str("id"), ticket_external_id=detail.str("id"),
                        occurred_at=payload.time("time"),
                        api_user_id=None if api_user_id in (None, "") else str(api_user_id),
                        group_names=_names(settings, GROUP_NAMES_SETTING),
                        form_names=_names(settings, FORM_NAMES_SETTING),
                        page_fields=PageFields.from_settings(settings))
    events = handler(delivery)
    if len(events) > 1:  # one delivery, several facts: each needs its own idempotency key
        events = [e.model_copy(update={"event_id": f"{e.event_id}:{i}"}) for i, e in enumerate(events, 1)]
    for parsed in events:
        try:
            parsed.check()
        except ValueError as exc:
            raise MalformedPayload(str(exc)) from exc
    return events


def _names(settings: Mapping[str, Any], key: str) -> dict[str, str]:
    """An id -> name map from the tenant's settings (empty when absent or not a map)."""
    found = settings.get(key)
    return {str(k): str(v) for k, v in found.items() if v} if isinstance(found, Mapping) else {}
