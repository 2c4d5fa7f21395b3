"""Talking to one Intercom workspace through python-intercom 5.x: backfill, tags, notes, replies,
state (open, snoozed, closed) and handoff to a team.

Where the API is: ``connection.settings["api_url"]`` when set (a proxy, or a local test server);
otherwise the region host given as the tenant's ``--domain``: ``api.intercom.io`` (US, the
default when no domain is set), ``api.eu.intercom.io`` or ``api.au.intercom.io`` (``us``, ``eu``
and ``au`` are accepted as short forms). Intercom routes ``api.intercom.io`` to a workspace's
region itself; naming the region host pins the requests to where the workspace's data is kept
(https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/, "Regional Hosting").

Three things python-intercom 5.0.1 does differently from what its docstrings suggest (read in its source):

- Retries: ``HttpClient.request`` starts counting at ``retries=2`` and retries only while
  ``max_retries > retries``, with ``max_retries`` 0 unless given, so by default nothing is
  retried and ``max_retries=n`` means n - 2 retries. This client turns the library's retries
  off (``max_retries=0``) and retries itself, with a policy per call: a 429 is always waited
  out (``Retry-After``, else ``X-RateLimit-Reset``, else backoff), since Intercom did nothing
  with the request; 5xx, 408, 409 and network errors are retried only for calls that are safe
  to repeat (reads, tag upserts), never for a note, which would be posted twice.
- Search paging: the pager's ``get_next`` sends the first page's ``pagination`` again, so
  iterating it repeats page 1. Backfill sends ``starting_after`` from ``pages.next`` itself.
- Speed: building its models (``construct_type``) costs about 10 ms per conversation, measured
  against a local server: 100 s of CPU for a 10,000-conversation backfill, against about 3 ms per
  conversation for the request itself. The backfill's two bulk reads (search, find) therefore go
  through the library's own HTTP layer (its auth, headers, base URL and request options) and
  hand the JSON to :mod:`.adapter`, which checks every field it reads. Writes use the typed calls.

Teams: a conversation names its team by id (``team_assignee_id``); the workspace's teams
(``teams.list``, one request) are read once per client and name them, for the backfill and, through
:meth:`IntercomClient.identity`, for webhooks.

Replies and state: a reply or note is ``conversations.reply`` (``message_type`` ``comment`` or
``note``, as the Deskloop admin); state and team are ``conversations.manage``
(``POST /conversations/{id}/parts``: ``close``, ``snoozed``, ``open``, ``assignment`` to a team).
Intercom has no "pending": Deskloop's pending (waiting on the customer) is a snooze for
:data:`PENDING_SNOOZE`, which ends early when the customer replies (Intercom reopens a snoozed
conversation then), and otherwise puts the conversation back in its inbox for a teammate to
look at, rather than leaving it open as if it still needed an answer.

Errors reach the caller as :class:`IntercomError` subclasses raised ``from`` the library's error,
with Intercom's own error code and message; the access token never appears in them or in logs.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from intercom import Intercom, IntercomEnvironment
from intercom.conversations import CreateConversationRequestFrom
from intercom.conversations.types import (
    ConversationsManageRequestBody_Assignment,
    ConversationsManageRequestBody_Close,
    ConversationsManageRequestBody_Open,
    ConversationsManageRequestBody_Snoozed,
)
from intercom.core.api_error import ApiError
from intercom.core.request_options import RequestOptions
from intercom.types import (
    AdminReplyConversationRequest,
    CreateContactRequestWithEmail,
    CreateContactRequestWithRole,
    CreateOrUpdateTagRequest,
    SingleFilterSearchRequest,
    StartingAfterPaging,
)

from core.errors import BadInput
from core.events import MalformedPayload
from core.helpdesk.contract import (
    BackfillPage,
    Connection,
    ReplyFollowUpFailed,
    ReplyStatus,
    SettableStatus,
    check_status,
    named_id_or_reread,
)
from core.helpdesk.outbound import RetryPolicy
from core.helpdesk.page_fields import PageFields, context_note
from core.types import PageContext, Ticket
from integrations.intercom.adapter import ticket_from_conversation
from integrations.intercom.errors import (
    IntercomError,
    IntercomNotFound,
    IntercomRateLimited,
    IntercomRejected,
    IntercomUnauthorized,
    IntercomUnavailable,
)
from integrations.payload import Payload

log = logging.getLogger(__name__)

#: The REST API version every request asks for. python-intercom sends no ``Intercom-Version``,
#: so Intercom would answer in the version set on the app in the Developer Hub, which an admin
#: can change. 2.14 is the description Intercom's SDK generator config builds from (the 5.0.1
#: wheel does not say which one it was built from); the fields read here exist in 2.x throughout.
API_VERSION = "2.14"
#: Search pages hold at most 150 conversations.
PER_PAGE = 150
#: Conversations of a page fetched at once. Each fetch waits on the network far longer than it
#: computes; four at a time stay far below Intercom's 10,000 calls a minute per app (25,000 per
#: workspace, shared with the workspace's other apps).
FETCHERS = 4
#: Attempts per call (the first and up to 5 retries), and the longest wait between two.
ATTEMPTS = 6
LONGEST_WAIT = 300.0
#: Backoff (seconds) before retry n when the answer says nothing: 1, 2, 4, 8, 16.
BACKOFF_BASE = 1.0
POLICY = RetryPolicy(attempts=ATTEMPTS, backoff=BACKOFF_BASE, longest_wait=LONGEST_WAIT)

#: How long Deskloop's "pending" snoozes a conversation (module notes): two days for the customer
#: to answer before a teammate sees it again.
PENDING_SNOOZE = timedelta(hours=48)

REGIONS = {
    "api.intercom.io": IntercomEnvironment.US_PRODUCTION.value,
    "api.eu.intercom.io": IntercomEnvironment.EU_PRODUCTION.value,
    "api.au.intercom.io": IntercomEnvironment.AU_PRODUCTION.value,
}
REGION_SHORT_FORMS = {"us": "api.intercom.io", "eu": "api.eu.intercom.io", "au": "api.au.intercom.io"}

T = TypeVar("T")


def base_url(connection: Connection) -> str:
    """The API address for ``connection`` (see the module notes)."""
    if connection.api_url:
        return connection.api_url.rstrip("/")
    domain = (connection.domain or "api.intercom.io").strip().lower().removeprefix("https://").rstrip("/")
    domain = REGION_SHORT_FORMS.get(domain, domain)
    if domain not in REGIONS:
        raise BadInput(f"unknown Intercom region host {connection.domain!r}; use one of {', '.join(REGIONS)}",
                       field="domain")
    return REGIONS[domain]


class IntercomClient:
    """One tenant's Intercom workspace (see :class:`core.helpdesk.contract.HelpdeskClient`)."""

    def __init__(self, connection: Connection, attempts: int = ATTEMPTS, longest_wait: float = LONGEST_WAIT,
                 timeout: float | None = None) -> None:
        """``attempts``, ``longest_wait`` (seconds between two attempts) and ``timeout`` (seconds
        per request; the library's default is 60) bound how long a call may take: the defaults
        suit background work, a teammate waiting on a click wants far less (see
        :mod:`integrations.intercom.inbox_app`)."""
        self.tenant = connection.tenant
        self.base_url = base_url(connection)
        self._admin_id = connection.secrets.get("admin_id") or None
        self._attempts = max(1, attempts)
        self._longest_wait = longest_wait
        self._sdk = Intercom(token=connection.secrets["access_token"], base_url=self.base_url,
                             headers={"Intercom-Version": API_VERSION}, timeout=timeout)
        # The library's HTTP layer, for the bulk reads (module notes). An AttributeError here
        # means python-intercom changed its internals: the tests fail at once.
        self._http = self._sdk._client_wrapper.httpx_client
        self._team_names: dict[str, str] | None = None
        self._page_fields = PageFields.from_settings(connection.settings)

    # -- backfill ----------------------------------------------------------------------------------

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        """Conversations updated at or after ``since``, 150 a page, least recently updated first.

        Each conversation in a search page is fetched whole (``conversations.find``, bodies as
        plain text) for its parts; Intercom returns at most its 500 most recent parts. Sorting by
        ``updated_at`` ascending (the search ``sort`` option, which python-intercom does not model:
        https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/pagination-sorting-search/#sorting)
        matters because ``starting_after`` is stateless: a conversation updated during the
        backfill moves to the end and is read again, never skipped. A conversation deleted
        between its page and its fetch is left out, and so is one Intercom returns in a shape
        the adapter cannot read (logged with the field): one odd conversation must not stop, on
        every resume, the import of all the others.

        ``cursor`` is JSON ``{"since": <unix seconds, 0 for all>, "starting_after": <token>}``: the
        token belongs to the search it came from, so a resumed backfill repeats that search and
        the cursor's ``since`` wins over the argument.
        """
        if cursor is None:
            after, floor = None, int(since.timestamp()) if since else 0
        else:
            after, floor = _read_cursor(cursor)
        with ThreadPoolExecutor(FETCHERS, thread_name_prefix=f"intercom-{self.tenant}") as fetchers:
            yield from self._pages(after, floor, fetchers)

    def _pages(self, after: str | None, floor: int, fetchers: ThreadPoolExecutor) -> Iterator[BackfillPage]:
        while True:
            search = {"query": {"field": "updated_at", "operator": ">", "value": floor},
                      "pagination": {"per_page": PER_PAGE, **({"starting_after": after} if after else {})},
                      "sort": {"field": "updated_at", "order": "ascending"}}
            listing = Payload(self._call("conversations.search",
                                         partial(self._json, "conversations/search", "POST", json=search)))
            ids = [c.str("id") for c in listing.objects("conversations", required=False)]
            teams = self.team_names() if ids else {}
            tickets = [t for t in fetchers.map(partial(self._fetch, teams=teams), ids) if t is not None]
            pages = listing.obj("pages", required=False)
            following = pages.obj("next", required=False) if pages else None
            after = following.str("starting_after", required=False) if following else None
            if not after:
                yield BackfillPage(tickets, None)
                return
            yield BackfillPage(tickets, json.dumps({"since": floor, "starting_after": after}))

    def _fetch(self, conversation_id: str, teams: dict[str, str] | None = None) -> Ticket | None:
        try:
            found = self._call(f"conversations.find {conversation_id}", lambda: self._json(
                f"conversations/{quote(conversation_id, safe='')}", "GET", params={"display_as": "plaintext"}))
        except IntercomNotFound:
            log.info("intercom %s: conversation %s vanished during the backfill", self.tenant, conversation_id)
            return None
        try:
            return ticket_from_conversation(found, teams, self._page_fields)
        except MalformedPayload as exc:
            log.warning("intercom %s: conversation %s left out of the backfill: %s", self.tenant, conversation_id, exc)
            return None

    def _json(self, path: str, method: str, **request: Any) -> Any:
        """One request through the library's HTTP layer; the JSON body, or the library's
        :class:`ApiError` as its typed calls would raise it."""
        response = self._http.request(path, method=method, request_options=self._options(), **request)
        if 200 <= response.status_code < 300:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = response.text
        raise ApiError(status_code=response.status_code, headers=dict(response.headers), body=body)

    # -- writing back ------------------------------------------------------------------------------

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        """Tag the conversation; its other tags stay. Intercom tags a conversation by tag id, so
        each name is first upserted (``POST /tags`` creates the tag "if not found", names are
        case-insensitive), then attached as the Deskloop admin."""
        admin_id = self.admin_id()
        for name in (t.strip() for t in tags):
            if not name:
                continue
            tag = self._call(f"tags.create {name!r}", partial(
                self._sdk.tags.create, request=CreateOrUpdateTagRequest(name=name), request_options=self._options()))
            self._call(f"tags.tag_conversation {ticket_external_id}", partial(
                self._sdk.tags.tag_conversation, ticket_external_id, tag_id=tag.id, admin_id=admin_id,
                request_options=self._options()))

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        """An internal note by the Deskloop admin (``conversations.reply`` with
        ``message_type="note"``; ``notes.create`` would note the contact instead). Not retried
        after a 5xx or a network error: the note may have been posted."""
        self.reply_as_admin(ticket_external_id, self.admin_id(), body, note=True)

    def reply_as_admin(self, conversation_external_id: str, admin_id: str, body: str,
                       note: bool = False) -> str | None:
        """A reply to the customer (``message_type="comment"``) or, with ``note``, an internal
        note, authored by the teammate ``admin_id``; the plain text goes out as escaped
        paragraphs (:func:`note_html`). Not retried after a 5xx or a network error: it may have
        been posted, and a customer must not get the same reply twice. Returns the id of the
        part it made: the newest of its type by that teammate in the conversation Intercom
        answers with."""
        kind = "note" if note else "comment"
        request = AdminReplyConversationRequest(message_type=kind, type="admin", admin_id=str(admin_id),
                                                body=note_html(body))
        conversation = self._call(
            f"conversations.reply {conversation_external_id}", lambda: self._sdk.conversations.reply(
                conversation_external_id, request=request, request_options=self._options()), idempotent=False)
        listing = getattr(conversation, "conversation_parts", None)
        parts = [p for p in (getattr(listing, "conversation_parts", None) or [])
                 if p.part_type == kind and p.author is not None and str(p.author.id) == str(admin_id)]
        return str(parts[-1].id) if parts and parts[-1].id else None

    def post_reply(self, ticket_external_id: str, body: str, *, tags: list[str],
                   status: ReplyStatus | None) -> str | None:
        """The reply as the Deskloop admin (once, never repeated), then the tags
        (:meth:`apply_tags`) and the state (:meth:`set_status`), both safe to repeat. Intercom
        takes no tag or state with a reply, so a solved reply is two calls and each tag two more."""
        if status is not None:
            check_status(status, ReplyStatus)
        reply_id = self.reply_as_admin(ticket_external_id, self.admin_id(), body)
        try:
            if any(t.strip() for t in tags):
                self.apply_tags(ticket_external_id, tags)
            if status is not None:
                self.set_status(ticket_external_id, status)
        except IntercomError as exc:
            raise ReplyFollowUpFailed(f"Intercom: replied on conversation {ticket_external_id}, then failed to "
                                      "update it", reply_id, exc) from exc
        return reply_id

    def set_status(self, ticket_external_id: str, status: SettableStatus) -> None:
        """``conversations.manage``: solved closes, open opens, pending snoozes for
        :data:`PENDING_SNOOZE` (module notes); retried, as doing it twice is doing it once."""
        admin_id = self.admin_id()
        request: ConversationsManageRequestBody_Close | ConversationsManageRequestBody_Open | \
            ConversationsManageRequestBody_Snoozed
        if check_status(status) == "solved":
            request = ConversationsManageRequestBody_Close(admin_id=admin_id)
        elif status == "open":
            request = ConversationsManageRequestBody_Open(admin_id=admin_id)
        else:
            until = int(time.time() + PENDING_SNOOZE.total_seconds())
            request = ConversationsManageRequestBody_Snoozed(admin_id=admin_id, snoozed_until=until)
        self._manage(ticket_external_id, request)

    def hand_off(self, ticket_external_id: str, note: str, group: str | None) -> None:
        """Assigned to the team named ``group`` (found by name in the workspace's teams, read again
        once when the name is not there), opened, then the internal note: the two safe to
        repeat first, the note, written once, last."""
        admin_id = self.admin_id()
        if group is not None:
            team_id = self._team_id(group)
            self._manage(ticket_external_id, ConversationsManageRequestBody_Assignment(
                type="team", admin_id=admin_id, assignee_id=team_id))
        self._manage(ticket_external_id, ConversationsManageRequestBody_Open(admin_id=admin_id))
        self.reply_as_admin(ticket_external_id, admin_id, note, note=True)

    def _manage(self, conversation_external_id: str, request: Any) -> None:
        self._call(f"conversations.manage {conversation_external_id} ({request.message_type})",
                   lambda: self._sdk.conversations.manage(conversation_external_id, request=request,
                                                          request_options=self._options()))

    def _reread_team_names(self) -> dict[str, str]:
        self._team_names = None
        return self.team_names()

    def _team_id(self, name: str) -> str:
        found, names = named_id_or_reread(self.team_names(), self._reread_team_names, name)
        if found is None:
            known = ", ".join(sorted(names.values())) or "none readable with this access token"
            raise IntercomRejected(f"Intercom has no team called {name!r} (the workspace's teams: {known}); "
                                   "fix the tenant's handoff group setting")
        return found

    def create_ticket(self, subject: str, body: str, requester_email: str | None, requester_name: str | None,
                      page_context: PageContext | None) -> str:
        """A conversation the customer starts (``conversations.create`` from the contact: found by
        email, else created, a lead when there is no email), titled ``subject``, with the page in
        the custom attributes the tenant mapped (``conversations.update``, ``PUT
        /conversations/{id}``); what has no attribute (or all of it, when Intercom refuses the
        attributes) goes into a note by the Deskloop admin. Once the conversation exists its id is
        returned whatever happens after (logged), so a retry never opens a second one. The writes
        are not retried after a 5xx or a network error (they may have happened)."""
        contact_id, role = self._contact_for(requester_email, requester_name)
        message = self._call("conversations.create", lambda: self._sdk.conversations.create(
            from_=CreateConversationRequestFrom(type=role, id=contact_id), body=body,
            request_options=self._options()), idempotent=False)
        conversation_id = message.conversation_id
        if not conversation_id:
            raise IntercomError("Intercom conversations.create answered without a conversation_id")
        attributes = self._page_fields.fields(page_context)
        noted = page_context is not None and self._page_fields.unmapped(page_context)
        try:  # the conversation exists now: a failure below must not make the caller open another
            self._call(f"conversations.update {conversation_id}", lambda: self._sdk.conversations.update(
                conversation_id, title=subject, **({"custom_attributes": attributes} if attributes else {}),
                request_options=self._options()))  # the same values again: safe to repeat
        except IntercomError as exc:  # e.g. an attribute the workspace has not defined
            log.warning("intercom %s: conversation %s opened, its title and attributes not set: %s",
                        self.tenant, conversation_id, exc)
            noted = page_context is not None
        if noted and page_context is not None:
            try:
                self.add_private_note(conversation_id, context_note(page_context))
            except IntercomError as exc:
                log.warning("intercom %s: conversation %s opened without its page note: %s",
                            self.tenant, conversation_id, exc)
        return str(conversation_id)

    def _contact_for(self, email: str | None, name: str | None) -> tuple[str, Literal["user", "lead"]]:
        """The contact the customer is (id, role): the one with their email, else a new user
        with it; without an email, a new lead (Intercom's anonymous contact)."""
        if email:
            found = self._call("contacts.search", lambda: self._sdk.contacts.search(
                query=SingleFilterSearchRequest(field="email", operator="=", value=email),
                pagination=StartingAfterPaging(per_page=1), request_options=self._options()))
            for contact in found.items or []:
                if contact.id:
                    return contact.id, "lead" if contact.role == "lead" else "user"
            request: Any = CreateContactRequestWithEmail(email=email, name=name)
        else:
            request = CreateContactRequestWithRole(role="lead", name=name)
        made = self._call("contacts.create", lambda: self._sdk.contacts.create(
            request=request, request_options=self._options()), idempotent=False)
        if not made.id:
            raise IntercomError("Intercom contacts.create answered without an id")
        return made.id, "user" if email else "lead"

    def identity(self) -> dict[str, Any]:
        """What webhook parsing needs: Deskloop's teammate, to know its own tags (checks the
        credentials too), and the workspace's team names, since notifications name teams by id."""
        from integrations.intercom.webhooks import ADMIN_SETTING, TEAM_NAMES_SETTING

        return {ADMIN_SETTING: self.admin_id(), TEAM_NAMES_SETTING: self.team_names()}

    def team_names(self) -> dict[str, str]:
        """The workspace's team names by id; read once."""
        if self._team_names is None:
            try:
                listed = self._call("teams.list", lambda: self._sdk.teams.list(request_options=self._options()))
            except IntercomUnauthorized as exc:  # an app without the permission to read teams
                log.info("intercom %s: teams not readable (%s); teams keep their ids", self.tenant, exc.status)
                self._team_names = {}
            else:
                self._team_names = {str(t.id): t.name for t in (listed.teams or []) if t.id and t.name}
        return self._team_names

    def admin_id(self) -> str:
        """The teammate Deskloop acts as: the ``admin_id`` credential, else the token's owner."""
        if self._admin_id is None:
            me = self._call("admins.identify", lambda: self._sdk.admins.identify(request_options=self._options()))
            if me is None or not me.id:
                raise IntercomError("GET /me named no admin; set the admin_id credential")
            self._admin_id = str(me.id)
        return self._admin_id

    # -- calls -------------------------------------------------------------------------------------

    @staticmethod
    def _options() -> RequestOptions:
        return {"max_retries": 0}  # this client retries (module notes)

    def _call(self, what: str, call: Callable[[], T], idempotent: bool = True) -> T:
        """``call()``, retried as the module notes say; library errors become IntercomErrors."""
        for attempt in range(1, self._attempts + 1):
            try:
                return call()
            except ApiError as exc:
                status = exc.status_code or 0
                retry = status == 429 or (idempotent and (status >= 500 or status in (408, 409)))
                if not retry or attempt == self._attempts:
                    raise _translate(what, exc) from exc
                wait = _wait(exc.headers or {}, attempt)
                reason = f"HTTP {status}"
            except httpx.TransportError as exc:
                if not idempotent or attempt == self._attempts:
                    raise IntercomUnavailable(f"Intercom {what}: cannot reach {self.base_url} "
                                              f"({type(exc).__name__})") from exc
                wait, reason = _backoff(attempt), type(exc).__name__
            wait = min(wait, self._longest_wait)
            log.warning("intercom %s: %s got %s; retrying in %.1fs (attempt %d of %d)",
                        self.tenant, what, reason, wait, attempt + 1, self._attempts)
            time.sleep(wait)
        raise AssertionError("unreachable")


