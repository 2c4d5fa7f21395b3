"""Freshdesk's shapes translated into the common ones: REST v2 tickets and conversations, and the
strings automation-rule placeholders render.

Pure functions only (no I/O): the client hands in the dicts it fetched, the webhook parser the
strings it received. Freshdesk speaks in two vocabularies for the same thing: the REST API uses
numeric codes (status 2..5, priority 1..4, source 1..10), placeholders render display names
("Resolved", "Medium", "Email"). Both are read here.

How Freshdesk sorts a ticket, for teams that pick a label source other than an intent: ``type``
is a name in both vocabularies ("Question", "Problem", an account's own types), kept as written;
the group is an id in the API (``group_id``, named with the account's groups, which the client
lists once per backfill) and a name in placeholders (``{{ticket.group.name}}``), so both give
the name. Freshdesk exposes no ticket form on a ticket and no record of the canned responses or
scenario automations an agent applied, so ``form`` stays ``None`` and ``macros`` empty.

Vendor references:
- Tickets and conversations: https://developers.freshdesk.com/api/#tickets,
  https://developers.freshdesk.com/api/#conversations
- Placeholders: https://support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as dateparser

from core.helpdesk.page_fields import PageFields
from core.types import Message, Person, Priority, Status, Ticket

#: REST v2 status codes. 6 and above are an account's custom statuses ("Waiting on Customer",
#: "Waiting on Third Party"): Freshdesk treats them as waiting states, so they read as pending.
STATUS_CODES: dict[int, Status] = {2: "open", 3: "pending", 4: "solved", 5: "closed"}
STATUS_NAMES: dict[str, Status] = {"open": "open", "pending": "pending", "resolved": "solved", "closed": "closed"}
CUSTOM_STATUS: Status = "pending"

#: REST v2 priority codes and the names placeholders render; Freshdesk's "Medium" is our "normal".
PRIORITY_CODES: dict[int, Priority] = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
PRIORITY_NAMES: dict[str, Priority] = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}

#: REST v2 source codes (python-freshdesk's ``Ticket.source`` knows only 1..7 and raises KeyError
#: for the rest, so the raw code is read instead).
SOURCE_CODES: dict[int, str] = {1: "email", 2: "portal", 3: "phone", 4: "forum", 5: "twitter", 6: "facebook",
                                7: "chat", 8: "mobihelp", 9: "feedback_widget", 10: "outbound_email"}

#: The line Deskloop ends every note it writes with: the only trace a note placeholder keeps of
#: who wrote it, so a note-added delivery can be recognised as Deskloop's own (loop prevention).
NOTE_MARKER = "Added by Deskloop"

#: Custom survey ratings (Freshdesk's 103 "Extremely happy" .. -103 "Extremely unhappy"), by name.
#: A 3-point survey uses 103/100/-103 and a 5-point one 103/102/100/-102/-103, so the scale is
#: mapped linearly (distance from 100, out of 3) onto 1..5.
RATING_NAMES: dict[str, int] = {"extremely_happy": 103, "very_happy": 102, "happy": 101, "neutral": 100,
                                "unhappy": -101, "very_unhappy": -102, "extremely_unhappy": -103,
                                # the classic (pre-custom) survey's three answers
                                "awesome": 103, "not_good": -103}

_ATTACHMENTS_TAIL = re.compile(r"\n\n(?:Ticket a|A)ttachments :\n.*\Z", re.S)


# REST v2 ---------------------------------------------------------------------------------------


def ticket_from_api(ticket: Mapping[str, Any], conversations: Sequence[Mapping[str, Any]],
                    groups: Mapping[str, str] | None = None, page_fields: PageFields | None = None) -> Ticket:
    """A REST v2 ticket (listed with ``include=requester,description``) and its conversations;
    ``groups`` names the account's groups by id (as strings), an unnamed group keeps its id;
    ``page_fields`` the ``cf_*`` fields the tenant keeps the customer's page in.

    The description is the customer's first message; each conversation follows in time order,
    ``incoming`` ones from the customer, the rest from agents (``private`` ones are notes).
    """
    created_at = api_time(ticket.get("created_at"))
    first = ticket.get("description_text") or ticket.get("description") or ticket.get("subject") or ""
    messages = [Message(author_role="customer", body=first, public=True, created_at=created_at,
                        author_name=_requester_name(ticket))]
    requester_id = ticket.get("requester_id")
    for conv in sorted(conversations, key=lambda c: (api_time(c.get("created_at")) or created_at, c.get("id", 0))):
        by_requester = requester_id is not None and conv.get("user_id") == requester_id
        messages.append(Message(
            author_role="customer" if conv.get("incoming") else "agent",
            body=conv.get("body_text") or conv.get("body") or "",
            public=not conv.get("private", False),
            author_name=_requester_name(ticket) if by_requester else None,
            created_at=api_time(conv.get("created_at")),
            external_id=None if conv.get("id") is None else str(conv["id"]),
        ))
    priority = _as_int(ticket.get("priority"))
    return Ticket(
        source="freshdesk",
        external_id=str(ticket["id"]),
        subject=ticket.get("subject") or "",
        messages=messages,
        requester=_requester(ticket),
        tags=list(ticket.get("tags") or []),
        status=status_from_code(ticket.get("status")),
        priority=None if priority is None else PRIORITY_CODES.get(priority),
        channel=channel_from_code(ticket.get("source")),
        created_at=created_at,
        updated_at=api_time(ticket.get("updated_at")),
        custom_fields=dict(ticket.get("custom_fields") or {}),
        page_context=(page_fields or PageFields()).context(ticket.get("custom_fields")),
        ticket_type=text_or_none(ticket.get("type")),
        group=_group_name(ticket.get("group_id"), groups),
    )


def _group_name(group_id: Any, groups: Mapping[str, str] | None) -> str | None:
    if group_id is None or group_id == "":
        return None
    return (groups or {}).get(str(group_id)) or str(group_id)


def text_or_none(value: Any) -> str | None:
    """A name as given, trimmed; ``None`` for a missing or blank one (an empty placeholder)."""
    return (str(value).strip() or None) if value is not None else None


def status_from_code(code: Any) -> Status | None:
    number = _as_int(code)
    if number is None:
        return None
    return STATUS_CODES.get(number, CUSTOM_STATUS)


def channel_from_code(code: Any) -> str | None:
    number = _as_int(code)
    return None if number is None else SOURCE_CODES.get(number, f"source_{number}")


def api_time(value: Any) -> datetime | None:
    """REST v2 times are ISO-8601 UTC (``2024-05-14T09:31:07Z``); python-freshdesk hands them
    over already parsed. Either way an aware UTC datetime."""
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _requester(ticket: Mapping[str, Any]) -> Person | None:
    requester = ticket.get("requester")
    if isinstance(requester, Mapping):
        ext = requester.get("id", ticket.get("requester_id"))
        return Person(name=requester.get("name"), email=requester.get("email"),
                      external_id=None if ext is None else str(ext))
    if ticket.get("requester_id") is not None:
        return Person(external_id=str(ticket["requester_id"]))
    return None


def _requester_name(ticket: Mapping[str, Any]) -> str | None:
    requester = ticket.get("requester")
    return requester.get("name") if isinstance(requester, Mapping) else None


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Placeholder strings ---------------------------------------------------------------------------


def status_from_placeholder(value: str) -> Status:
    """``{{ticket.status}}`` renders the status name; a numeric code is read too."""
    if value.strip().isdigit():
        return status_from_code(value) or CUSTOM_STATUS
    return STATUS_NAMES.get(value.strip().lower(), CUSTOM_STATUS)


def priority_from_placeholder(value: str) -> Priority | None:
    if value.strip().isdigit():
        return PRIORITY_CODES.get(int(value))
    return PRIORITY_NAMES.get(value.strip().lower())


def channel_from_placeholder(value: str) -> str | None:
    """``{{ticket.source}}`` renders "Email", "Portal", "Feedback Widget"...; as a channel name."""
    if value.strip().isdigit():
        return channel_from_code(value)
    return "_".join(value.lower().split()) or None


def tags_from_placeholder(value: str) -> list[str]:
    """``{{ticket.tags}}`` renders the tag names joined with ", "."""
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def split_comment(value: str) -> tuple[str | None, str]:
    """``{{ticket.latest_public_comment}}`` / ``latest_private_comment`` render
    ``"<author name> : <body HTML>"``, followed by an "Attachments :" list when there are any.
    Returns (author name, body); the name is ``None`` when the separator is missing."""
    text = _ATTACHMENTS_TAIL.sub("", value)
    name, sep, body = text.partition(" : ")
    if not sep:
        return None, text.strip()
    return name.strip() or None, body.strip()


def strip_attachments(value: str) -> str:
    """``{{ticket.description}}`` appends a "Ticket attachments :" list; the message is the text."""
    return _ATTACHMENTS_TAIL.sub("", value).strip()


def placeholder_time(value: str) -> datetime:
    """A time as a placeholder renders it, as an aware UTC datetime.

    ``{{ticket.modified_on}}`` is a Rails time printed with ``to_s``: ``2025-03-04 10:15:42 UTC``
    or, in an account with another time zone, ``2025-03-04 15:45:42 +0530``. ISO-8601 and RFC 2822
    are read too. A time without a zone is taken as UTC. ``ValueError`` when it is not a time
    (an unrendered ``{{...}}`` included).
    """
    try:
        parsed = _rails_time(value) or dateparser.parse(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: before year 1 or after 9999 in UTC
        raise ValueError(f"not a time: {value!r}") from exc


def _rails_time(value: str) -> datetime | None:
    """The placeholder's own two shapes, read exactly (a tenth of dateutil's cost, on every
    delivery); None for anything else, which dateutil then reads."""
    try:
        if value.endswith(" UTC"):
            return datetime.strptime(value[:-4], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


def parse_triggered_event(value: str) -> tuple[str, str | tuple[str, str]]:
    """``{{triggered_event}}`` describes the event that fired the rule, in one of two shapes:
    ``{note_type:private}`` or ``{status:{from:4,to:5}}`` (keys unquoted in the deliveries seen;
    quoted JSON is read as well). Returns (name, value) or (name, (from, to)).
    ``ValueError`` when it has neither shape.
    """
    text = value.replace("\\", "").replace('"', "").replace("'", "").strip()
    outer = re.fullmatch(r"\{\s*([\w\-]+)\s*:\s*(.*?)\s*\}", text, re.S)
    if outer is None:
        raise ValueError(f"not a Freshdesk event description: {value!r}")
    name, rest = outer.groups()
    change = re.fullmatch(r"\{\s*from\s*:\s*(.*?)\s*,\s*to\s*:\s*(.*?)\s*", rest, re.S)
    if rest.startswith("{"):
        if change is None:
            raise ValueError(f"not a Freshdesk event description: {value!r}")
        return name, (change.group(1), change.group(2))
    return name, rest


def csat_score(rating: str) -> int:
    """A Freshdesk survey rating (103 .. -103, or its name) on Deskloop's 1..5 scale."""
    try:
        value = int(rating.strip())
    except ValueError:
        key = "_".join(rating.lower().replace("-", " ").split())
        if key not in RATING_NAMES:
            raise ValueError(f"unknown satisfaction rating {rating!r}") from None
        value = RATING_NAMES[key]
    if not (100 <= abs(value) <= 103):
        raise ValueError(f"unknown satisfaction rating {rating!r}")
    steps = (abs(value) - 100) * (1 if value > 0 else -1)  # -3 .. 3
    return round(3 + 2 * steps / 3)


# Notes Deskloop writes -------------------------------------------------------------------------


def note_html(text: str) -> str:
    """Plain text as the HTML a Freshdesk note body is, ending with :data:`NOTE_MARKER`.

    Notes are HTML (https://developers.freshdesk.com/api/#add_note_to_a_ticket): without this the
    draft's line breaks would collapse into one paragraph."""
    return f"{paragraphs_html(text)}<p><em>{NOTE_MARKER}</em></p>"


def reply_html(text: str) -> str:
    """Plain text as the HTML of a reply body. No marker: the customer reads it, and the echo of
    Deskloop's reply is told apart by its author instead (:mod:`.webhooks`)."""
    return paragraphs_html(text)


def paragraphs_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines part them, single line breaks kept), escaped:
    Freshdesk's ticket descriptions, replies and notes are HTML."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def written_by_deskloop(body: str) -> bool:
    return NOTE_MARKER.lower() in body.lower()
