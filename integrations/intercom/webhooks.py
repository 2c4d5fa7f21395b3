"""Intercom webhook notifications: verify the signature, turn a notification into common events.

Pure functions, no I/O. Intercom POSTs a ``notification_event`` whose ``topic`` says what
happened and whose ``data.item`` is the whole conversation
(https://developers.intercom.com/docs/references/webhooks/webhook-models). :data:`EVENT_HANDLERS`
maps each topic Deskloop uses to a small function; any other well-formed topic (``ping``, contact
and ticket topics, ...) parses to ``[]`` so the endpoint answers 200 and Intercom neither retries
nor pauses the subscription.

Replays: the signature has no timestamp, so there is no replay window to check. Duplicates and
replays are absorbed downstream by the event id (the notification's ``notif_...`` id, which a
retried delivery keeps) and by the message id (the conversation part id), each stored once.

Loop prevention: a note or reply Deskloop posted comes back with ``app_package_code`` set on its
part (:func:`.adapter.created_by_app`), and so does a close, snooze, open or assignment it made.
Tags carry no such mark, but each of a conversation's tags says who applied it (``applied_by``):
a tagging whose newest tags were all applied by Deskloop's
teammate is Deskloop's own. That teammate's id comes from the tenant setting ``admin_id`` (the
``admin_id`` credential, else the token's owner: :meth:`.client.IntercomClient.admin_id`);
without the setting no tagging can be marked.

Teams: a conversation names its team by id only; the tenant setting ``team_names`` (the
workspace's teams, read by :meth:`.client.IntercomClient.identity` at ``tenant add``) names it as
the backfill does. A team created since keeps its id until a backfill re-reads the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from core.events import BadSignature, HelpdeskEvent, MalformedPayload
from core.helpdesk.page_fields import PageFields
from integrations.intercom import adapter
from integrations.payload import Payload, read_json

SIGNATURE_HEADER = "X-Hub-Signature"
#: The tenant setting naming the Intercom teammate Deskloop writes as.
ADMIN_SETTING = "admin_id"
#: The tenant setting naming the workspace's teams by id.
TEAM_NAMES_SETTING = "team_names"
_SIGNATURE = re.compile(r"sha1=([0-9a-fA-F]{40})")

#: What a handler returns: (suffix, fields) per event. The suffix tells apart the events of one
#: notification and only joins the event id when a notification yields more than one.
Found = list[tuple[str, dict[str, Any]]]
#: A handler: the conversation in ``data.item`` and what it needs of the tenant's settings.
Handler = Callable[[Payload, "Tenant"], Found]


@dataclass(frozen=True)
class Tenant:
    """What handlers read of the tenant's settings: the teammate id Deskloop writes as (or None)
    and the workspace's team names by id."""

    admin_id: str | None = None
    team_names: Mapping[str, str] = field(default_factory=dict)
    page_fields: PageFields = PageFields()


def sign(body: bytes, secret: str) -> dict[str, str]:
    """The header Intercom sends with ``body``: ``sha1=`` + hex HMAC-SHA1 keyed by the app's
    client secret (Developer Hub > Basic Info), over the raw body bytes."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    return {SIGNATURE_HEADER: f"sha1={digest}"}


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
    """Return when ``X-Hub-Signature`` proves the body came from Intercom; raise
    :class:`BadSignature` otherwise. ``now`` is unused: the signature carries no timestamp.

    Developer Hub apps sign with the app's ``client_secret``
    (https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications);
    the per-subscription ``hub_secret`` belonged to the v1.0 webhook API.
    """
    secret = secrets.get("client_secret")
    if not secret:
        raise BadSignature("no client_secret is configured for this Intercom tenant")
    header = _header(headers, SIGNATURE_HEADER)
    if header is None:
        raise BadSignature(f"{SIGNATURE_HEADER} header missing")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise BadSignature(f"{SIGNATURE_HEADER} is not 'sha1=' followed by 40 hex digits")
    expected = sign(body, secret)[SIGNATURE_HEADER].removeprefix("sha1=")
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise BadSignature(f"{SIGNATURE_HEADER} does not match the body (is client_secret the app's?)")


def event_name(body: bytes) -> str | None:
    """The notification's topic, for logs (``None`` when the body has none)."""
    try:
        data = read_json(body)
    except MalformedPayload:
        return None
    topic = data.get("topic") if isinstance(data, dict) else None
    return topic if isinstance(topic, str) else None