def note_html(text: str) -> str:
    """Plain text as Intercom note HTML: escaped, one ``<p>`` per line. Notes are HTML, so a
    draft quoting ``<b>`` would otherwise render as markup and its line breaks would collapse."""
    lines = [html.escape(line) for line in text.splitlines() if line.strip()]
    return "".join(f"<p>{line}</p>" for line in lines) or "<p></p>"


def _read_cursor(cursor: str) -> tuple[str, int]:
    try:
        saved = json.loads(cursor)
        after, since = saved["starting_after"], saved["since"]
        if not isinstance(after, str) or not after or not isinstance(since, int):
            raise ValueError
    except (ValueError, TypeError, KeyError) as exc:
        raise BadInput("not an Intercom backfill cursor (expected JSON with since and starting_after)",
                       field="cursor") from exc
    return after, since


def _wait(headers: dict[str, str], attempt: int) -> float:
    """Seconds to wait before the next attempt (:meth:`core.helpdesk.outbound.RetryPolicy.wait`)."""
    return POLICY.wait(headers, attempt)


def _backoff(attempt: int) -> float:
    return POLICY.backoff_wait(attempt)


def _translate(what: str, exc: ApiError) -> IntercomError:
    status = exc.status_code
    message = f"Intercom {what}: HTTP {status} {_vendor_reason(exc.body)}".rstrip()
    kind: type[IntercomError]
    if status in (401, 403):
        kind = IntercomUnauthorized
        message += " (check the access_token and the app's permissions)"
    elif status == 404:
        kind = IntercomNotFound
    elif status == 429:
        kind = IntercomRateLimited
    elif status is None or status >= 500 or status in (408, 409):
        kind = IntercomUnavailable
    else:
        kind = IntercomRejected
    return kind(message, status)


def _vendor_reason(body: Any) -> str:
    """Intercom's ``error.list`` codes and messages (the library hands over a model, a dict or
    text). Bodies never contain the request's token."""
    if hasattr(body, "model_dump"):
        body = body.model_dump()
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in body["errors"] if isinstance(e, dict))
    return " ".join(str(body).split())[:200] if body else ""
