"""Deskloop's calls to one Freshdesk account, through python-freshdesk (REST API v2).

python-freshdesk 1.3.9 is a thin wrapper and several of its habits need handling here
(source read: ``freshdesk/v2/api.py``, ``models.py``):

- It never retries: a 429 raises ``FreshdeskRateLimited`` (Freshdesk sends ``Retry-After``,
  https://developers.freshdesk.com/api/#ratelimit). :meth:`FreshdeskClient._call` waits it out,
  and retries 5xx, timeouts and unreachable hosts with exponential backoff.
- ``list_tickets`` defaults to the ``new_and_my_open`` view: ``filter_name=None`` lists them all.
- The API address is built from the domain in the constructor and must contain "freshdesk.com"
  (custom CNAMEs are refused). There is no option for another address, so a connection's
  ``api_url`` (a proxy, a local test server) replaces ``API._api_prefix``, the one attribute
  every request path is joined to (``self._api_prefix + url`` in ``_get``/``_post``/``_put``).
- Its ``requests.Session`` (``API._session``) has no timeout; a default one is mounted as a
  transport adapter, and a response hook keeps the last response's status and headers
  (``Retry-After``, the ``Link`` of the next page, the code of a bare 500 that the library
  reports without one).
- Its models rename keys that clash with a property (``status`` -> ``_status``, ``priority``,
  ``source``) and ``Ticket.source`` raises KeyError for codes above 7, so tickets are read back
  as plain dicts (:func:`_fields`) and translated by :mod:`.adapter`.

Tickets name their group by id; the account's groups (``GET /groups``, ``list_groups``) are read
once per client to name them, as the webhook placeholders do. An API key whose agent may not
list groups (403) keeps the ids. A handoff finds its group by name in the same list.

Replies, status and handoff (https://developers.freshdesk.com/api/#reply_ticket,
#update_ticket, #add_note_to_a_ticket): a reply is ``POST /tickets/{id}/reply`` and a note
``POST /tickets/{id}/notes``, each written once (never repeated once Freshdesk may have stored
it); status and group are ``PUT /tickets/{id}`` (``status`` 2 open, 3 pending, 4 resolved;
``group_id``), repeated freely. Everything is written as the agent whose API key Deskloop holds.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import requests
from freshdesk.api import API
from freshdesk.v2 import errors as library
from freshdesk.v2.models import Ticket as LibraryTicket
from requests.adapters import HTTPAdapter

from core.errors import BadInput
from core.helpdesk.contract import (
    BackfillPage,
    Connection,
    ReplyFollowUpFailed,
    ReplyStatus,
    SettableStatus,
    check_status,
    named_id_or_reread,
)
from core.helpdesk.outbound import RetryPolicy, asked_wait
from core.helpdesk.page_fields import PageFields, context_note
from core.types import PageContext
from integrations.freshdesk import adapter
from integrations.freshdesk.account import account_host
from integrations.freshdesk.cursor import BackfillCursor
from integrations.freshdesk.errors import (
    FreshdeskAPIError,
    FreshdeskAuthError,
    FreshdeskConfigError,
    FreshdeskNotFound,
    FreshdeskRateLimited,
    FreshdeskRequestRejected,
    FreshdeskUnavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Freshdesk's maximum page size for tickets and conversations.
PER_PAGE = 100
#: ``include=description`` adds ``description_text`` (the first message) to a listed ticket,
#: ``requester`` its name and email; each costs API credits but saves a request per ticket.
LIST_INCLUDE = "requester,description"
#: Conversations are one request per ticket; this many run at once, so a backfill is bound by the
#: account's rate limit rather than by one network round trip after another (a 429 in any of
#: them is waited out by that request alone).
CONVERSATION_WORKERS = 4
#: Seconds for connecting and for each read, per request.
TIMEOUT = 30.0
#: Retries of a 5xx / timeout / unreachable host, the first after ``BACKOFF`` seconds, doubling.
SERVER_RETRIES = 3
BACKOFF = 1.0
#: Consecutive 429s waited out for one call before giving up (each waits ``Retry-After``).
RATE_LIMIT_WAITS = 20
#: When a 429 comes without a usable ``Retry-After``.
DEFAULT_RETRY_AFTER = 60
#: Codes at which a write is known not to have happened, so repeating it cannot duplicate it.
NOT_PROCESSED = frozenset({429, 502, 503, 504})
#: The core's statuses as REST v2 status codes (2 open, 3 pending, 4 resolved).
STATUS_CODES = {status: code for code, status in adapter.STATUS_CODES.items()
                if status in ("open", "pending", "solved")}

#: A widget ticket's status, priority and source codes (REST v2): open, low, "Feedback Widget".
OPEN, LOW, FEEDBACK_WIDGET = 2, 1, 9


class FreshdeskClient:
    """Backfill, tags and private notes for the account a :class:`Connection` names.

    The waits are injectable (``sleep``) and the retry policy adjustable for tests and for
    accounts on small plans; the defaults are the module constants above.
    """

    def __init__(self, connection: Connection, *, sleep: Callable[[float], None] = time.sleep,
                 server_retries: int = SERVER_RETRIES, backoff: float = BACKOFF,
                 rate_limit_waits: int = RATE_LIMIT_WAITS, timeout: float = TIMEOUT,
                 workers: int = CONVERSATION_WORKERS) -> None:
        self.domain = _domain(connection)
        self._sleep, self._server_retries, self._backoff = sleep, server_retries, backoff
        self._rate_limit_waits, self._workers = rate_limit_waits, workers
        self._last = threading.local()
        self._api = _library_api(self.domain, connection, timeout, self._remember)
        self._group_names: dict[str, str] | None = None
        self._page_fields = PageFields.from_settings(connection.settings)

    def __repr__(self) -> str:
        return f"FreshdeskClient({self.domain!r})"

    # The contract (core.helpdesk.contract.HelpdeskClient) ---------------------------------------------

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        """Tickets updated since ``since``, oldest first, one page of up to 100 per
        :class:`BackfillPage`, each with its conversations (one request per ticket). The cursor
        is a :class:`~.cursor.BackfillCursor`; ``None`` on the last page."""
        try:
            position: BackfillCursor | None = BackfillCursor.decode(cursor) if cursor else BackfillCursor.start(since)
        except ValueError as exc:
            raise FreshdeskConfigError(str(exc), field="cursor") from exc
        while position is not None:
            listed = self._call(
                f"list tickets updated since {position.query_since()} (page {position.page})",
                self._api.tickets.list_tickets, filter_name=None, updated_since=position.query_since(),
                order_by="updated_at", order_type="asc", include=LIST_INCLUDE, per_page=PER_PAGE,
                page=position.page)
            more = self._next_page_linked()
            fresh = position.unseen(listed)
            with ThreadPoolExecutor(self._workers) as pool:
                conversations = list(pool.map(self._conversations, [t.id for t in fresh]))
            groups = self.group_names() if fresh else {}
            tickets = [adapter.ticket_from_api(_fields(t), c, groups, self._page_fields)
                       for t, c in zip(fresh, conversations, strict=True)]
            try:
                position = position.after(listed) if more else None
            except ValueError as exc:
                raise FreshdeskAPIError(str(exc)) from exc
            yield BackfillPage(tickets, position.encode() if position else None)

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        """Freshdesk's ``PUT /tickets/{id}`` replaces the tag list, so the ticket's tags are read
        and the new ones appended (nothing is written when none is new, which also spares the
        account's automation rules an update)."""
        number = _ticket_number(ticket_external_id)
        merged = self._tags_with(number, tags)
        if merged is not None:
            self._call(f"update the tags of ticket {number}", self._api.tickets.update_ticket, number, tags=merged)

    def _tags_with(self, number: int, tags: list[str]) -> list[str] | None:
        """The ticket's tags with the new ones of ``tags`` appended (case-insensitive), read from
        Freshdesk; ``None`` when none is new."""
        ticket = self._call(f"read ticket {number}", self._api.tickets.get_ticket, number)
        existing = list(getattr(ticket, "tags", None) or [])
        known = {tag.lower() for tag in existing}
        new = []
        for tag in tags:
            if tag.strip() and tag.lower() not in known:
                known.add(tag.lower())
                new.append(tag)
        return existing + new if new else None

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        """A private note (agents only), as HTML ending with Deskloop's marker, which is how a
        webhook for this note is known to be Deskloop's own (see :mod:`.webhooks`)."""
        number = _ticket_number(ticket_external_id)
        self._call(f"add a note to ticket {number}", self._api.comments.create_note, number,
                   adapter.note_html(body), private=True, repeatable=False)

    def post_reply(self, ticket_external_id: str, body: str, *, tags: list[str],
                   status: ReplyStatus | None) -> str | None:
        """The reply (``POST /tickets/{id}/reply``, HTML, as the API key's agent), then one
        ``PUT /tickets/{id}`` with the tags (the ticket's own, read first, and the new ones) and
        the status code, when either changes. Returns the reply's conversation id."""
        number = _ticket_number(ticket_external_id)
        code = STATUS_CODES[check_status(status, ReplyStatus)] if status is not None else None
        merged = self._tags_with(number, tags) if any(t.strip() for t in tags) else None
        reply = self._call(f"reply to ticket {number}", self._api.comments.create_reply, number,
                           adapter.reply_html(body), repeatable=False)
        reply_id = None if getattr(reply, "id", None) is None else str(reply.id)
        changes: dict[str, Any] = {**({"tags": merged} if merged is not None else {}),
                                   **({"status": code} if code is not None else {})}
        if changes:
            try:
                self._call(f"update ticket {number} after the reply", self._api.tickets.update_ticket, number,
                           **changes)
            except FreshdeskAPIError as exc:
                raise ReplyFollowUpFailed(f"{self.domain}: replied on ticket {number}, then failed to update it",
                                          reply_id, exc) from exc
        return reply_id

    def set_status(self, ticket_external_id: str, status: SettableStatus) -> None:
        """``PUT /tickets/{id}`` with the status code alone."""
        number = _ticket_number(ticket_external_id)
        code = STATUS_CODES[check_status(status)]
        self._call(f"set the status of ticket {number}", self._api.tickets.update_ticket, number, status=code)

    def hand_off(self, ticket_external_id: str, note: str, group: str | None) -> None:
        """``PUT /tickets/{id}`` with status open and the group's id (repeatable, so first), then
        the private note (written once, last). The group is found by name in the account's
        groups, read again once when the name is not there (a group created since)."""
        number = _ticket_number(ticket_external_id)
        changes: dict[str, Any] = {"status": STATUS_CODES["open"]}
        if group is not None:
            changes["group_id"] = int(self._group_id(group))
        self._call(f"reopen ticket {number} for people", self._api.tickets.update_ticket, number, **changes)
        self._call(f"add the handoff note to ticket {number}", self._api.comments.create_note, number,
                   adapter.note_html(note), private=True, repeatable=False)

    def _reread_group_names(self) -> dict[str, str]:
        self._group_names = None
        return self.group_names()

    def _group_id(self, name: str) -> str:
        found, names = named_id_or_reread(self.group_names(), self._reread_group_names, name)
        if found is None:
            known = ", ".join(sorted(names.values())) or "none readable with this API key"
            raise FreshdeskRequestRejected(f"{self.domain} has no group called {name!r} (its groups: {known}); "
                                           "fix the tenant's handoff group setting")
        return found

    def create_ticket(self, subject: str, body: str, requester_email: str | None, requester_name: str | None,
                      page_context: PageContext | None) -> str:
        """``POST /tickets`` (python-freshdesk ``tickets.create_ticket``) from the customer's email
        (Freshdesk finds or makes the contact), open, low priority, source "Feedback Widget", with
        the page in the ``cf_*`` fields the tenant mapped; what has no field goes into a private
        note after it. Freshdesk needs a requester: without an email nothing is sent. Not retried
        once Freshdesk may have processed it (a retry could open it twice)."""
        if not requester_email:
            raise FreshdeskRequestRejected(f"{self.domain}: Freshdesk needs the customer's email to open a ticket")
        fields: dict[str, Any] = {"email": requester_email, "description": adapter.paragraphs_html(body),
                                  "status": OPEN, "priority": LOW, "source": FEEDBACK_WIDGET}
        if requester_name:
            fields["name"] = requester_name
        custom = self._page_fields.fields(page_context)
        if custom:
            fields["custom_fields"] = custom
        ticket = self._call("open a ticket", self._api.tickets.create_ticket, subject, repeatable=False, **fields)
        external_id = str(ticket.id)
        if page_context is not None and self._page_fields.unmapped(page_context):
            try:  # the ticket exists: a failed note must not make the caller open another
                self.add_private_note(external_id, context_note(page_context))
            except FreshdeskAPIError as exc:
                log.warning("Freshdesk %s: ticket %s opened without its page note: %s", self.domain, external_id, exc)
        return external_id

    def identity(self) -> dict[str, str]:
        """What webhook parsing needs to know Deskloop's own notes (checks the credentials too)."""
        from integrations.freshdesk.webhooks import API_USER_SETTING

        return {API_USER_SETTING: self.api_user_name()}

    def api_user_name(self) -> str:
        """The name of the agent the API key belongs to: the tenant's ``api_user_name`` setting,
        which tells Deskloop's own notes apart in webhooks (see :mod:`.webhooks`)."""
        agent = self._call("read the API key's agent", self._api.agents.currently_authenticated_agent)
        return str((getattr(agent, "contact", None) or {}).get("name") or "")

    def group_names(self) -> dict[str, str]:
        """The account's group names by id (as strings), read once."""
        if self._group_names is None:
            try:
                listed = self._call("list the groups", self._api.groups.list_groups)
            except FreshdeskAuthError as exc:
                log.info("Freshdesk %s: groups not readable (%s); groups keep their ids", self.domain, exc)
                listed = []
            self._group_names = {str(g.id): str(g.name) for g in listed if getattr(g, "name", None)}
        return self._group_names

    # Transport -------------------------------------------------------------------------------

    def _conversations(self, ticket_id: int) -> list[dict[str, Any]]:
        comments = self._call(f"list the conversations of ticket {ticket_id}", self._api.comments.list_comments,
                              int(ticket_id), per_page=PER_PAGE)
        return [_fields(c) for c in comments]

    def _call(self, what: str, call: Callable[..., T], *args: Any, repeatable: bool = True, **kwargs: Any) -> T:
        """``call(*args, **kwargs)``, waiting out 429s and retrying server failures; a request
        that is not ``repeatable`` (it writes) is only repeated when Freshdesk cannot have
        processed it."""
        rate_limited = failures = 0
        while True:
            self._last.response = None
            try:
                return call(*args, **kwargs)
            except library.FreshdeskRateLimited as exc:
                rate_limited += 1
                wait = self._retry_after(exc)
                if rate_limited > self._rate_limit_waits:
                    raise FreshdeskRateLimited(f"{self.domain}: still rate limited after {rate_limited - 1} "
                                               f"waits to {what}", 429, wait) from exc
                log.warning("Freshdesk %s rate limited (429) to %s: waiting %s s", self.domain, what, wait)
                self._sleep(wait)
            except (library.FreshdeskUnauthorized, library.FreshdeskAccessDenied) as exc:
                raise FreshdeskAuthError(f"{self.domain} refused the api_key to {what}: {exc} "
                                         "(give the current key with `deskloop tenant add ... --replace`)") from exc
            except library.FreshdeskNotFound as exc:
                raise FreshdeskNotFound(f"{self.domain} refused to {what}: {exc}", 404) from exc
            except library.FreshdeskBadRequest as exc:
                raise FreshdeskRequestRejected(f"{self.domain} refused to {what}: {exc}", 400) from exc
            except (library.FreshdeskError, requests.RequestException) as exc:
                status = self._status()
                if not self._transient(exc, status, repeatable):
                    raise FreshdeskRequestRejected(f"{self.domain} refused to {what}: {exc}") from exc
                failures += 1
                if failures > self._server_retries:
                    raise FreshdeskUnavailable(f"{self.domain} failed {failures} times to {what}: {exc}") from exc
                wait = RetryPolicy(backoff=self._backoff).backoff_wait(failures)
                log.warning("Freshdesk %s failed to %s (%s): retry %d in %.1f s", self.domain, what,
                            status or type(exc).__name__, failures, wait)
                self._sleep(wait)

    @staticmethod
    def _transient(exc: Exception, status: int | None, repeatable: bool) -> bool:
        if isinstance(exc, library.FreshdeskError):  # an HTTP answer
            if status is None or status < 500:
                return False
            return repeatable or status in NOT_PROCESSED
        if isinstance(exc, requests.ConnectionError):  # refused or unreachable: nothing was sent
            return True
        return repeatable  # a read timeout or a broken answer: the write may have happened

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    def _status(self) -> int | None:
        response = getattr(self._last, "response", None)
        return None if response is None else response.status_code

    def _retry_after(self, exc: Exception) -> float:
        response = getattr(self._last, "response", None)
        asked = asked_wait(response.headers) if response is not None else None
        if asked is None:
            found = re.search(r"until (\d+) seconds", str(exc))  # the library quotes it in its message
            asked = float(found.group(1)) if found else None
        return asked if asked is not None else DEFAULT_RETRY_AFTER

    def _next_page_linked(self) -> bool:
        """Freshdesk sends ``Link: <...>; rel="next"`` while more pages follow."""
        response = getattr(self._last, "response", None)
        return response is not None and "next" in response.links


class _TimeoutAdapter(HTTPAdapter):
    """A transport adapter that gives every request a timeout unless the call set one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _library_api(domain: str, connection: Connection, timeout: float,
                 on_response: Callable[..., None]) -> API:
    api_key = (connection.secrets.get("api_key") or "").strip()
    if not api_key:
        raise FreshdeskConfigError("the Freshdesk connection has no api_key", field="api_key")
    api = API(domain, api_key)
    if connection.api_url:
        base = connection.api_url.rstrip("/")
        api._api_prefix = base + "/" if base.endswith("/api/v2") else base + "/api/v2/"
    transport = _TimeoutAdapter(timeout)
    api._session.mount("https://", transport)
    api._session.mount("http://", transport)
    api._session.hooks["response"].append(on_response)
    return api


def _domain(connection: Connection) -> str:
    """``acme.freshdesk.com`` from what the admin typed (a URL is accepted)."""
    try:
        return account_host(connection.domain)
    except BadInput as exc:
        raise FreshdeskConfigError(exc.reason, field="domain") from None


def _ticket_number(external_id: str) -> int:
    try:
        return int(str(external_id).strip())
    except ValueError as exc:
        raise FreshdeskRequestRejected(f"Freshdesk ticket ids are numbers, not {external_id!r}") from exc


def _fields(model: Any) -> dict[str, Any]:
    """A python-freshdesk model back as the API's dict (``_status`` -> ``status``...)."""
    found = {}
    for key, value in vars(model).items():
        if key == "_keys":
            continue
        if key.startswith("_") and isinstance(getattr(LibraryTicket, key[1:], None), property):
            key = key[1:]
        found[key] = value
    return found