def parse(body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
    """The common events in a verified notification (see the module notes); ``settings`` are the
    tenant's connection settings (``admin_id``)."""
    notification = Payload.from_body(body)
    handler = EVENT_HANDLERS.get(notification.str("topic"))
    if handler is None:
        return []
    notification_id = notification.str("id")
    item = notification.obj("data").obj("item")
    conversation_id = item.str("id")
    settings = settings or {}
    admin_id, teams = settings.get(ADMIN_SETTING), settings.get(TEAM_NAMES_SETTING)
    tenant = Tenant(None if admin_id in (None, "") else str(admin_id),
                    {str(k): str(v) for k, v in teams.items() if v} if isinstance(teams, Mapping) else {},
                    PageFields.from_settings(settings))
    found = handler(item, tenant)
    return [HelpdeskEvent(event_id=notification_id if len(found) == 1 else f"{notification_id}:{suffix}",
                          ticket_external_id=conversation_id, **fields).check()
            for suffix, fields in found]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


# -- handlers: one per topic, each reads the conversation in ``data.item`` -------------------------

def _ticket_fields(item: Payload) -> dict[str, Any]:
    """What every event can say about its ticket, so a ticket first heard of through a reply
    still gets its subject and customer."""
    return {"subject": adapter.subject(item) or None, "requester": adapter.requester(item),
            "created_at": item.time("created_at", required=False)}


def _messages(item: Payload, roles: set[str], public: bool) -> Found:
    """One event per part in the notification that is a message by ``roles`` with that
    visibility. The part id is the message id, so the same part seen again (another topic, a
    retry, the backfill) is stored once."""
    found = []
    for part in adapter.parts(item):
        message = adapter.part_message(part)
        if message is None or message.author_role not in roles or message.public != public:
            continue
        kind = "customer_replied" if message.author_role == "customer" else "agent_replied"
        found.append((cast(str, message.external_id), {  # part_message reads it from the part's required id
            "kind": kind, "occurred_at": message.created_at or item.time("updated_at"), "message": message,
            "message_external_id": message.external_id, "from_deskloop": adapter.created_by_app(part),
            **_ticket_fields(item)}))
    return found


#: The part each state change adds to the conversation (the notification carries it).
_CHANGE_PARTS = {"closed": "close", "opened": "open", "snoozed": "snoozed", "assigned": "assignment"}


def _with_typed_reply(item: Payload, suffix: str, fields: dict[str, Any]) -> Found:
    """A state change, plus the reply a teammate typed with it ("reply and close"). The change is
    Deskloop's own when its part was made through the API (``app_package_code``): a reply it
    closed or snoozed, a handoff it opened and assigned to a team. A person reopening the
    conversation in Intercom is not."""
    own = any(adapter.created_by_app(part) for part in adapter.parts(item)
              if part.str("part_type", required=False) == _CHANGE_PARTS[suffix])
    change = (suffix, {"occurred_at": item.time("updated_at"), **_ticket_fields(item), **fields,
                       "from_deskloop": own})
    return [change, *_messages(item, {"agent", "bot"}, public=True)]


def conversation_created(item: Payload, tenant: Tenant) -> Found:
    message = adapter.first_message(item)
    fields = {**_ticket_fields(item), "tags": adapter.tags(item), "priority": adapter.priority(item),
              "status": adapter.status(item), "channel": adapter.channel(item),
              "custom_fields": adapter.custom_fields(item),
              "page_context": adapter.page_context(item, tenant.page_fields),
              "group": adapter.team(item, tenant.team_names)}
    if message is None and not fields["subject"]:
        return []  # nothing to learn from yet; the first reply creates the ticket
    return [("created", {"kind": "ticket_created", "occurred_at": item.time("created_at"), "message": message,
                         "message_external_id": message.external_id if message else None, **fields})]


def customer_replied(item: Payload, tenant: Tenant) -> Found:
    return _messages(item, {"customer"}, public=True)


def agent_replied(item: Payload, tenant: Tenant) -> Found:
    return _messages(item, {"agent", "bot"}, public=True)


def agent_noted(item: Payload, tenant: Tenant) -> Found:
    return _messages(item, {"agent", "bot"}, public=False)


def closed(item: Payload, tenant: Tenant) -> Found:
    return _with_typed_reply(item, "closed", {"kind": "status_changed", "status": "solved"})


def opened(item: Payload, tenant: Tenant) -> Found:
    return _with_typed_reply(item, "opened", {"kind": "reopened", "status": "open"})


def snoozed(item: Payload, tenant: Tenant) -> Found:
    return _with_typed_reply(item, "snoozed", {"kind": "status_changed", "status": "pending"})


def unsnoozed(item: Payload, tenant: Tenant) -> Found:
    """Snoozes end by timer or by hand; the conversation is open again (not a reopen: it was
    never solved)."""
    return [("unsnoozed", {"kind": "status_changed", "status": "open", "occurred_at": item.time("updated_at"),
                           **_ticket_fields(item)})]


def assigned(item: Payload, tenant: Tenant) -> Found:
    """The conversation's teammate (``admin_assignee_id``) and team (``team_assignee_id``) after
    the change; a change of team is what Deskloop counts as an escalation."""
    return _with_typed_reply(item, "assigned", {
        "kind": "reassigned", "assignee": item.str("admin_assignee_id", required=False),
        "group": adapter.team(item, tenant.team_names)})


def tagged(item: Payload, tenant: Tenant) -> Found:
    """The conversation's whole tag list after the tagging (tags sit on parts in Intercom, and the
    conversation lists them all); Deskloop's own when its teammate applied the newest tags."""
    return [("tagged", {"kind": "fields_changed", "tags": adapter.tags(item), "occurred_at": item.time("updated_at"),
                        "from_deskloop": tenant.admin_id is not None
                        and adapter.newest_tags_applied_by(item) == {tenant.admin_id},
                        **_ticket_fields(item)})]


def rated(item: Payload, tenant: Tenant) -> Found:
    csat = adapter.csat(item)
    if csat is None:
        raise MalformedPayload(f"{item.path}.conversation_rating.rating: missing")
    return [("rated", {"kind": "csat_received", "csat": csat, "occurred_at": adapter.rated_at(item),
                       **_ticket_fields(item)})]


def priority_updated(item: Payload, tenant: Tenant) -> Found:
    return [("priority", {"kind": "fields_changed", "priority": adapter.priority(item),
                          "occurred_at": item.time("updated_at"), **_ticket_fields(item)})]


#: Topic -> handler. Each topic has ``fixtures/webhooks/<topic>.json``; subscribe to these in the
#: Developer Hub (SETUP.md).
EVENT_HANDLERS: dict[str, Handler] = {
    "conversation.user.created": conversation_created,
    "conversation.user.replied": customer_replied,
    "conversation.admin.replied": agent_replied,
    "conversation.admin.noted": agent_noted,
    "conversation.admin.closed": closed,
    "conversation.admin.opened": opened,
    "conversation.admin.snoozed": snoozed,
    "conversation.admin.unsnoozed": unsnoozed,
    "conversation.admin.assigned": assigned,
    "conversation_part.tag.created": tagged,
    "conversation.rating.added": rated,
    "conversation.priority.updated": priority_updated,
}
