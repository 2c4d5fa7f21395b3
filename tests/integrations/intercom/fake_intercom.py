"""A local server that answers like Intercom's REST API, for the real python-intercom client.

Conversations are generated from ``integrations/intercom/fixtures/api`` (the search page and the
full conversation), numbered ``0 .. conversations - 1``: conversation n has id
``ID_BASE + n`` and ``updated_at`` ``UPDATED_BASE + n * STEP``, so the newest is the last. Search
honours ``updated_at >`` (inclusive, as Intercom documents) and the ``sort`` option; without a
sort it answers newest first (Intercom does not document its default order, and a client that
forgets to sort should notice). ``starting_after`` tokens are opaque to the client.

Per request the server parses a cached fixture text and rewrites a few fields, so 10,000
conversations are served without building them up front.

``sorting`` (:class:`tests.fake_api.Sorting`, keyed by conversation number) gives conversations
their team (``team_assignee_id``, listed by ``GET /teams``), custom attributes and tags. Intercom
conversations carry no ticket type or form, so a sorting that names one is refused. ``content``
(:class:`tests.fake_api.Content`, keyed the same way) gives them their ``title``, the opening
message (``source``: body, author, and ``type``: ``email``, or ``conversation`` for the Messenger,
chat or web alike), ``state`` (``closed`` when solved or closed) and parts: the assignment, the
teammate's public reply (a ``comment`` by an ``admin``) and the close.

Usage::

    app = make_app(conversations=10)
    fake = state(app)              # fault plan, request log, fixture book, what was written
    with serve(app) as url:
        ...                        # Connection(..., settings={"api_url": url})
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request

from integrations.intercom import INTEGRATION
from tests.fake_api import (
    Content,
    ContentSource,
    FaultPlan,
    FixtureBook,
    NamedIds,
    Recorded,
    SortingSource,
    content_for,
    html_paragraphs,
    instrument,
    serve,
    sorting_for,
)

ACCESS_TOKEN = "dG9rOmZha2UtaW50ZXJjb20tdG9rZW4="
ID_BASE = 215468893450000
SOURCE_BASE = 3390210000
PART_BASE = 37400000000
UPDATED_BASE = 1_764_000_000
STEP = 60  # seconds between two conversations' updated_at
FIRST_TAG_ID = 9_130_001
#: New team names get ids after this one.
NEW_TEAM_IDS = 6000
_TAGS = re.compile(r"<[^>]+>")
_LINE_BREAK = re.compile(r"<br\s*/?>", re.I)
_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p(?:\s[^>]*)?>", re.I)
#: :class:`tests.fake_api.Content` channels as ``source.type``: the Messenger is a "conversation"
#: whether the customer opened it as a chat or from a web page.
SOURCE_TYPES = {"email": "email", "web": "conversation", "chat": "conversation"}
#: ``conversations.manage`` message types that change the state, and the state each leaves.
MANAGED_STATES = {"close": "closed", "snoozed": "snoozed", "open": "open"}


@dataclass
class FakeIntercom:
    """What a test can steer and inspect."""

    faults: FaultPlan
    requests: list[Recorded]
    fixtures: FixtureBook
    conversations: int
    #: Conversations (by number) that search lists but that 404 when fetched: deleted meanwhile.
    deleted: set[int] = field(default_factory=set)
    #: Conversations (by number) fetched with a part whose author is not an object.
    malformed: set[int] = field(default_factory=set)
    tags: dict[str, str] = field(default_factory=dict)  # lower-case name -> tag id
    tagged: list[tuple[str, str, str]] = field(default_factory=list)  # (conversation, tag id, admin id)
    replies: list[dict[str, Any]] = field(default_factory=list)  # (conversation id added as "conversation_id")
    managed: list[dict[str, Any]] = field(default_factory=list)  # conversations.manage bodies, the same way

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # contact id -> the contact
    started: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversation id -> the POST /conversations body
    #: PUT /conversations/{id} bodies, with "conversation_id" added.
    updates: list[dict[str, Any]] = field(default_factory=list)
    sorting: SortingSource = None
    content: ContentSource = None
    teams: NamedIds | None = None  # team name -> id, the fixture's teams first


def state(app: Flask) -> FakeIntercom:
    return app.extensions["fake_intercom"]


def conversation_id(number: int) -> str:
    return str(ID_BASE + number)


def updated_at(number: int) -> int:
    return UPDATED_BASE + number * STEP


def make_app(conversations: int = 3, per_page_max: int = 150, token: str = ACCESS_TOKEN,
             sorting: SortingSource = None, content: ContentSource = None) -> Flask:
    """An app answering ``POST /conversations/search``, ``GET /conversations/<id>``,
    ``POST /tags``, ``POST /conversations/<id>/tags``, ``POST /conversations/<id>/reply``,
    ``POST /conversations/<id>/parts`` (manage), ``GET /teams`` and ``GET /me`` for
    ``conversations`` generated conversations (bearer ``token`` required), sorted as ``sorting`` says
    and saying what ``content`` says (module notes)."""
    app = Flask("fake_intercom")
    faults, log = instrument(app)
    fake = FakeIntercom(faults, log, FixtureBook(INTEGRATION.fixtures_dir / "api"), conversations, sorting=sorting,
                        content=content)
    app.extensions["fake_intercom"] = fake
    known = json.loads((INTEGRATION.fixtures_dir / "api" / "teams.json").read_text())["teams"]  # not "served"
    fake.teams = NamedIds({t["name"]: int(t["id"]) for t in known}, NEW_TEAM_IDS)
    for number in range(conversations):
        chosen = sorting_for(sorting, number)
        if chosen.ticket_type is not None or chosen.form is not None:
            raise ValueError("Intercom conversations carry no ticket type or form")
        if chosen.group:
            fake.teams.id_for(chosen.group)
    texts: dict[str, str] = {}
    tag_ids = itertools.count(FIRST_TAG_ID)

    def fixture(name: str) -> Any:
        """A fresh copy of a fixture; the book records its use on the first one."""
        if name not in texts:
            texts[name] = json.dumps(fake.fixtures.load(name))
        return json.loads(texts[name])

    def answer(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status, content_type="application/json")

    def not_found() -> Response:
        return answer(fixture("error_not_found.json"), 404)

    def invalid(message: str) -> Response:
        return answer({"type": "error.list", "errors": [{"code": "parameter_invalid", "message": message}]}, 400)

    def generated(number: int, template: str, plaintext: bool = False) -> dict[str, Any]:
        said = content_for(fake.content, number)
        return sorted_as_asked(_generated(fixture(template), number, plaintext, said), number)

    def sorted_as_asked(conversation: dict[str, Any], number: int) -> dict[str, Any]:
        chosen = sorting_for(fake.sorting, number)
        if chosen.group is not None:
            conversation["team_assignee_id"] = str(fake.teams.id_for(chosen.group))
        if chosen.custom_fields:
            conversation["custom_attributes"] = {**(conversation.get("custom_attributes") or {}),
                                                 **chosen.custom_fields}
        if chosen.tags is not None:
            template = (conversation.get("tags") or {}).get("tags") or [{"type": "tag", "applied_at": 0}]
            conversation["tags"] = {"type": "tag.list", "tags": [
                {**template[0], "id": fake.tags.setdefault(name.lower(), str(next(tag_ids))), "name": name}
                for name in chosen.tags]}
        return conversation

    @app.before_request
    def _authenticate():
        if request.headers.get("Authorization") != f"Bearer {token}":
            return answer(fixture("error_unauthorized.json"), 401)
        return None

    @app.post("/conversations/search")
    def search():
        body = request.get_json(silent=True) or {}
        query, paging = body.get("query") or {}, body.get("pagination") or {}
        searched = (query.get("field"), query.get("operator"), type(query.get("value")))
        if searched != ("updated_at", ">", int):
            return invalid("the fake searches updated_at > <unix time> only")
        per_page = max(1, min(int(paging.get("per_page") or 20), per_page_max))
        offset = _read_token(paging.get("starting_after"))
        if offset is None:
            return invalid("starting_after is invalid")
        first = min(max(0, math.ceil((query["value"] - UPDATED_BASE) / STEP)), conversations)
        matching = range(first, conversations)
        if body.get("sort") != {"field": "updated_at", "order": "ascending"}:
            matching = matching[::-1]
        numbers = matching[offset:offset + per_page]
        page = fixture("conversations_search.json")
        template = json.dumps(page["conversations"][0])
        page["conversations"] = [sorted_as_asked(_generated(json.loads(template), n, said=content_for(fake.content, n)),
                                                 n) for n in numbers]
        page["total_count"] = len(matching)
        following = offset + per_page
        page["pages"] = {"type": "pages", "page": offset // per_page + 1, "per_page": per_page,
                         "total_pages": math.ceil(len(matching) / per_page)}
        if following < len(matching):
            page["pages"]["next"] = {"page": offset // per_page + 2, "starting_after": _token(following)}
        return answer(page)

    @app.get("/conversations/<conversation>")
    def find(conversation: str):
        number = _number(conversation, conversations)
        if number is None or number in fake.deleted:
            return not_found()
        found = generated(number, "conversation.json", request.args.get("display_as") == "plaintext")
        if number in fake.malformed:
            found["conversation_parts"]["conversation_parts"][0]["author"] = "admin"
        return answer(found)

    @app.post("/tags")
    def create_tag():
        name = str((request.get_json(silent=True) or {}).get("name") or "").strip()
        if not name:
            return invalid("name is required")
        tag_id = fake.tags.setdefault(name.lower(), str(next(tag_ids)))
        return answer({**fixture("tag.json"), "id": tag_id, "name": name})

    @app.post("/conversations/<conversation>/tags")
    def tag_conversation(conversation: str):
        body = request.get_json(silent=True) or {}
        names = {tag_id: name for name, tag_id in fake.tags.items()}
        if _number(conversation, conversations) is None:
            return not_found()
        if body.get("id") not in names or not body.get("admin_id"):
            return invalid("a known tag id and admin_id are required")
        fake.tagged.append((conversation, body["id"], str(body["admin_id"])))
        return answer({**fixture("tag_conversation.json"), "id": body["id"], "name": names[body["id"]],
                       "applied_by": {"type": "admin", "id": str(body["admin_id"])}})

    @app.post("/conversations/<conversation>/reply")
    def reply(conversation: str):
        body = request.get_json(silent=True) or {}
        number = _number(conversation, conversations + len(fake.started))
        if number is None:
            return not_found()
        if body.get("type") != "admin" or body.get("message_type") not in ("comment", "note") or \
                not body.get("admin_id") or not body.get("body"):
            return invalid("type admin, message_type comment or note, admin_id and body are required")
        fake.replies.append({**body, "conversation_id": conversation})
        answered = generated(number, "conversation_note.json")
        part = answered["conversation_parts"]["conversation_parts"][-1]
        part.update(part_type=body["message_type"], body=body["body"],
                    id=str(PART_BASE + number * 100 + 50 + len(fake.replies)))
        part["author"]["id"] = str(body["admin_id"])
        return answer(answered)

    @app.post("/conversations/<conversation>/parts")
    def manage(conversation: str):
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/manageconversation:
        close, snooze (until a future time), open, or assign to a teammate or a team the workspace
        has; answers the conversation after the change, its newest part the change itself."""
        body = request.get_json(silent=True) or {}
        number = _number(conversation, conversations)
        if number is None:
            return not_found()
        kind = body.get("message_type")
        if kind not in MANAGED_STATES and kind != "assignment" or not body.get("admin_id"):
            return invalid("message_type close, snoozed, open or assignment, and admin_id are required")
        if kind == "snoozed" and not (isinstance(body.get("snoozed_until"), int)
                                      and body["snoozed_until"] > time.time()):
            return invalid("snoozed_until must be a Unix time in the future")
        if kind == "assignment" and (body.get("type") not in ("admin", "team") or not body.get("assignee_id")):
            return invalid("an assignment needs type admin or team and an assignee_id")
        if kind == "assignment" and body["type"] == "team" and \
                str(body["assignee_id"]) not in {str(i) for i in fake.teams.ids.values()}:
            return answer({"type": "error.list", "errors": [{"code": "team_not_found", "message": "Team Not Found"}]},
                          404)
        fake.managed.append({**body, "conversation_id": conversation})
        answered = generated(number, "conversation_note.json")
        part = answered["conversation_parts"]["conversation_parts"][-1]
        part.update(part_type=kind, body=body.get("body"), id=str(PART_BASE + number * 100 + 80 + len(fake.managed)))
        part["author"]["id"] = str(body["admin_id"])
        if kind == "assignment":
            answered["team_assignee_id" if body["type"] == "team" else "admin_assignee_id"] = str(body["assignee_id"])
        else:
            state_now = MANAGED_STATES[kind]
            answered.update(state=state_now, open=state_now != "closed",
                            snoozed_until=body.get("snoozed_until") if kind == "snoozed" else None)
            part["state"] = state_now
        return answer(answered)

    @app.post("/contacts/search")
    def search_contacts():
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/contacts/searchcontacts:
        ``email = <address>`` only (what the client asks)."""
        query = (request.get_json(silent=True) or {}).get("query") or {}
        if (query.get("field"), query.get("operator")) != ("email", "=") or not isinstance(query.get("value"), str):
            return invalid("the fake searches email = <address> only")
        found = [c for c in fake.contacts.values() if (c.get("email") or "").lower() == query["value"].lower()]
        return answer({**fixture("contacts_search.json"), "data": found, "total_count": len(found)})

    @app.post("/contacts")
    def create_contact():
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/contacts/createcontact:
        needs an email, external_id or role; an email already taken is a 409 conflict, as Intercom's."""
        body = request.get_json(silent=True) or {}
        if not (body.get("email") or body.get("external_id") or body.get("role")):
            return invalid("one of email, external_id or role is required")
        if body.get("email") and any((c.get("email") or "").lower() == body["email"].lower()
                                     for c in fake.contacts.values()):
            conflict = {"code": "conflict", "message": "A contact matching those details already exists"}
            return answer({"type": "error.list", "errors": [conflict]}, 409)
        made = {**fixture("contact.json"), "id": f"6657b0e1c2a4f1d3e8a9{len(fake.contacts):04x}",
                "role": body.get("role") or "user", "email": body.get("email"), "name": body.get("name")}
        fake.contacts[made["id"]] = made
        return answer(made)

    @app.post("/conversations")
    def start_conversation():
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/createconversation:
        from a known contact (``from: {type: user|lead|contact, id}``), plain-text body; answers the
        message with its ``conversation_id``, which is a conversation from then on."""
        body = request.get_json(silent=True) or {}
        sender = body.get("from") or {}
        if sender.get("type") not in ("user", "lead", "contact") or not body.get("body"):
            return invalid("from (type user, lead or contact, and id) and body are required")
        if sender.get("id") not in fake.contacts:
            return not_found()
        new_id = conversation_id(conversations + len(fake.started))
        fake.started[new_id] = body
        return answer({**fixture("conversation_created.json"), "body": body["body"], "conversation_id": new_id})

    @app.put("/conversations/<conversation>")
    def update_conversation(conversation: str):
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/updateconversation:
        ``title`` and ``custom_attributes`` (merged into the conversation's)."""
        number = _number(conversation, conversations + len(fake.started))
        if number is None:
            return not_found()
        body = request.get_json(silent=True) or {}
        attributes = body.get("custom_attributes") or {}
        if not isinstance(attributes, dict) or not all(isinstance(v, str | int | float | bool) for v in
                                                       attributes.values()):
            return invalid("custom_attributes must map names to strings, numbers or booleans")
        fake.updates.append({**body, "conversation_id": conversation})
        found = generated(number, "conversation.json", request.args.get("display_as") == "plaintext")
        found["custom_attributes"] = {**(found.get("custom_attributes") or {}), **attributes}
        if "title" in body:
            found["title"] = body["title"]
        return answer(found)

    @app.get("/teams")
    def teams():
        """https://developers.intercom.com/docs/references/rest-api/api.intercom.io/teams/listteams:
        the fixture's teams, then every team ``sorting`` named."""
        listed = fixture("teams.json")
        template = listed["teams"]
        everyone = []
        for position, (name, team_id) in enumerate(fake.teams.ids.items()):
            team = dict(template[min(position, len(template) - 1)])
            if team["id"] != str(team_id):
                team.update(admin_ids=[], admin_priority_level={"primary_admin_ids": [], "secondary_admin_ids": []})
            team.update(id=str(team_id), name=name)
            everyone.append(team)
        return answer({**listed, "teams": everyone})

    @app.get("/me")
    def me():
        return answer(fixture("me.json"))

    return app


