"""Intercom conversations in Deskloop's common shape (pure translation, no I/O).

An Intercom conversation is the ticket. Its ``source`` is the first message; its
``conversation_parts`` are everything after it: replies, notes, and state changes such as
assignments. The same conversation object comes back from the REST API (``conversations.find``,
https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/retrieveconversation)
and arrives inside webhook notifications as ``data.item``, so :mod:`.webhooks` reads it with these
functions too. Fields are read through :class:`integrations.payload.Payload`: a missing or mistyped
field fails here, naming its path.

Translation choices:

- An Intercom conversation that is ``closed`` reopens by itself when the customer writes again,
  which is Deskloop's ``solved`` (``closed`` means "no more changes" in the common vocabulary).
  ``snoozed`` is ``pending``: it reopens at ``snoozed_until``.
- ``priority`` is a flag in Intercom (``priority`` / ``not_priority``): ``high`` / ``normal``.
- A part is a message when it is a ``comment`` (public) or a ``note`` (private). A state change
  (assignment, close, open, snooze) is a message only when the teammate typed one with it: the
  "Manage a conversation" endpoint and the inbox put that text in the part's ``body``
  (https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/manageconversation).
  Other parts (e.g. Fin's reply-time notice ``channel_and_reply_time_expectation``) are system text.

How a conversation is sorted, for teams that pick a label source other than an intent:

- ``group`` is the team it is assigned to (``team_assignee_id``), named with the workspace's
  teams (``GET /teams``: the client lists them once per backfill, and ``tenant add`` keeps them
  in the tenant's settings for webhooks); a team with no known name keeps its id.
- ``custom_attributes`` are the custom fields, as before: where most workspaces keep a
  "Category" or "Reason" their teammates set.
- ``ticket_type`` and ``form`` stay ``None``: the conversation model of the API version Deskloop
  pins (2.14, and python-intercom 5.0.1's ``Conversation``) has neither. Ticket types belong to
  Intercom *tickets*, a separate object Deskloop does not backfill.
- ``macros`` stay empty: a part records no macro (saved reply) it was written with.
- ``topics`` (Intercom's own topic detection, seen in some responses as
  ``{"type": "topic.list", "topics": [...]}``) are not read: they are in neither that model nor
  python-intercom's, their item shape is undocumented, and they are Intercom's guess from the
  text rather than how the team sorted the conversation, so learning from them would teach a
  model to imitate another model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.events import MalformedPayload
from core.helpdesk.page_fields import PageFields
from core.types import (
    AuthorRole,
    Csat,
    Message,
    PageContext,
    Person,
    Priority,
    Status,
    Ticket,
)
from integrations.payload import Payload

#: Intercom author ``type`` -> who wrote it. Contacts are ``user`` or ``lead`` (``contact`` in
#: newer payloads, ``visitor`` before they identify); teammates are ``admin`` (or a ``team``).
AUTHOR_ROLES: dict[str, AuthorRole] = {
    "user": "customer", "lead": "customer", "contact": "customer", "visitor": "customer",
    "admin": "agent", "team": "agent",
    "bot": "bot",
}
#: Parts that are messages whatever they carry: part_type -> public.
MESSAGE_PARTS: dict[str, bool] = {"comment": True, "note": False}
#: State changes that are also a public message when their ``body`` is not empty.
STATE_PARTS_WITH_TEXT = frozenset({"assignment", "close", "open", "snoozed"})
STATUSES: dict[str, Status] = {"open": "open", "closed": "solved", "snoozed": "pending"}
PRIORITIES: dict[str, Priority] = {"priority": "high", "not_priority": "normal"}
#: ``source.type`` -> channel; "conversation" is a Messenger chat, the others keep their name.
CHANNELS = {"conversation": "chat"}


def as_payload(conversation: dict[str, Any] | Payload) -> Payload:
    return conversation if isinstance(conversation, Payload) else Payload(conversation)


def ticket_from_conversation(conversation: dict[str, Any] | Payload, teams: Mapping[str, str] | None = None,
                             page_fields: PageFields | None = None) -> Ticket | None:
    """The conversation as a :class:`Ticket`; ``None`` when it has no message at all (an empty
    outbound, or every part redacted), since a ticket needs at least one. ``teams`` names the
    workspace's teams by id (see the module notes); ``page_fields`` the custom attributes that
    carry the customer's page."""
    c = as_payload(conversation)
    messages = [m for m in [first_message(c)] + [part_message(p) for p in parts(c)] if m is not None]
    if not messages:
        return None
    statistics = c.obj("statistics", required=False)
    state = status(c)
    return Ticket(
        source="intercom",
        external_id=c.str("id"),
        subject=subject(c),
        messages=messages,
        requester=requester(c),
        tags=tags(c),
        priority=priority(c),
        status=state,
        channel=channel(c),
        created_at=c.time("created_at", required=False),
        updated_at=c.time("updated_at", required=False),
        first_response_at=statistics.time("first_admin_reply_at", required=False) if statistics else None,
        solved_at=statistics.time("last_close_at", required=False) if statistics and state == "solved" else None,
        csat=csat(c),
        reopen_count=(statistics.int("count_reopens", required=False) or 0) if statistics else 0,
        custom_fields=custom_fields(c),
        page_context=page_context(c, page_fields),
        group=team(c, teams),
    )


