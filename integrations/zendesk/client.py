"""Outbound Zendesk: backfill through the cursor-based incremental export, tags, private notes,
public replies, status and handoff, all through zenpy (https://github.com/facetoe/zenpy).

**Backfill.** The export has no comments (and no sideload for them), so each ticket's comments are
one more request: 10,000 tickets take 10,000 reads, which against Zendesk's rate limit (a few
hundred requests a minute on most plans) is most of a backfill's time. They are read one at a
time: concurrent readers would only meet the limit sooner, and it is the account's, shared with
every other integration the customer runs. Each read goes through zenpy's request path
(URL, auth, 429 waits, error types) but its JSON is used as is, because ``tickets.comments()``
deserializes every page twice into change-tracked objects: a third of a backfill's time against
a local server.

**Groups and forms.** Tickets carry ``group_id`` and ``ticket_form_id``; the names come from the
account's group and ticket form lists, read once per client (two requests per backfill, not per
ticket) and handed to the adapter. An account without ticket forms (a plan that lacks them, or
an API user not allowed to list them) keeps the forms' ids. :meth:`ZendeskClient.identity` puts
the same names in the tenant's settings for :mod:`.webhooks`, whose events carry ids only.

**Where requests go.** zenpy builds every URL as ``https://{subdomain}.{domain}/api/v2/...`` and has
no per-client base URL (only the process-wide ``ZENPY_FORCE_NETLOC``/``ZENPY_FORCE_SCHEME``
environment variables, which would send every tenant of a worker to the same place). It does take
a requests ``Session``, so the connection's ``api_url`` setting (a proxy, or a local test server)
is applied by a transport adapter mounted for the account's address: it forwards each request to
``api_url`` + the same path, like a reverse-proxy hop (``X-Forwarded-Host``/``-Proto`` name the
account), and hands zenpy the response under the original URL, which zenpy matches against its
base to pick a response handler.

**Failures.** zenpy waits out a 429 itself (it sleeps for ``Retry-After`` and repeats the call).
It retries 5xx only through the session's adapter, and its default adapter retries just 413/503
without backoff and only for ``https://``. Ours retries 500/502/503/504 with exponential backoff
for reads and for the tags PUT (adding tags twice is adding them once), but never for the PUT
that adds a private note: the first attempt may have been stored, and a retry would post the
note twice; that error goes to the caller (a job with a deterministic id). The same holds for a
public reply and a handoff, which carry a comment; a status change alone is retried. Every library or
transport error leaves this module as :class:`ZendeskError`, raised from the original, with the
HTTP status and Zendesk's reason, never a credential.

References:
- Incremental exports: https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
- Ticket comments: https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
- Tags: https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/
- Rate limits: https://developer.zendesk.com/api-reference/introduction/rate-limits/
- Groups: https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups
- Ticket forms: https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_forms/#list-ticket-forms
- Update ticket: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
- Adding tags without replacing them: https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from zenpy import Zenpy
from zenpy.lib.api_objects import BaseObject, Comment, CustomField, User
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.exception import (
    APIException,
    RatelimitBudgetExceeded,
    RecordNotFoundException,
    ZenpyException,
)

from core.errors import BadInput
from core.helpdesk.contract import (
    BackfillPage,
    Connection,
    HelpdeskError,
    HelpdeskNotFound,
    HelpdeskRateLimited,
    HelpdeskRejected,
    HelpdeskUnauthorized,
    HelpdeskUnavailable,
    ReplyFollowUpFailed,
    ReplyStatus,
    SettableStatus,
    check_status,
    error_class_for,
    named_id_or_reread,
)
from core.helpdesk.outbound import RetryPolicy
from core.helpdesk.page_fields import PageFields, context_note
from core.types import PageContext, Ticket
from integrations.zendesk.account import account_host
from integrations.zendesk.adapter import ticket_from_rest

log = logging.getLogger(__name__)

#: Tickets per export page: Zendesk's maximum, so 10 export requests a minute (the endpoint's
#: limit) still move 10,000 tickets a minute.
PAGE_SIZE = 1000
#: Sideloaded with each export page, so requesters and comment authors have names, emails and
#: roles without a request per user (zenpy keeps sideloaded users in its user cache).
SIDELOADS = ["users"]
#: 5xx retries for idempotent requests: 4 more attempts, 0.5 s, 1 s, 2 s apart (urllib3's
#: backoff, no wait before the first retry). 429 is left to zenpy, which honours Retry-After.
RETRIED_STATUSES = (500, 502, 503, 504)
POLICY = RetryPolicy(attempts=5, backoff=1.0)
IDEMPOTENT_RETRY = Retry(total=POLICY.attempts - 1, backoff_factor=POLICY.backoff / 2,  # urllib3 doubles it
                         status_forcelist=RETRIED_STATUSES,
                         allowed_methods=frozenset({"GET", "PUT"}), respect_retry_after_header=False,
                         raise_on_status=False)
#: For writes that must not repeat: only a connection that never got through is tried again
#: (``read=0, status=0``, and PUT is not among the methods urllib3 may repeat).
CONNECT_ONLY_RETRY = Retry(total=2, connect=2, read=0, status=0, other=0, allowed_methods=frozenset({"GET"}),
                           respect_retry_after_header=False, raise_on_status=False)
#: Comments per request (Zendesk's maximum for cursor pagination).
COMMENT_PAGE_SIZE = 100
#: What the adapter reads of an exported ticket and of a sideloaded user.
TICKET_FIELDS = ("id", "subject", "description", "requester_id", "organization_id", "tags", "priority", "status",
                 "via", "created_at", "updated_at", "satisfaction_rating", "custom_fields", "type", "group_id",
                 "ticket_form_id")
USER_FIELDS = ("id", "name", "email", "role")
#: Seconds zenpy waits for any one response.
TIMEOUT = 60
#: The tag on tickets the in-app help widget files, so a view or trigger can pick them out.
WIDGET_TAG = "deskloop_widget"


class ZendeskError(HelpdeskError):
    """Zendesk could not be reached or refused a request. ``status`` is the HTTP status (``None``
    when no response came back); ``retry_after`` the seconds Zendesk asked to wait, if it did.
    Raised as the subclass that also says what happened to the core (:func:`zendesk_error`)."""


class ZendeskUnauthorized(ZendeskError, HelpdeskUnauthorized):
    pass


class ZendeskNotFound(ZendeskError, HelpdeskNotFound):
    pass


class ZendeskRateLimited(ZendeskError, HelpdeskRateLimited):
    pass


class ZendeskUnavailable(ZendeskError, HelpdeskUnavailable):
    pass


class ZendeskRejected(ZendeskError, HelpdeskRejected):
    pass


_BY_KIND: dict[type[HelpdeskError], type[ZendeskError]] = {
    HelpdeskUnauthorized: ZendeskUnauthorized, HelpdeskNotFound: ZendeskNotFound,
    HelpdeskRateLimited: ZendeskRateLimited, HelpdeskUnavailable: ZendeskUnavailable,
    HelpdeskRejected: ZendeskRejected,
}


def zendesk_error(message: str, status: int | None = None, retry_after: float | None = None) -> ZendeskError:
    return _BY_KIND[error_class_for(status)](message, status, retry_after)


class ZendeskTransport(HTTPAdapter):
    """A requests transport for one account: retries per ``max_retries`` and, when ``api_url`` is
    set, forwards ``https://<account>/...`` to ``<api_url>/...`` (see the module docstring)."""

    def __init__(self, account_url: str, api_url: str | None, max_retries: Retry):
        super().__init__(max_retries=max_retries)
        self.account_url = account_url.rstrip("/")
        self.api_url = api_url.rstrip("/") if api_url else None

    # Forwards whatever keywords requests passes, rather than restating HTTPAdapter.send's list.
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = cast(str, request.url)  # a prepared request being sent has its URL
        if self.api_url is None or not url.startswith(self.account_url):
            return super().send(request, **kwargs)
        forwarded = request.copy()
        forwarded.url = self.api_url + url[len(self.account_url):]
        forwarded.headers["X-Forwarded-Host"] = urlsplit(self.account_url).netloc
        forwarded.headers["X-Forwarded-Proto"] = "https"
        response = super().send(forwarded, **kwargs)
        response.request, response.url = request, url
        return response