def _generated(template: dict[str, Any], number: int, plaintext: bool = False,
               said: Content | None = None) -> dict[str, Any]:
    """Conversation ``number`` from a fixture conversation: its ids, its times (shifted so that
    ``updated_at`` is :func:`updated_at`), and a subject of its own, or what ``said`` says."""
    shift = updated_at(number) - template["updated_at"]
    _shift_times(template, shift)
    template["id"] = conversation_id(number)
    template["title"] = f"Charged twice for invoice INV-{20000 + number}"
    source = template.get("source") or {}
    source["id"] = str(SOURCE_BASE + number)
    if said is not None:
        _say(template, number, said)
    parts = (template.get("conversation_parts") or {}).get("conversation_parts") or []
    for k, part in enumerate(parts):
        part["id"] = str(PART_BASE + number * 100 + k)
    if plaintext:
        for message in [source, *parts]:
            if message.get("body"):
                message["body"] = _plain(message["body"])
    return template


def _plain(body: str) -> str:
    """A body as ``display_as=plaintext`` gives it: tags gone, entities decoded, and the lines kept
    (a line break a newline, paragraphs a blank line apart), so words of two paragraphs never run
    together."""
    lines = _PARAGRAPH_BREAK.sub("\n\n", _LINE_BREAK.sub("\n", body))
    return html.unescape(_TAGS.sub("", lines)).strip()