def parts(conversation: Payload) -> list[Payload]:
    """The conversation's parts, oldest first (absent in search results: ``[]``)."""
    listing = conversation.obj("conversation_parts", required=False)
    return listing.objects("conversation_parts", required=False) if listing else []


def author_role(author: Payload | None) -> AuthorRole | None:
    """Who wrote it; ``None`` for an author type Deskloop does not know (the part is skipped)."""
    return AUTHOR_ROLES.get(author.str("type", required=False) or "") if author else None


def first_message(conversation: Payload) -> Message | None:
    """The message that opened the conversation (``source``), usually the customer's."""
    source = conversation.obj("source", required=False)
    if source is None:
        return None
    author = source.obj("author", required=False)
    role, body = author_role(author), source.str("body", required=False)
    if role is None or body is None or not body.strip():
        return None
    return Message(author_role=role, body=body, public=True, author_name=_name(author),
                   created_at=conversation.time("created_at", required=False),
                   external_id=source.str("id", required=False))


def part_message(part: Payload) -> Message | None:
    """The part as a message, or ``None`` when it is not one (see the module notes)."""
    kind, body = part.str("part_type"), part.str("body", required=False)
    if kind in MESSAGE_PARTS:
        public = MESSAGE_PARTS[kind]
    elif kind in STATE_PARTS_WITH_TEXT:
        public = True
    else:
        return None
    author = part.obj("author", required=False)
    role = author_role(author)
    if role is None or body is None or not body.strip():
        return None
    return Message(author_role=role, body=body, public=public, author_name=_name(author),
                   created_at=part.time("created_at", required=False), external_id=part.str("id"))


def created_by_app(part: Payload) -> bool:
    """The part was written through the REST API by an installed app, not typed in Intercom.

    ``app_package_code`` is "the app package code if this part was created via API. null if the
    part was not created via API" (python-intercom 5.0.1 ``ConversationPart``). Deskloop writes
    only through the API, so a note or reply it posted comes back in a webhook with this set;
    marking such events ``from_deskloop`` keeps Deskloop from learning from its own text. Parts
    other apps post through the API are caught too; they are not a teammate's writing either.
    """
    return part.str("app_package_code", required=False) is not None


def subject(conversation: Payload) -> str:
    source = conversation.obj("source", required=False)
    return (source.str("subject", required=False) if source else None) or \
        conversation.str("title", required=False) or ""


