"""A local server that answers like Zendesk's REST API, for zenpy unmodified.

Answers are built from ``integrations/zendesk/fixtures/api``: the export page, comments list, tag
and ticket update responses are the templates every generated answer copies, so generated
tickets have exactly the fixtures' shape. Each fixture is read when a route first needs it, so
:class:`tests.fake_api.FixtureBook` tells which routes a test exercised. Routes: the cursor-based
incremental ticket export (``after_cursor``/``after_url``/``end_of_stream``, the ``users``
sideload), a ticket's comments (cursor pagination), the tags PUT (appends), the ticket POST
(creates), the ticket PUT (records a comment, public or private, and a status or group change),
``users/me``, the account's groups (cursor pagination) and ticket forms.
Generated tickets are sorted as the ``sorting`` argument says (:class:`tests.fake_api.Sorting`:
``type``, ``group_id`` and ``ticket_form_id`` of named groups and forms, custom fields by field
id, tags), else as the template ticket is, and say what the ``content`` argument says
(:class:`tests.fake_api.Content`: ``subject``, ``description``, ``status``, ``via.channel``, the
requester's name, and comments: the requester's, then the agent's public reply), else what the
template's comments say. Every request needs ``email/token`` basic auth, as
Zendesk's does; faults and the request log come from :func:`tests.fake_api.instrument`.

Cheap per request, for 10,000 generated tickets: tickets are built on demand from the template
(copied by parsing its JSON text, several times faster than ``copy.deepcopy``). Absolute URLs
in answers (``after_url``, ``links.next``) use the forwarded host and scheme when the client sends
``X-Forwarded-Host``/``-Proto`` (ZendeskClient's transport does), so they name the account as
Zendesk's do.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

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
    sorting_for,
)

FIXTURES = Path(__file__).resolve().parents[3] / "integrations" / "zendesk" / "fixtures" / "api"
EXPORT, COMMENTS, TAGS = "incremental_tickets_cursor.json", "ticket_comments.json", "ticket_tags.json"
UPDATE, ME, NOT_FOUND = "ticket_update.json", "users_me.json", "record_not_found.json"
GROUPS, FORMS = "groups.json", "ticket_forms.json"
#: What a ticket's ``status`` may be set to (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/).
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
#: New group and form names get ids after these.
NEW_GROUP_IDS, NEW_FORM_IDS = 360009880000, 360001880000
#: Generated ticket ``n`` was last updated at ``EPOCH + n * STEP`` and created two hours before.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=7)
#: Generated ticket ``n`` is requested by user ``REQUESTER_BASE + n``.
REQUESTER_BASE = 50_000_000
NAMES = ["Priya Raman", "Marcus Lindqvist", "Aiko Tanaka", "Jamal Okafor", "Sofia Marchetti", "Dana Whitfield",
         "Lukas Brandt", "Mei-Ling Chou", "Rafael Duarte", "Hannah Obi"]


@dataclass
class FakeZendesk:
    """What the fake account holds and what it was asked to do."""

    tickets: int
    page_size: int
    comment_page_size: int
    deleted: frozenset[int]
    vanished: frozenset[int]
    faults: FaultPlan
    requests: list[Recorded]
    fixtures: FixtureBook
    sorting: SortingSource = None
    content: ContentSource = None
    groups: NamedIds | None = None  # group name -> id, the fixture's groups first
    forms: NamedIds | None = None  # ticket form name -> id
    tags: dict[int, list[str]] = field(default_factory=dict)  # ticket id -> its tags after our PUTs
    notes: dict[int, list[dict]] = field(default_factory=dict)  # ticket id -> the comments PUT on it
    changes: dict[int, dict[str, Any]] = field(default_factory=dict)  # ticket id -> status, group_id PUT
    created: dict[int, dict] = field(default_factory=dict)  # ticket id -> the ticket POSTed to create it
    app_public_keys: dict[int, str] = field(default_factory=dict)  # app id -> its PEM public key
    public_key_reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def readable(self, ticket_id: int) -> bool:
        if ticket_id in self.created:
            return True
        return 1 <= ticket_id <= self.tickets and ticket_id not in self.deleted | self.vanished


def fake(app: Flask) -> FakeZendesk:
    """The state of an app made by :func:`make_app`."""
    return app.extensions["fake_zendesk"]


def make_app(tickets: int = 3, page_size: int = 1000, deleted: Iterable[int] = (), vanished: Iterable[int] = (),
             comment_page_size: int = 100, sorting: SortingSource = None, content: ContentSource = None) -> Flask:
    """A Zendesk account with ``tickets`` generated tickets (ids 1..n, oldest first).

    ``sorting`` gives tickets their type, group, form, custom fields and tags, ``content`` their
    text, status and requester (see the module docstring); every group and form ``sorting``
    names is in the account's lists from the start.

    The export returns at most ``page_size`` tickets a page (fewer when the client's
    ``per_page`` asks for fewer; Zendesk's own cap is 1000), comments at most
    ``comment_page_size`` (Zendesk's cap: 100). ``deleted`` tickets are exported with status
    ``deleted``; ``vanished`` ones are exported normally but are gone when read, as a ticket
    deleted mid-backfill is. Both answer 404 ``RecordNotFound`` afterwards, as Zendesk does.
    """
    app = Flask(__name__)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)
    faults, log = instrument(app)
    book = FixtureBook(FIXTURES)
    state = FakeZendesk(tickets, page_size, comment_page_size, frozenset(deleted), frozenset(vanished), faults,
                        log, book, sorting, content)
    app.extensions["fake_zendesk"] = state
    listed = {name: json.loads((FIXTURES / name).read_text()) for name in (GROUPS, FORMS)}  # ids only: not "served"
    state.groups = NamedIds({g["name"]: g["id"] for g in listed[GROUPS]["groups"]}, NEW_GROUP_IDS)
    state.forms = NamedIds({f["name"]: f["id"] for f in listed[FORMS]["ticket_forms"]}, NEW_FORM_IDS)
    for n in range(1, tickets + 1):
        chosen = sorting_for(sorting, n)
        if chosen.group:
            state.groups.id_for(chosen.group)
        if chosen.form:
            state.forms.id_for(chosen.form)

    @cache
    def fixture(name: str) -> Any:
        """A fixture, read once on first use; never modified (answers work on copies)."""
        return book.load(name)

    @cache
    def text(name: str, *path: str | int) -> str:
        part = fixture(name)
        for key in path:
            part = part[key]
        return json.dumps(part)

    def copy_of(name: str, *path: str | int) -> Any:
        return json.loads(text(name, *path))

    def answer(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status, content_type="application/json; charset=utf-8")

    def cursor_for(position: int) -> str:
        return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")

    def position_of(cursor: str) -> int:
        try:
            return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        except ValueError:
            abort(answer({"error": "InvalidPaginationParameter", "description": "invalid cursor"}, 400))

    def order_number(n: int) -> str:
        return f"NW-{200000 + n}"

    def make_ticket(n: int) -> dict:
        template = fixture(EXPORT)["tickets"][0]
        ticket, order = copy_of(EXPORT, "tickets", 0), template["custom_fields"][0]["value"]
        updated = EPOCH + STEP * n
        ticket.update(
            id=n, url=f"{request.url_root}api/v2/tickets/{n}.json", requester_id=REQUESTER_BASE + n,
            submitter_id=REQUESTER_BASE + n, assignee_id=fixture(EXPORT)["users"][-1]["id"],
            subject=template["subject"].replace(order, order_number(n)),
            raw_subject=template["raw_subject"].replace(order, order_number(n)),
            description=template["description"].replace(order, order_number(n)),
            created_at=f"{updated - timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}", updated_at=f"{updated:%Y-%m-%dT%H:%M:%SZ}",
            generated_timestamp=int(updated.timestamp()),
            status="deleted" if n in state.deleted else ["open", "pending", "solved"][n % 3],
            tags=list(state.tags.get(n, template["tags"])))
        for custom in (*ticket["custom_fields"], *ticket["fields"]):
            if custom["value"] == order:
                custom["value"] = order_number(n)
        said = content_for(state.content, n)
        if said is not None:
            ticket.update(subject=said.subject, raw_subject=said.subject, description=said.customer_message)
            if n not in state.deleted:
                ticket["status"] = said.status
            if said.channel is not None:
                ticket["via"]["channel"] = said.channel
        return sorted_as_asked(ticket, n)

    def sorted_as_asked(ticket: dict, n: int) -> dict:
        chosen = sorting_for(state.sorting, n)
        if chosen.ticket_type is not None:
            ticket["type"] = chosen.ticket_type
        if chosen.group is not None:
            ticket["group_id"] = state.groups.id_for(chosen.group)
        if chosen.form is not None:
            ticket["ticket_form_id"] = state.forms.id_for(chosen.form)
        if chosen.tags is not None and n not in state.tags:
            ticket["tags"] = list(chosen.tags)
        for field_id, value in chosen.custom_fields.items():
            for listing in (ticket["custom_fields"], ticket["fields"]):
                found = next((f for f in listing if str(f["id"]) == str(field_id)), None)
                if found is None:
                    listing.append({"id": int(field_id), "value": value})
                else:
                    found["value"] = value
        return ticket

    def make_user(n: int) -> dict:
        user, name = copy_of(EXPORT, "users", 0), NAMES[n % len(NAMES)]
        said = content_for(state.content, n)
        if said is not None and said.requester_name:
            name = said.requester_name
        user.update(id=REQUESTER_BASE + n, name=name, email=f"{name.lower().replace(' ', '.')}+{n}@example.com",
                    url=f"{request.url_root}api/v2/users/{REQUESTER_BASE + n}.json")
        return user

    def make_comments(ticket_id: int) -> list[dict]:
        """The fixture's comments for ticket ``ticket_id``: its requester wrote what the fixture's
        requester wrote (the opening comment's author), the fixture's agent the rest."""
        said = content_for(state.content, ticket_id)
        if said is not None:
            return said_comments(ticket_id, said)
        comments = copy_of(COMMENTS, "comments")
        customer_id = comments[0]["author_id"]
        order = fixture(EXPORT)["tickets"][0]["custom_fields"][0]["value"]
        customer_name = fixture(EXPORT)["users"][0]["name"].split()[0]
        created = EPOCH + STEP * ticket_id - timedelta(hours=2)
        for k, comment in enumerate(comments):
            comment.update(id=ticket_id * 10 + k, audit_id=ticket_id * 10 + k,
                           author_id=REQUESTER_BASE + ticket_id if comment["author_id"] == customer_id
                           else comment["author_id"],
                           created_at=f"{created + timedelta(minutes=30) * k:%Y-%m-%dT%H:%M:%SZ}")
            for key in ("body", "html_body", "plain_body"):
                comment[key] = (comment[key].replace(order, order_number(ticket_id))
                                .replace(customer_name, NAMES[ticket_id % len(NAMES)].split()[0]))
        return comments

    def said_comments(ticket_id: int, said: Content) -> list[dict]:
        """The requester's opening comment and, if there is one, the agent's public reply, shaped
        as the fixture's first comment and its public agent comment."""
        template = copy_of(COMMENTS, "comments")
        opening = template[0]
        reply = next(c for c in template if c["public"] and c["author_id"] != opening["author_id"])
        opening["author_id"] = REQUESTER_BASE + ticket_id
        written = [(opening, said.customer_message)]
        if said.agent_reply:
            written.append((reply, said.agent_reply))
        created = EPOCH + STEP * ticket_id - timedelta(hours=2)
        for k, (comment, body) in enumerate(written):
            comment.update(id=ticket_id * 10 + k, audit_id=ticket_id * 10 + k, body=body, plain_body=body,
                           html_body=f'<div class="zd-comment" dir="auto">{html_paragraphs(body)}</div>',
                           created_at=f"{created + timedelta(minutes=30) * k:%Y-%m-%dT%H:%M:%SZ}")
        return [comment for comment, _ in written]

    def not_found() -> Response:
        return answer(fixture(NOT_FOUND), 404)

    @app.before_request
    def _authenticate():
        if request.path.endswith("/public_key.pem"):  # Zendesk serves app public keys anonymously
            return None
        auth = request.authorization
        if auth is None or not (auth.username or "").endswith("/token") or not auth.password:
            return answer({"error": "Couldn't authenticate you"}, 401)
        return None

    @app.get("/api/v2/incremental/tickets/cursor.json")
    def incremental_tickets():
        """https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/"""
        if "cursor" in request.args:
            start = position_of(request.args["cursor"])
        elif "start_time" in request.args:
            since = datetime.fromtimestamp(int(request.args["start_time"]), UTC)
            first = -((EPOCH - since) // STEP)  # the first ticket updated at or after start_time
            start = max(0, first - 1)
        else:
            return answer({"error": "InvalidPaginationParameter", "description": "start_time or cursor required"},
                          400)
        end = min(start + min(int(request.args.get("per_page", state.page_size)), state.page_size), state.tickets)
        page = {key: value for key, value in fixture(EXPORT).items() if key not in ("tickets", "users")}
        page["tickets"] = [make_ticket(n) for n in range(start + 1, end + 1)]
        if "users" in request.args.get("include", "").split(","):
            page["users"] = [make_user(n) for n in range(start + 1, end + 1)] + [fixture(EXPORT)["users"][-1]]
        kept = "".join(f"&{k}={request.args[k]}" for k in ("include", "per_page") if k in request.args)
        url = f"{request.url_root}api/v2/incremental/tickets/cursor.json?cursor="
        page.update(after_cursor=cursor_for(end), after_url=url + cursor_for(end) + kept,
                    before_cursor=cursor_for(start) if start else None,
                    before_url=url + cursor_for(start) + kept if start else None, end_of_stream=end >= state.tickets)
        return answer(page)

    @app.get("/api/v2/tickets/<int:ticket_id>/comments.json")
    def ticket_comments(ticket_id: int):
        """https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/"""
        if not state.readable(ticket_id):
            return not_found()
        comments = make_comments(ticket_id)
        start = position_of(request.args["page[after]"]) if "page[after]" in request.args else 0
        size = min(int(request.args.get("page[size]", state.comment_page_size)), state.comment_page_size)
        end = min(start + size, len(comments))
        more = end < len(comments)
        listed = {key: value for key, value in fixture(COMMENTS).items() if key != "comments"}
        listed["comments"] = comments[start:end]
        listed["meta"] = {"has_more": more, "after_cursor": cursor_for(end) if more else None,
                          "before_cursor": cursor_for(start) if start else None}
        listed["links"] = {"prev": None, "next": f"{request.url_root}api/v2/tickets/{ticket_id}/comments.json"
                                                 f"?page[after]={cursor_for(end)}&page[size]={size}" if more else None}
        return answer(listed)

    @app.put("/api/v2/tickets/<int:ticket_id>/tags.json")
    def add_tags(ticket_id: int):
        """https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/#add-tags"""
        if not state.readable(ticket_id):
            return not_found()
        added = (request.get_json(silent=True) or {}).get("tags") or []
        with state.lock:
            tags = state.tags.setdefault(ticket_id, list(fixture(EXPORT)["tickets"][0]["tags"]))
            tags.extend(t for t in added if t not in tags)
            return answer({**copy_of(TAGS), "tags": list(tags)})

    @app.put("/api/v2/tickets/<int:ticket_id>.json")
    def update_ticket(ticket_id: int):
        """https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket: a
        comment (public, or private as a note), ``status`` and ``group_id``; answers the ticket
        and the audit, with an event per change (a ``Comment``, then a ``Change`` per field)."""
        if not state.readable(ticket_id):
            return not_found()
        changes = (request.get_json(silent=True) or {}).get("ticket") or {}
        comment, status, group_id = changes.get("comment"), changes.get("status"), changes.get("group_id")
        invalid = [why for bad, why in (
            (comment is not None and (not isinstance(comment, dict) or not comment.get("body")),
             "Comment: cannot be blank"),
            (status is not None and status not in STATUSES, f"Status: {status} is not valid"),
            (group_id is not None and group_id not in state.groups.ids.values(), "Group: is invalid"),
            (not {"comment", "status", "group_id"} & set(changes), "Ticket: nothing to update")) if bad]
        if invalid:
            return answer({"error": "RecordInvalid", "description": "Record validation errors",
                           "details": {"base": [{"description": why} for why in invalid]}}, 422)
        updated = copy_of(UPDATE)
        updated["ticket"].update(id=ticket_id, url=f"{request.url_root}api/v2/tickets/{ticket_id}.json")
        comment_template = updated["audit"]["events"][0]
        events = []
        with state.lock:
            if comment is not None:
                comments = state.notes.setdefault(ticket_id, [])
                comments.append(comment)
                events.append({**comment_template, "id": ticket_id * 1000 + len(comments), "body": comment["body"],
                               "plain_body": comment["body"], "html_body": html_paragraphs(comment["body"]),
                               "public": bool(comment.get("public", True)),
                               "author_id": comment.get("author_id", comment_template["author_id"])})
            for name, value in (("status", status), ("group_id", group_id)):
                if value is not None:
                    events.append({"id": comment_template["id"] + len(events) + 1, "type": "Change",
                                   "field_name": name, "value": str(value),
                                   "previous_value": str(updated["ticket"][name])})
                    updated["ticket"][name] = value
                    state.changes.setdefault(ticket_id, {})[name] = value
        updated["audit"]["ticket_id"] = ticket_id
        updated["audit"]["events"] = events
        return answer(updated)

    @app.post("/api/v2/tickets.json")
    def create_ticket():
        """https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket: 201
        with the ticket and its audit (the shape an update answers); the new ticket is readable
        afterwards (a note may follow). A ticket without a comment body, or a requester without an
        email or name, is refused as Zendesk refuses it (422 RecordInvalid)."""
        posted = (request.get_json(silent=True) or {}).get("ticket") or {}
        comment, requester = posted.get("comment") or {}, posted.get("requester")
        if not comment.get("body") or (requester is not None and not (requester.get("email") or requester.get("name"))):
            return answer({"error": "RecordInvalid", "description": "Record validation errors",
                           "details": {"base": [{"description": "Comment: cannot be blank"}]}}, 422)
        with state.lock:
            state.tickets += 1
            ticket_id = state.tickets
            state.created[ticket_id] = posted
        made = copy_of(UPDATE)
        made["ticket"].update(id=ticket_id, url=f"{request.url_root}api/v2/tickets/{ticket_id}.json",
                              subject=posted.get("subject"), raw_subject=posted.get("subject"),
                              description=comment["body"], status="new",
                              custom_fields=posted.get("custom_fields") or made["ticket"]["custom_fields"])
        made["audit"]["ticket_id"] = ticket_id
        made["audit"]["events"][0].update(body=comment["body"], plain_body=comment["body"],
                                          public=bool(comment.get("public", True)))
        return answer(made, 201)

    @app.get("/api/v2/groups.json")
    def list_groups():
        """https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups (cursor
        pagination; the fixture's groups, then every group ``sorting`` named)."""
        template = fixture(GROUPS)["groups"][0]
        everyone = [{**json.loads(text(GROUPS, "groups", 0)), "id": group_id, "name": name, "default": False,
                     "url": f"{request.url_root}api/v2/groups/{group_id}.json"}
                    for name, group_id in state.groups.ids.items()]
        for group in everyone:
            group["default"] = group["id"] == template["id"]
        start = position_of(request.args["page[after]"]) if "page[after]" in request.args else 0
        size = min(int(request.args.get("page[size]", 100)), 100)
        end = min(start + size, len(everyone))
        more = end < len(everyone)
        return answer({"groups": everyone[start:end],
                       "meta": {"has_more": more, "after_cursor": cursor_for(end),
                                "before_cursor": cursor_for(start) if start else None},
                       "links": {"prev": None, "next": f"{request.url_root}api/v2/groups.json"
                                                       f"?page[after]={cursor_for(end)}&page[size]={size}"}})

    @app.get("/api/v2/ticket_forms.json")
    def list_ticket_forms():
        """https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_forms/#list-ticket-forms
        (no pagination: an account has few forms)."""
        forms = []
        for position, (name, form_id) in enumerate(state.forms.ids.items()):
            form = json.loads(text(FORMS, "ticket_forms", min(position, 1)))
            if form["id"] != form_id:  # a form ``sorting`` named: shown to customers by its name
                form.update(display_name=name, raw_display_name=name)
            form.update(id=form_id, name=name, raw_name=name, position=position, default=position == 0,
                        url=f"{request.url_root}api/v2/ticket_forms/{form_id}.json")
            forms.append(form)
        return answer({**{k: v for k, v in fixture(FORMS).items() if k != "ticket_forms"}, "ticket_forms": forms,
                       "count": len(forms)})

    @app.get("/api/v2/users/me.json")
    def users_me():
        """https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self"""
        return answer(fixture(ME))

    @app.get("/api/v2/apps/<int:app_id>/public_key.pem")
    def app_public_key(app_id: int):
        """https://developer.zendesk.com/api-reference/apps/apps-api/apps_api/#get-app-public-key
        (anonymous: no credentials are checked)."""
        with state.lock:
            state.public_key_reads += 1
            pem = state.app_public_keys.get(app_id)
        if pem is None:
            return answer({"error": "RecordNotFound", "description": "Not found"}, 404)
        return Response(pem, mimetype="application/x-pem-file")

    return app