def _say(conversation: dict[str, Any], number: int, said: Content) -> None:
    """Write ``said`` into a fixture conversation (a search result has no parts to rewrite)."""
    conversation["title"] = said.subject or None
    closed = said.status != "open"
    conversation.update(state="closed" if closed else "open", open=not closed)
    source = conversation["source"]
    source["body"] = html_paragraphs(said.customer_message)
    if said.channel is not None:
        source["type"] = SOURCE_TYPES[said.channel]
    if said.requester_name:
        contact = f"{number:024x}"
        source["author"].update(id=contact, name=said.requester_name, email=said.requester_email(number))
        for listed in (conversation.get("contacts") or {}).get("contacts") or []:
            listed["id"] = contact
    listing = conversation.get("conversation_parts")
    if not listing:
        return
    template = listing["conversation_parts"]
    kept = [next(p for p in template if p["part_type"] == "assignment")]
    if said.agent_reply:
        reply = next(p for p in template if p["part_type"] == "comment" and p["author"]["type"] == "admin")
        kept.append({**reply, "body": html_paragraphs(said.agent_reply)})
    if closed:
        kept.append(next(p for p in template if p["part_type"] == "close"))
    listing.update(conversation_parts=kept, total_count=len(kept))


def _shift_times(value: Any, shift: int) -> None:
    """Add ``shift`` to every Unix time (``*_at``, ``waiting_since``, ``snoozed_until``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, int) and not isinstance(item, bool) and \
                    (key.endswith("_at") or key in ("waiting_since", "snoozed_until")):
                value[key] = item + shift
            elif isinstance(item, dict | list):
                _shift_times(item, shift)
    elif isinstance(value, list):
        for item in value:
            _shift_times(item, shift)


def _number(conversation: str, conversations: int) -> int | None:
    number = int(conversation) - ID_BASE if conversation.isdigit() else -1
    return number if 0 <= number < conversations else None


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps([offset, "fake"]).encode()).decode()


def _read_token(token: str | None) -> int | None:
    """The offset a ``starting_after`` token stands for (0 without one, ``None`` if invalid)."""
    if not token:
        return 0
    try:
        offset, mark = json.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return None
    return offset if mark == "fake" and isinstance(offset, int) and offset >= 0 else None


__all__ = ["ACCESS_TOKEN", "FakeIntercom", "conversation_id", "make_app", "serve", "state", "updated_at"]