def requester(conversation: Payload) -> Person | None:
    """The customer: name and email from the opening message's author when a contact wrote it,
    and the Intercom contact id (conversation ``contacts`` carry only ids)."""
    source = conversation.obj("source", required=False)
    author = source.obj("author", required=False) if source else None
    if author_role(author) != "customer":
        author = None
    contacts = conversation.obj("contacts", required=False)
    listed = contacts.objects("contacts", required=False) if contacts else []
    contact_id = listed[0].str("id", required=False) if listed else None
    name = _name(author)
    email = (author.str("email", required=False) or None) if author else None
    external_id = contact_id or (author.str("id", required=False) if author else None)
    if not (name or email or external_id):
        return None
    return Person(name=name, email=email, external_id=external_id)


def tags(conversation: Payload) -> list[str]:
    listing = conversation.obj("tags", required=False)
    return [tag.str("name") for tag in listing.objects("tags", required=False)] if listing else []


def newest_tags_applied_by(conversation: Payload) -> set[str]:
    """Who applied the conversation's most recently applied tags (``applied_at``, ``applied_by``
    on each tag; python-intercom 5.0.1 ``Tag``): the ids, empty when the tags do not say."""
    listing = conversation.obj("tags", required=False)
    applied = [(tag.int("applied_at", required=False), tag.obj("applied_by", required=False))
               for tag in (listing.objects("tags", required=False) if listing else [])]
    times = [at for at, _ in applied if at is not None]
    if not times:
        return set()
    newest = max(times)
    return {(by.str("id", required=False) or "") if by else "" for at, by in applied if at == newest}


def team(conversation: Payload, teams: Mapping[str, str] | None = None) -> str | None:
    """The team the conversation is assigned to, by name when ``teams`` knows it, else its id;
    ``None`` when no team is (Intercom sends null, or 0 in some payloads)."""
    team_id = conversation.str("team_assignee_id", required=False)
    if team_id in (None, "", "0"):
        return None
    return (teams or {}).get(team_id) or team_id


def status(conversation: Payload) -> Status | None:
    return STATUSES.get(conversation.str("state", required=False) or "")


def priority(conversation: Payload) -> Priority | None:
    return PRIORITIES.get(conversation.str("priority", required=False) or "")


def channel(conversation: Payload) -> str | None:
    source = conversation.obj("source", required=False)
    kind = source.str("type", required=False) if source else None
    return CHANNELS.get(kind, kind) if kind else None


def csat(conversation: Payload) -> Csat | None:
    """The customer's rating (Intercom rates 1 to 5, like Deskloop) and remark, if rated."""
    rating = conversation.obj("conversation_rating", required=False)
    score = rating.int("rating", required=False) if rating else None
    if rating is None or score is None:
        return None
    if not 1 <= score <= 5:
        raise MalformedPayload(f"{rating.path}.rating: expected 1 to 5, got {score}")
    return Csat(score=score, comment=rating.str("remark", required=False) or None)


def rated_at(conversation: Payload) -> datetime:
    """When the rating was last given (``updated_at``; ``created_at`` is when it was asked for)."""
    rating = conversation.obj("conversation_rating")
    return rating.time("updated_at", required=False) or conversation.time("updated_at")


def custom_fields(conversation: Payload) -> dict[str, Any]:
    found = conversation.raw("custom_attributes")
    return dict(found) if isinstance(found, dict) else {}


def page_context(conversation: Payload, page_fields: PageFields | None = None) -> PageContext | None:
    """Where the customer was: ``source.url`` (the page the conversation began on), and over it the
    custom attributes the tenant maps to the page's parts (``page_fields``), which the host app
    sets through the Messenger and which name the page more precisely than the first URL."""
    source = conversation.obj("source", required=False)
    url = source.str("url", required=False) if source else None
    base = PageContext(url=url) if url else None
    return (page_fields or PageFields()).context(custom_fields(conversation), base)


def _name(author: Payload | None) -> str | None:
    return (author.str("name", required=False) or None) if author else None
