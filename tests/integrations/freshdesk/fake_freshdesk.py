"""A local server that answers like Freshdesk's REST API v2, for python-freshdesk unmodified.

``make_app(tickets=N)`` serves N generated tickets shaped like ``fixtures/api/tickets_page.json``
(each generated ticket copies one of its entries), with conversations shaped like
``conversations.json``. What the client must get right is enforced the way Freshdesk does:

- basic auth with the API key as user name (401 with Freshdesk's error body otherwise);
- ``GET /api/v2/tickets`` without ``filter`` applies no view, but ``filter=new_and_my_open``
  (python-freshdesk's default) returns only open tickets, and without ``updated_since`` only
  tickets created in the last 30 days come back; default order is ``created_at desc``;
- pages of at most ``per_page_max`` (Freshdesk: 100), at most 300 pages, and a ``Link`` header
  with ``rel="next"`` while more follow;
- three tickets share each ``updated_at`` second (as bulk updates make them), so a client
  bookmarking by time has to handle ties.

Tickets are generated on request from their number, so 10,000 of them cost nothing until
listed. ``sorting`` (:class:`tests.fake_api.Sorting`) gives tickets their ``type``, group (its
``group_id``, listed by ``GET /api/v2/groups``), ``cf_`` custom fields and tags; ``content``
(:class:`tests.fake_api.Content`) their subject, ``description`` (the customer's message),
``status``, ``source`` (the channel), requester, and conversations: only the agent's public
reply, when there is one. Writes (``PUT`` tags, status and group; ``POST`` notes and replies)
are kept in :class:`FakeFreshdesk` for tests to read, and checked as Freshdesk checks them (a
status code it has, a group the account lists, a body that is not blank: 400 with its
``Validation failed`` body otherwise).
"""

from __future__ import annotations

import bisect
import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, Response, jsonify, request

import integrations.freshdesk
from tests.fake_api import (
    ContentSource,
    FaultPlan,
    FixtureBook,
    NamedIds,
    Recorded,
    SortingSource,
    content_for,
    html_paragraphs,
    instrument,
    sorting_for,
)

API_KEY = "fd-test-key-Jq8vR2mXw4"
DOMAIN = "northwind-bikes.freshdesk.com"
FIXTURES = Path(integrations.freshdesk.__file__).parent / "fixtures" / "api"
#: The generated history spans 120 days from BASE; "now" is a day after its end.
BASE = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=120)
NOW = BASE + SPAN + timedelta(days=1)
#: Tickets sharing one ``updated_at``.
TIES = 3
MAX_PAGES = 300
#: Ticket n's requester is contact REQUESTER_IDS + n.
REQUESTER_IDS = 47012000000
INCLUDES = {"requester", "description", "stats", "company"}
#: :class:`tests.fake_api.Content` statuses and channels as Freshdesk's codes (the channels as
#: the ``source`` codes of an email, a portal form and a chat).
STATUS_CODES = {"open": 2, "solved": 4, "closed": 5}
#: The statuses every account has: 2 open, 3 pending, 4 resolved, 5 closed (custom ones are not faked).
STATUSES = (2, 3, 4, 5)
SOURCE_CODES = {"email": 1, "web": 2, "chat": 7}
#: New group names get ids after this one.
NEW_GROUP_IDS = 47000660000