class ZendeskClient:
    """One tenant's Zendesk account (see :class:`core.helpdesk.contract.HelpdeskClient`)."""

    def __init__(self, connection: Connection, page_size: int = PAGE_SIZE):
        host = account_host(connection.domain)
        subdomain, domain = host.split(".", 1)
        account_url = f"https://{host}"
        email, token = connection.secrets.get("email"), connection.secrets.get("api_token")
        if not email or not token:
            raise BadInput("a Zendesk connection needs the credentials email and api_token")

        def zenpy(retry: Retry) -> Zenpy:
            return Zenpy(subdomain=subdomain, domain=domain, email=email, token=token, timeout=TIMEOUT,
                         session=_session(account_url, connection.api_url, retry))

        self.page_size = page_size
        self._api_user_id = _int_or_none(str(connection.settings.get("api_user_id") or "")) or None  # identity()
        self._page_fields = PageFields.from_settings(connection.settings)
        self._names: tuple[dict[str, str], dict[str, str]] | None = None  # (groups, forms), read once
        self._zenpy = zenpy(IDEMPOTENT_RETRY)
        self._notes = zenpy(CONNECT_ONLY_RETRY)  # a separate session: its PUT must not be retried on 5xx

    # HelpdeskClient --------------------------------------------------------------------------

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        """One :class:`BackfillPage` per export page, each with the page's ``after_cursor``
        (``None`` on the page that ends the stream). Pages are told apart by the export's
        ``after_cursor`` changing as zenpy follows ``after_url``. Deleted tickets are skipped.
        ``page_size`` applies to a fresh start; resuming from a cursor, zenpy sends no
        ``per_page`` and Zendesk's default (1,000) applies."""
        with self._errors("the incremental ticket export"):
            if cursor:  # zenpy puts it in the URL as is, and a base64 cursor may hold + / =
                export = self._zenpy.tickets.incremental(cursor=quote(cursor, safe=""), include=SIDELOADS)
            else:
                start_time = 0 if since is None else int(since.timestamp())
                export = self._zenpy.tickets.incremental(start_time=start_time, include=SIDELOADS,
                                                         per_page=self.page_size)
            page_cursor = getattr(export, "after_cursor", None)
            batch: list[Any] = []
            for zenpy_ticket in export:
                if export.after_cursor != page_cursor:  # zenpy just fetched the next page
                    yield BackfillPage(self._tickets(batch), page_cursor)
                    page_cursor, batch = export.after_cursor, []
                batch.append(zenpy_ticket)
            finished = getattr(export, "end_of_stream", True) or page_cursor is None
            yield BackfillPage(self._tickets(batch), None if finished else page_cursor)

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        """``PUT tickets/{id}/tags.json``: adds to the ticket's tags (a POST would replace them)."""
        with self._errors(f"adding tags to ticket {ticket_external_id}"):
            self._zenpy.tickets.add_tags(_ticket_id(ticket_external_id), list(tags))

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        """``PUT tickets/{id}.json`` with only a private comment (zenpy sends the changed fields only)."""
        ticket = ZenpyTicket(id=_ticket_id(ticket_external_id))
        ticket.comment = Comment(body=body, public=False)
        with self._errors(f"adding a private note to ticket {ticket_external_id}"):
            self._notes.tickets.update(ticket)

    def post_reply(self, ticket_external_id: str, body: str, *, tags: list[str],
                   status: ReplyStatus | None) -> str | None:
        """One ``PUT tickets/{id}.json`` with a public comment by the API user (``author_id``, when
        the tenant's settings know it) and the status, not retried after a 5xx (the customer
        would get the reply twice); then the tags through the tags PUT, which adds to the
        ticket's (Update Ticket's ``tags`` replaces them, and its ``additional_tags`` works only
        in bulk updates). Returns the comment's id, read from the audit the PUT answers with."""
        number = _ticket_id(ticket_external_id)
        ticket = ZenpyTicket(id=number)
        ticket.comment = Comment(body=body, public=True, **({"author_id": self._api_user_id}
                                                             if self._api_user_id else {}))
        if status is not None:
            ticket.status = check_status(status, ReplyStatus)
        with self._errors(f"replying on ticket {ticket_external_id}"):
            audit = self._notes.tickets.update(ticket)
        reply_id = _comment_id(audit)
        if [t for t in tags if t.strip()]:
            try:
                self.apply_tags(ticket_external_id, [t for t in tags if t.strip()])
            except ZendeskError as exc:
                raise ReplyFollowUpFailed(f"replied on Zendesk ticket {ticket_external_id}, then failed to tag it",
                                          reply_id, exc) from exc
        return reply_id

    def set_status(self, ticket_external_id: str, status: SettableStatus) -> None:
        """``PUT tickets/{id}.json`` with the status alone (retried: setting it twice is setting it once)."""
        ticket = ZenpyTicket(id=_ticket_id(ticket_external_id))
        ticket.status = check_status(status)
        with self._errors(f"setting the status of ticket {ticket_external_id}"):
            self._zenpy.tickets.update(ticket)

    def hand_off(self, ticket_external_id: str, note: str, group: str | None) -> None:
        """One ``PUT tickets/{id}.json``: a private comment, status ``open`` and the group's
        ``group_id``; like a note, not retried after a 5xx. The group is named as the tenant
        configures it and found in the account's group list (read again once when the name is
        not in it, in case the group is new); an unknown name is refused before anything is
        written."""
        ticket = ZenpyTicket(id=_ticket_id(ticket_external_id))
        ticket.comment = Comment(body=note, public=False)
        ticket.status = "open"
        if group is not None:
            ticket.group_id = int(self._group_id(group))
        with self._errors(f"handing off ticket {ticket_external_id}"):
            self._notes.tickets.update(ticket)

    def create_ticket(self, subject: str, body: str, requester_email: str | None, requester_name: str | None,
                      page_context: PageContext | None) -> str:
        """``POST tickets.json`` (zenpy ``tickets.create``): the customer as requester (Zendesk
        finds or makes the user by email), their message as the first public comment, and the page
        in the ticket fields the tenant mapped (:mod:`core.helpdesk.page_fields`); what has no
        field goes into a private note after it. Sent once: a retried POST could open it twice."""
        ticket = ZenpyTicket(subject=subject, comment=Comment(body=body, public=True), tags=[WIDGET_TAG])
        if requester_email:
            ticket.requester = User(email=requester_email, name=requester_name or requester_email)
        fields = self._page_fields.fields(page_context)
        if fields:
            ticket.custom_fields = [CustomField(id=int(key), value=value) for key, value in fields.items()]
        with self._errors("opening a ticket"):
            audit = self._notes.tickets.create(ticket)
        external_id = str(audit.ticket.id)
        if page_context is not None and self._page_fields.unmapped(page_context):
            try:  # the ticket exists: a failed note must not make the caller open another
                self.add_private_note(external_id, context_note(page_context))
            except ZendeskError as exc:
                log.warning("Zendesk ticket %s opened without its page note: %s", external_id, exc)
        return external_id

    # Zendesk only ----------------------------------------------------------------------------

    def _reread_group_names(self) -> dict[str, str]:
        forms = self.group_and_form_names()[1]
        self._names = (self._names_of("groups", lambda: self._zenpy.groups()), forms)
        return self._names[0]

    def _group_id(self, name: str) -> str:
        found, groups = named_id_or_reread(self.group_and_form_names()[0], self._reread_group_names, name)
        if found is None:
            known = ", ".join(sorted(groups.values())) or "none readable by the API user"
            raise ZendeskRejected(f"no Zendesk group is called {name!r} (the account's groups: {known}); "
                                  "fix the tenant's handoff group setting")
        return found

    def identity(self) -> dict[str, Any]:
        """What webhook parsing needs: the API user, to know Deskloop's own changes (checks the
        credentials too), and the names of the account's groups and ticket forms, since ticket
        events name them by id only."""
        from integrations.zendesk.webhooks import API_USER_SETTING, FORM_NAMES_SETTING, GROUP_NAMES_SETTING

        groups, forms = self.group_and_form_names()
        return {API_USER_SETTING: self.api_user_id(), GROUP_NAMES_SETTING: groups, FORM_NAMES_SETTING: forms}

    def api_user_id(self) -> str:
        """The id of the Zendesk user the token acts as: the tenant's ``api_user_id`` setting,
        which tells Deskloop's own changes apart in webhooks (see :mod:`.webhooks`)."""
        with self._errors("reading the API user"):
            return str(self._zenpy.users.me().id)

    def group_and_form_names(self) -> tuple[dict[str, str], dict[str, str]]:
        """The account's group names and ticket form names, by id (as strings); read once."""
        if self._names is None:
            self._names = (self._names_of("groups", lambda: self._zenpy.groups()),
                           self._names_of("ticket forms", lambda: self._zenpy.ticket_forms()))
        return self._names

    def _names_of(self, what: str, listing: Callable[[], Iterable[Any]]) -> dict[str, str]:
        """Names by id of what ``listing()`` yields; empty when the API user may not list them
        (403, or 404 for ticket forms on a plan without them): the ids are kept then."""
        try:
            with self._errors(f"listing the {what}"):
                return {str(item.id): item.name for item in listing() if item.name}
        except ZendeskError as exc:
            if exc.status not in (403, 404):
                raise
            log.info("Zendesk %s not readable (%s); they keep their ids", what, exc.status)
            return {}

    # ------------------------------------------------------------------------------------------

    def _tickets(self, batch: list[ZenpyTicket]) -> list[Ticket]:
        groups, forms = self.group_and_form_names() if batch else ({}, {})
        tickets = []
        for zenpy_ticket in batch:
            raw = _plain(zenpy_ticket, TICKET_FIELDS)
            if raw.get("status") == "deleted":
                continue
            comments = self._comments(raw["id"])
            if comments is not None:
                tickets.append(ticket_from_rest(raw, comments, self._users(raw, comments), groups, forms,
                                                self._page_fields))
        return tickets

    def _comments(self, ticket_id: int) -> list[dict[str, Any]] | None:
        """The ticket's comments, oldest first, following ``links.next`` while ``meta.has_more``
        (Zendesk's cursor pagination); ``None`` when the ticket is gone (deleted between the
        export and this read), which skips it rather than failing the backfill.

        zenpy's ``_build_url``/``_get(raw_response=True)`` are what its own paginators call; the
        public ``tickets.comments()`` would parse each page twice (see the module docstring).
        """
        api = self._zenpy.tickets
        with self._errors(f"reading the comments of ticket {ticket_id}"):
            try:
                url = api._build_url(api.endpoint.comments(id=ticket_id, cursor_pagination=COMMENT_PAGE_SIZE))
                comments: list[dict[str, Any]] = []
                while url:
                    page = api._get(url, raw_response=True).json()
                    comments += page.get("comments") or []
                    more = (page.get("meta") or {}).get("has_more")
                    url = (page.get("links") or {}).get("next") if more else None
                return comments
            except RecordNotFoundException:
                log.warning("Zendesk ticket %s disappeared during the backfill; skipped", ticket_id)
                return None

    def _users(self, ticket: Mapping[str, Any], comments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The sideloaded users this ticket mentions (requester, comment authors), by id."""
        ids = {ticket.get("requester_id"), *(c.get("author_id") for c in comments)} - {None}
        found = {}
        for user_id in ids:
            user = self._zenpy.cache.get("user", user_id)
            if user is not None:
                found[str(user_id)] = _plain(user, USER_FIELDS)
        return found

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Library and transport errors as :class:`ZendeskError` (status and Zendesk's reason)."""
        try:
            yield
        except (APIException, requests.HTTPError) as exc:
            response = getattr(exc, "response", None)
            status = None if response is None else response.status_code
            retry_after = None if response is None else _int_or_none(response.headers.get("Retry-After"))
            raise zendesk_error(f"Zendesk answered {status} to {action}: {_reason(response)}", status,
                               retry_after) from exc
        except RatelimitBudgetExceeded as exc:
            raise zendesk_error(f"{action}: rate limited for longer than the budget allows", 429) from exc
        except ZenpyException as exc:
            raise zendesk_error(f"{action}: {exc}") from exc
        except requests.RequestException as exc:  # no answer, or one that is not JSON
            raise zendesk_error(f"{action} failed: {type(exc).__name__}") from exc


def _session(account_url: str, api_url: str | None, retry: Retry) -> requests.Session:
    """A session for one account with our transport. Proxy settings are read from the environment
    once, here: requests would otherwise re-read them on every request (a tenth of a backfill's
    time against a local server), which ``trust_env = False`` turns off along with its other per-request lookups."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(account_url))
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    session.mount(account_url + "/", ZendeskTransport(account_url, api_url, retry))
    return session


def _plain(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a zenpy object as plain JSON values (nested objects as dicts). Only
    what the adapter reads: zenpy's ``to_dict`` round-trips the whole object through JSON."""
    found = {}
    for name in fields:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if isinstance(value, BaseObject):
            value = value.to_dict()
        found[name] = value
    return found


def _ticket_id(external_id: str) -> int:
    try:
        return int(external_id)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"not a Zendesk ticket id: {external_id!r}") from exc


def _comment_id(audit: Any) -> str | None:
    """The id of the comment a ticket update added: the ``Comment`` event of the audit Zendesk
    answers with (the same id the comment has in the ticket's comments and in webhooks)."""
    events = getattr(getattr(audit, "audit", None), "events", None) or []
    for event in events:
        fields = event if isinstance(event, Mapping) else vars(event)
        if fields.get("type") == "Comment" and fields.get("id") is not None:
            return str(fields["id"])
    return None


def _int_or_none(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _reason(response: requests.Response | None) -> str:
    """Zendesk's error text (``{"error": ..., "description": ...}``), cut short."""
    if response is None:
        return "no response"
    try:
        data = response.json()
    except ValueError:
        return response.reason or "no reason given"
    if isinstance(data, dict):
        error, description = data.get("error"), data.get("description")
        if isinstance(error, dict):  # some endpoints nest it: {"error": {"title", "message"}}
            nested = error
            error, description = nested.get("title"), nested.get("message")
        text = ": ".join(str(part) for part in (error, description) if part)
        return text[:300] or "no reason given"
    return "no reason given"