@dataclass
class FakeFreshdesk:
    """The server's state and instruments, for tests: ``faults`` to inject 429/5xx, ``requests``
    as received, ``fixtures`` to check every API fixture was served, and the writes."""

    tickets: int
    per_page_max: int
    api_key: str
    faults: FaultPlan
    requests: list[Recorded]
    fixtures: FixtureBook
    sorting: SortingSource = None
    content: ContentSource = None
    groups: NamedIds | None = None  # group name -> id, the fixture's groups first
    tags: dict[int, list[str]] = field(default_factory=dict)
    notes: dict[int, list[dict]] = field(default_factory=dict)  # notes and replies, as conversations
    changes: dict[int, dict] = field(default_factory=dict)  # ticket -> status, group_id PUT on it

    notes: dict[int, list[dict]] = field(default_factory=dict)
    created_tickets: dict[int, dict] = field(default_factory=dict)  # number -> the body POSTed to /tickets
    _templates: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        groups = -(-self.tickets // TIES)
        step = max(1, int(SPAN.total_seconds() // max(groups, 1)))
        start = int(BASE.timestamp())
        #: created_at / updated_at of ticket n at index n - 1, as epoch seconds (ascending).
        self.created = [start + ((n - 1) // TIES) * step for n in range(1, self.tickets + 1)]
        self.updated = [c + 2 * 3600 for c in self.created]

    def template(self, name: str):
        """A fixture, read (and marked used) the first time a response needs it."""
        if name not in self._templates:
            self._templates[name] = self.fixtures.load(name)
        return self._templates[name]

    def ticket(self, number: int, include: set[str]) -> dict:
        entries = self.template("tickets_page.json")
        shaped = dict(entries[(number - 1) % len(entries)])
        shaped["id"] = number
        shaped["created_at"] = _iso(self.created[number - 1])
        shaped["updated_at"] = _iso(self.updated[number - 1])
        chosen = sorting_for(self.sorting, number)
        if chosen.ticket_type is not None:
            shaped["type"] = chosen.ticket_type
        if chosen.group is not None:
            shaped["group_id"] = self.groups.id_for(chosen.group)
        if chosen.custom_fields:
            shaped["custom_fields"] = {**shaped["custom_fields"], **chosen.custom_fields}
        template_tags = shaped["tags"] if chosen.tags is None else chosen.tags
        shaped["tags"] = list(self.tags.get(number, template_tags))
        requester = dict(shaped["requester"])
        requester["id"] = shaped["requester_id"] = REQUESTER_IDS + number
        said = content_for(self.content, number)
        if said is not None:
            shaped.update(subject=said.subject, description=f"<div>{html_paragraphs(said.customer_message)}</div>",
                          description_text=said.customer_message, status=STATUS_CODES[said.status])
            if said.channel is not None:
                shaped["source"] = SOURCE_CODES[said.channel]
            if said.requester_name:
                requester.update(name=said.requester_name, email=said.requester_email(number))
        if "requester" in include:
            shaped["requester"] = requester
        else:
            del shaped["requester"]
        if "description" not in include:
            del shaped["description"], shaped["description_text"]
        return shaped

    def conversations(self, number: int) -> list[dict]:
        created = self.created[number - 1]
        found = []
        entries = self.template("conversations.json")
        said = content_for(self.content, number)
        if said is not None:  # the agent's public reply alone, if there is one
            reply = next(e for e in entries if not e["incoming"] and not e["private"])
            entries = [{**reply, "body": f"<div>{html_paragraphs(said.agent_reply)}</div>",
                        "body_text": said.agent_reply,
                        "to_emails": [said.requester_email(number) or reply["to_emails"][0]]}] \
                if said.agent_reply else []
        for k, entry in enumerate(entries):
            shaped = dict(entry)
            shaped["id"] = number * 100 + k
            shaped["ticket_id"] = number
            if shaped["incoming"]:
                shaped["user_id"] = REQUESTER_IDS + number
            shaped["created_at"] = shaped["updated_at"] = _iso(created + 1200 + k * 600)
            found.append(shaped)
        return found + self.notes.get(number, [])


def make_app(tickets: int = 3, per_page_max: int = 100, *, api_key: str = API_KEY,
             sorting: SortingSource = None, content: ContentSource = None) -> Flask:
    """The Flask app; its :class:`FakeFreshdesk` is ``fake(app)``. Serve it with
    :func:`tests.fake_api.serve`. Every group ``sorting`` names is listed from the start."""
    app = Flask(__name__)
    faults, log = instrument(app)
    state = FakeFreshdesk(tickets, per_page_max, api_key, faults, log, FixtureBook(FIXTURES), sorting, content)
    app.extensions["fake_freshdesk"] = state
    known = json.loads((FIXTURES / "groups.json").read_text())  # ids only: not "served" yet
    state.groups = NamedIds({g["name"]: g["id"] for g in known}, NEW_GROUP_IDS)
    for n in range(1, tickets + 1):
        chosen = sorting_for(sorting, n)
        if chosen.group:
            state.groups.id_for(chosen.group)

    @app.before_request
    def _authenticate():
        auth = request.authorization
        if auth is None or auth.username != state.api_key:
            return jsonify(state.template("error_invalid_credentials.json")), 401
        return None

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        response.headers.setdefault("X-RateLimit-Total", "700")
        response.headers.setdefault("X-RateLimit-Remaining", "699")
        response.headers.setdefault("X-RateLimit-Used-CurrentRequest", "1")
        return response

    @app.get("/api/v2/tickets")
    def list_tickets():
        include = _includes()
        if include is None:
            return _invalid("include", "It should be one/all of these values: 'requester,description,stats,company'")
        page, per_page = _paging(state)
        if page is None:
            return _invalid("page", f"It should be a Positive Integer less than or equal to {MAX_PAGES}")
        since = request.args.get("updated_since")
        if since is not None:
            try:
                moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return _invalid("updated_since", "It should be in the 'valid date time' format")
            first = bisect.bisect_left(state.updated, int(moment.timestamp()))
        else:  # Freshdesk: only tickets created in the last 30 days
            first = bisect.bisect_left(state.created, int((NOW - timedelta(days=30)).timestamp()))
        numbers = range(first + 1, state.tickets + 1)
        if request.args.get("order_type", "desc") == "desc":
            numbers = numbers[::-1]
        if request.args.get("filter") == "new_and_my_open":
            numbers = [n for n in numbers if state.ticket(n, set())["status"] == 2]
        offset = (page - 1) * per_page
        chosen = numbers[offset:offset + per_page]
        response = jsonify([state.ticket(n, include) for n in chosen])
        if offset + per_page < len(numbers) and page < MAX_PAGES:
            _link_next(response, page)
        return response

    @app.get("/api/v2/tickets/<int:number>")
    def view_ticket(number: int):
        if not 1 <= number <= state.tickets:
            return Response(status=404)
        include = _includes()
        if include is None:
            return _invalid("include", "It should be one/all of these values: 'conversations,requester,company,stats'")
        shaped = dict(state.template("ticket.json"))
        shaped.update(state.ticket(number, include | {"description"}))
        if "requester" not in include:
            shaped.pop("requester", None)
        return jsonify(shaped)

    @app.put("/api/v2/tickets/<int:number>")
    def update_ticket(number: int):
        if not 1 <= number <= state.tickets:
            return Response(status=404)
        body = request.get_json(silent=True) or {}
        if "tags" in body:
            if not isinstance(body["tags"], list) or not all(isinstance(t, str) for t in body["tags"]):
                return _invalid("tags", "It should be an Array of Strings")
        if "status" in body and body["status"] not in STATUSES:
            return _invalid("status", "It should be one of these values: '2,3,4,5'")
        if "group_id" in body and body["group_id"] not in state.groups.ids.values():
            return _invalid("group_id", "There is no group matching the given group_id")
        if "tags" in body:
            state.tags[number] = list(body["tags"])
        state.changes.setdefault(number, {}).update({k: body[k] for k in ("status", "group_id") if k in body})
        shaped = dict(state.template("ticket_updated.json"))
        shaped.update(state.ticket(number, {"description"}))
        shaped.update(state.changes.get(number, {}))
        shaped.pop("requester", None)
        return jsonify(shaped)

    @app.post("/api/v2/tickets")
    def create_ticket():
        """https://developers.freshdesk.com/api/#create_ticket: 201 with the new ticket. Refused as
        Freshdesk refuses it (400 Validation failed): no requester (``email`` here), a blank
        subject or description, a status or priority that is not a code, a custom field that is
        not a ``cf_`` name."""
        body = request.get_json(silent=True) or {}
        if not body.get("email") and not body.get("requester_id"):
            return _invalid("requester_id", "Please fill at least 1 of requester_id, phone, email, facebook_id, "
                                            "twitter_id, unique_external_id fields")
        for name in ("subject", "description"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                return _invalid(name, "It should not be blank as this is a mandatory field")
        for name in ("status", "priority", "source"):
            if name in body and not isinstance(body[name], int):
                return _invalid(name, "It should be one of these values: ...")
        custom = body.get("custom_fields") or {}
        bad = [key for key in custom if not str(key).startswith("cf_")]
        if bad:
            return _invalid(bad[0], "Unexpected/invalid field in request")
        state.tickets += 1
        number = state.tickets
        state.created.append(state.created[-1] if state.created else int(BASE.timestamp()))
        state.updated.append(state.created[-1])
        state.created_tickets[number] = body
        made = copy.deepcopy(state.template("ticket.json"))
        made.update(id=number, subject=body["subject"], description=body["description"], status=body.get("status"),
                    priority=body.get("priority"), source=body.get("source", 2),
                    custom_fields={**made.get("custom_fields", {}), **custom})
        made.pop("requester", None)
        return jsonify(made), 201

    @app.get("/api/v2/tickets/<int:number>/conversations")
    def list_conversations(number: int):
        if not 1 <= number <= state.tickets:
            return Response(status=404)
        page, per_page = _paging(state)
        if page is None:
            return _invalid("page", "It should be a Positive Integer")
        everything = state.conversations(number)
        offset = (page - 1) * per_page
        response = jsonify(everything[offset:offset + per_page])
        if offset + per_page < len(everything):
            _link_next(response, page)
        return response

    @app.post("/api/v2/tickets/<int:number>/notes")
    def add_note(number: int):
        if not 1 <= number <= state.tickets:
            return Response(status=404)
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            return _invalid("body", "It should not be blank as this is a mandatory field")
        note = copy.deepcopy(state.template("note_created.json"))
        note.update(body=body["body"], body_text=body["body"], private=bool(body.get("private", True)),
                    ticket_id=number, id=number * 100 + 50 + len(state.notes.get(number, [])))
        state.notes.setdefault(number, []).append(dict(note, incoming=False, source=2))
        return jsonify(note), 201

    @app.post("/api/v2/tickets/<int:number>/reply")
    def reply(number: int):
        """https://developers.freshdesk.com/api/#reply_ticket: the reply as the conversation it made."""
        if not 1 <= number <= state.tickets:
            return Response(status=404)
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            return _invalid("body", "It should not be blank as this is a mandatory field")
        made = copy.deepcopy(state.template("reply_created.json"))
        made.update(body=body["body"], body_text=body["body"], ticket_id=number,
                    id=number * 100 + 50 + len(state.notes.get(number, [])))
        state.notes.setdefault(number, []).append(dict(made, incoming=False, private=False, source=0))
        return jsonify(made), 201

    @app.get("/api/v2/groups")
    def list_groups():
        """https://developers.freshdesk.com/api/#list_all_groups: every group, the fixture's first."""
        page, per_page = _paging(state)
        if page is None:
            return _invalid("page", "It should be a Positive Integer")
        template = state.template("groups.json")
        everything = []
        for position, (name, group_id) in enumerate(state.groups.ids.items()):
            group = dict(template[min(position, len(template) - 1)])
            if group["id"] != group_id:
                group.update(description=None, agent_ids=[])
            group.update(id=group_id, name=name)
            everything.append(group)
        offset = (page - 1) * per_page
        response = jsonify(everything[offset:offset + per_page])
        if offset + per_page < len(everything):
            _link_next(response, page)
        return response

    @app.get("/api/v2/agents/me")
    def current_agent():
        return jsonify(state.template("agent_me.json"))

    return app


def fake(app: Flask) -> FakeFreshdesk:
    return app.extensions["fake_freshdesk"]


def _includes() -> set[str] | None:
    named = {part for part in request.args.get("include", "").split(",") if part}
    return named if named <= INCLUDES | {"conversations"} else None


def _paging(state: FakeFreshdesk) -> tuple[int | None, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 30))
    except ValueError:
        return None, 0
    if page < 1 or page > MAX_PAGES or per_page < 1:
        return None, 0
    return page, min(per_page, state.per_page_max)


def _link_next(response: Response, page: int) -> None:
    args = request.args.to_dict()
    args["page"] = str(page + 1)
    query = "&".join(f"{k}={v}" for k, v in args.items())
    response.headers["Link"] = f'<https://{DOMAIN}{request.path}?{query}>; rel="next"'


def _invalid(name: str, message: str):
    return jsonify({"description": "Validation failed",
                    "errors": [{"field": name, "message": message, "code": "invalid_value"}]}), 400


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
