"""Freshdesk: automation-rule deliveries in, REST API v2 out through python-freshdesk, against a
local server that answers like Freshdesk (:mod:`tests.integrations.freshdesk.fake_freshdesk`)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.events import BadSignature, MalformedPayload
from core.helpdesk.contract import Connection
from core.types import PageContext
from integrations.freshdesk import INTEGRATION
from integrations.freshdesk.client import FreshdeskClient
from integrations.freshdesk.errors import (
    FreshdeskAuthError,
    FreshdeskConfigError,
    FreshdeskRequestRejected,
    FreshdeskUnavailable,
)
from integrations.freshdesk.webhooks import SECRET_HEADER, sign
from tests.fake_api import Sorting, serve
from tests.integrations.freshdesk.fake_freshdesk import API_KEY, DOMAIN, fake, make_app

WEBHOOKS = Path(INTEGRATION.fixtures_dir) / "webhooks"
SETUP = Path(INTEGRATION.fixtures_dir).parent / "SETUP.md"
SECRET = "4f1c9e2b7d0a4be3a1f65c2d8e9b7a10"
NOW = datetime(2025, 3, 5, 17, 21, tzinfo=UTC)


def delivery(name: str, **changes) -> bytes:
    """The fixture ``name`` as delivered, with template fields changed (``None`` removes one)."""
    data = json.loads((WEBHOOKS / f"{name}.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data["freshdesk_webhook"].pop(key, None)
        else:
            data["freshdesk_webhook"][key] = value
    return json.dumps(data).encode("utf-8")


def only(body: bytes, settings=None):
    events = INTEGRATION.parse(body, settings)
    assert len(events) == 1
    return events[0].check()


# Verification ------------------------------------------------------------------------------------


def test_a_delivery_with_the_secret_header_is_accepted():
    body = delivery("customer_replied")
    INTEGRATION.verify(sign(body, SECRET), body, {"api_key": "k", "webhook_secret": SECRET}, NOW)
    # header names are case-insensitive on the wire
    INTEGRATION.verify({SECRET_HEADER.lower(): SECRET}, body, {"webhook_secret": SECRET}, NOW)


@pytest.mark.parametrize("headers, reason", [
    ({}, "missing"),
    ({SECRET_HEADER: "guessed-secret"}, "does not match"),
    ({SECRET_HEADER: SECRET[:-1]}, "does not match"),
    ({"Authorization": f"Basic {SECRET}"}, "missing"),
])
def test_a_missing_or_wrong_secret_is_rejected_without_revealing_it(headers, reason):
    with pytest.raises(BadSignature, match=reason) as caught:
        INTEGRATION.verify(headers, delivery("customer_replied"), {"webhook_secret": SECRET}, NOW)
    assert SECRET not in str(caught.value)


def test_a_tenant_without_a_webhook_secret_accepts_nothing():
    with pytest.raises(BadSignature, match="no webhook_secret"):
        INTEGRATION.verify({SECRET_HEADER: ""}, delivery("customer_replied"), {"webhook_secret": ""}, NOW)


# Parsing ------------------------------------------------------------------------------------------

KINDS = {
    "ticket_created": "ticket_created",
    "customer_replied": "customer_replied",
    "agent_replied": "agent_replied",
    "note_added": "agent_replied",
    "status_changed": "status_changed",
    "ticket_reopened": "reopened",
    "properties_changed": "fields_changed",
    "feedback_received": "csat_received",
    "ticket_reassigned": "reassigned",
}


def test_every_handled_event_is_listed_here():
    assert set(KINDS) == set(INTEGRATION.handled_events)


@pytest.mark.parametrize("name, kind", sorted(KINDS.items()))
def test_each_fixture_parses_to_its_kind_for_its_ticket(name, kind):
    body = (WEBHOOKS / f"{name}.json").read_bytes()
    event = only(body)
    assert event.kind == kind
    assert event.ticket_external_id == json.loads(body)["freshdesk_webhook"]["ticket_id"]
    assert event.occurred_at.tzinfo is not None and not event.from_deskloop
    assert INTEGRATION.event_name(body) == name


def test_a_new_ticket_carries_its_fields_and_the_customers_first_message():
    event = only(delivery("ticket_created"))
    assert (event.subject, event.status, event.priority, event.channel) == (
        "Refund for order NW-20417 not received", "open", "normal", "email")
    assert event.tags == ["refund", "order-issue"]
    assert event.requester.email == "priya.raman@example.com"
    assert event.message.author_role == "customer" and "NW-20417" in event.message.body
    assert event.created_at == datetime(2025, 3, 4, 9, 2, 17, tzinfo=UTC)
    assert (event.ticket_type, event.group, event.form, event.macros) == ("Refund", "Billing", None, None)


def test_a_type_change_reports_the_tickets_type_and_group():
    event = only(delivery("properties_changed", triggered_event="{ticket_type:{from:Question,to:Problem}}"))
    assert (event.kind, event.ticket_type, event.group) == ("fields_changed", "Problem", "Billing")
    unsorted = only(delivery("properties_changed", ticket_ticket_type="", ticket_group_name=" "))
    assert (unsorted.ticket_type, unsorted.group) == (None, None)  # rendered empty: nothing said


def test_a_reply_is_the_latest_public_comment_without_the_author_prefix_or_attachments():
    customer = only(delivery("customer_replied")).message
    assert (customer.author_role, customer.author_name, customer.public) == ("customer", "Priya Raman", True)
    assert customer.body.startswith("<div") and "4417" in customer.body
    agent = only(delivery("agent_replied")).message
    assert (agent.author_role, agent.author_name) == ("agent", "Tomás Ortega")
    assert agent.body.endswith("</div>") and "Attachments" not in agent.body


def test_a_note_is_the_latest_comment_of_its_type():
    private = only(delivery("note_added")).message
    assert (private.author_role, private.public) == ("agent", False)
    assert "Leipzig warehouse" in private.body
    public = only(delivery("note_added", triggered_event="{note_type:public}")).message
    assert public.public and "4417" in public.body
    quoted = only(delivery("note_added", triggered_event='{"note_type":"private"}')).message
    assert quoted == private


def test_changes_by_the_agent_deskloop_acts_as_are_from_deskloop():
    by_deskloop = delivery("note_added", ticket_latest_private_comment="Deskloop : <p>Suggested: refund_status</p>")
    assert only(by_deskloop, {"api_user_name": "Deskloop"}).from_deskloop
    assert not only(by_deskloop, {}).from_deskloop
    assert not only(delivery("note_added"), {"api_user_name": "Deskloop"}).from_deskloop


@pytest.mark.parametrize("status, expected", [
    ("Open", "open"), ("Pending", "pending"), ("Resolved", "solved"), ("Closed", "closed"),
    ("Waiting on Customer", "pending"), ("4", "solved"),
])
def test_freshdesk_statuses_map_onto_deskloops(status, expected):
    assert only(delivery("status_changed", ticket_status=status)).status == expected


@pytest.mark.parametrize("triggered, score", [
    ("{customer_feedback:103}", 5), ("{customer_feedback:102}", 4), ("{customer_feedback:101}", 4),
    ("{customer_feedback:100}", 3), ("{customer_feedback:-101}", 2), ("{customer_feedback:-102}", 2),
    ("{customer_feedback:-103}", 1),
])
def test_survey_ratings_map_onto_1_to_5(triggered, score):
    assert only(delivery("feedback_received", triggered_event=triggered)).csat.score == score


def test_a_rating_stated_by_the_rule_wins():
    event = only(delivery("feedback_received", triggered_event="{customer_feedback:}", rating="Extremely unhappy"))
    assert event.csat.score == 1 and not event.csat.is_good


def test_a_reassignment_names_the_new_agent_and_group():
    event = only(delivery("ticket_reassigned"))
    assert (event.assignee, event.group) == ("mei.lin@northwind-bikes.com", "Workshop")


@pytest.mark.parametrize("rendered", [
    "2025-03-04 10:15:42 UTC", "2025-03-04 15:45:42 +0530", "2025-03-04T10:15:42Z",
    "Tue, 04 Mar 2025 10:15:42 +0000", "2025-03-04 10:15:42",
])
def test_the_modified_time_is_read_however_freshdesk_prints_it(rendered):
    event = only(delivery("status_changed", ticket_modified_on=rendered))
    assert event.occurred_at == datetime(2025, 3, 4, 10, 15, 42, tzinfo=UTC)


def test_a_retried_delivery_dedupes_and_another_fact_does_not():
    first = only(delivery("agent_replied"))
    assert only(delivery("agent_replied")).event_id == first.event_id
    later = only(delivery("agent_replied", ticket_modified_on="2025-03-05 17:25:01 UTC"))
    same_second = only(delivery("agent_replied",
                                ticket_latest_public_comment="Tomás Ortega : <div>One more thing</div>"))
    assert len({first.event_id, later.event_id, same_second.event_id}) == 3
    assert first.event_id.startswith("1042:agent_replied:20250305T172044Z:")


#: The tenant's page-context mapping (``deskloop tenant app --set``, SETUP.md 3.10).
PAGE_FIELDS = {"page_url_field": "cf_page_url", "page_title_field": "cf_page_title",
               "page_area_field": "cf_product_area", "page_state_field": "cf_app_state"}


def test_mapped_custom_fields_of_a_new_ticket_become_its_page_context():
    body = delivery("ticket_created", ticket_custom_fields={
        "cf_page_url": "https://app.northwind.example/settings/export", "cf_page_title": "Export data",
        "cf_product_area": "{{ticket.cf_product_area}}",  # a field the account does not have: unrendered
        "cf_app_state": '{"plan": "growth", "password_hint": "x"}'})
    event = only(body, PAGE_FIELDS)
    assert event.custom_fields == {"cf_page_url": "https://app.northwind.example/settings/export",
                                   "cf_page_title": "Export data",
                                   "cf_app_state": '{"plan": "growth", "password_hint": "x"}'}
    context = event.page_context
    assert (context.url, context.title, context.area, context.app_state) == (
        "https://app.northwind.example/settings/export", "Export data", None, {"plan": "growth"})
    assert only(body).page_context is None  # no mapping: custom fields only


def test_blank_custom_fields_say_nothing():
    event = only(delivery("properties_changed", ticket_custom_fields={"cf_page_url": " "}), PAGE_FIELDS)
    assert event.custom_fields is None and event.page_context is None


def test_a_template_without_optional_fields_leaves_them_unsaid():
    event = only(delivery("status_changed", ticket_tags=None, ticket_priority=None, ticket_subject=None))
    assert (event.tags, event.priority, event.subject) == (None, None, None)
    older_rule = only(delivery("ticket_created", ticket_ticket_type=None, ticket_group_name=None))
    assert (older_rule.ticket_type, older_rule.group) == (None, None)
    assert only(delivery("status_changed", ticket_tags="")).tags == []


def test_an_event_deskloop_does_not_use_is_ignored():
    body = delivery("status_changed", deskloop_event="time_entry_added")
    assert INTEGRATION.parse(body) == []
    assert INTEGRATION.event_name(body) == "time_entry_added"


@pytest.mark.parametrize("name, changes, where", [
    ("status_changed", {"deskloop_event": None}, "freshdesk_webhook.deskloop_event: missing"),
    ("status_changed", {"ticket_id": ""}, "freshdesk_webhook.ticket_id: expected an integer"),
    ("status_changed", {"ticket_id": "{{ticket.id}}"}, "freshdesk_webhook.ticket_id: expected an integer"),
    ("status_changed", {"ticket_id": "0"}, "freshdesk_webhook.ticket_id: expected a ticket number"),
    ("status_changed", {"ticket_modified_on": ""}, "freshdesk_webhook.ticket_modified_on: empty"),
    ("status_changed", {"ticket_modified_on": "{{ticket.modified_on}}"},
     "freshdesk_webhook.ticket_modified_on: not a time"),
    ("status_changed", {"ticket_status": None}, "freshdesk_webhook.ticket_status: missing"),
    ("status_changed", {"ticket_tags": ["refund"]}, "freshdesk_webhook.ticket_tags: expected str/int"),
    ("customer_replied", {"ticket_latest_public_comment": None},
     "freshdesk_webhook.ticket_latest_public_comment: missing"),
    ("agent_replied", {"ticket_latest_public_comment": "Tomás Ortega : "},
     "freshdesk_webhook.ticket_latest_public_comment: the comment has no body"),
    ("note_added", {"triggered_event": "{status:{from:2,to:3}}"}, "freshdesk_webhook.triggered_event: expected a note"),
    ("note_added", {"triggered_event": "note added"}, "freshdesk_webhook.triggered_event: not a Freshdesk event"),
    ("feedback_received", {"triggered_event": "{customer_feedback:7}"},
     "freshdesk_webhook.triggered_event: unknown satisfaction rating"),
    ("feedback_received", {"rating": "delighted"}, "freshdesk_webhook.rating: unknown satisfaction rating"),
])
def test_a_malformed_delivery_names_the_field(name, changes, where):
    with pytest.raises(MalformedPayload) as caught:
        INTEGRATION.parse(delivery(name, **changes))
    assert str(caught.value).startswith(where)


@pytest.mark.parametrize("body, where", [
    (b"ticket_id=1042", "body is not JSON"),
    (b"[]", "body: expected an object"),
    (b'{"ticket": {"id": 1042}}', "freshdesk_webhook: missing"),
    (b'{"freshdesk_webhook": "1042"}', "freshdesk_webhook: expected dict"),
])
def test_a_body_that_is_not_a_delivery_is_malformed(body, where):
    with pytest.raises(MalformedPayload, match=re.escape(where)):
        INTEGRATION.parse(body)
    assert INTEGRATION.event_name(body) is None


def test_the_setup_templates_are_what_the_fixtures_show():
    """Each rule's JSON in SETUP.md has exactly its fixture's fields, each a placeholder."""
    templates = {}
    for block in re.findall(r"```json\n(.*?)```", SETUP.read_text(encoding="utf-8"), re.S):
        data = json.loads(block)
        if "freshdesk_webhook" in data:
            templates[data["freshdesk_webhook"]["deskloop_event"]] = data["freshdesk_webhook"]
    assert set(templates) == set(INTEGRATION.handled_events)
    for name, template in templates.items():
        fixture = json.loads((WEBHOOKS / f"{name}.json").read_text(encoding="utf-8"))["freshdesk_webhook"]
        assert set(template) == set(fixture), name
        placeholders = {k: v for k, v in template.items() if k != "deskloop_event"}
        assert all(re.fullmatch(r"\{\{[a-z_.]+\}\}", v) for v in placeholders.values()), name
        assert all(k == v.strip("{}").replace(".", "_") for k, v in placeholders.items()), name


# The client against a local Freshdesk -----------------------------------------------------------


def connection(url: str, api_key: str = API_KEY, domain: str = DOMAIN, settings: dict | None = None) -> Connection:
    return Connection("northwind", "freshdesk", domain, {"api_key": api_key, "webhook_secret": SECRET},
                      {**(settings or {}), "api_url": url})


@pytest.fixture
def freshdesk():
    """25 tickets served 10 per page (three share each updated_at, so ties straddle pages)."""
    app = make_app(tickets=25, per_page_max=10)
    with serve(app) as url:
        yield fake(app), url


def ids_of(pages) -> list[int]:
    return [int(t.external_id) for page in pages for t in page.tickets]


def test_backfill_yields_every_ticket_once_oldest_first_with_its_conversations(freshdesk):
    server, url = freshdesk
    pages = list(INTEGRATION.client(connection(url)).backfill(None, None))
    assert ids_of(pages) == list(range(1, 26))
    assert len(pages) >= 3 and pages[-1].cursor is None and all(p.cursor for p in pages[:-1])
    first = pages[0].tickets[0]
    assert first.source == "freshdesk" and first.requester.name == "Liam Okafor"
    assert [(m.author_role, m.public) for m in first.messages] == [
        ("customer", True), ("agent", True), ("agent", False), ("customer", True)]
    assert first.messages[-1].author_name == "Liam Okafor"
    assert [m.external_id for m in first.messages[1:]] == ["100", "101", "102"]  # conversation ids
    assert (first.status, first.priority, first.channel) == ("open", "normal", "email")
    assert first.custom_fields["cf_bike_model"] == "Commuter 7"
    second = pages[0].tickets[1]
    assert (first.ticket_type, first.group, first.form, first.macros) == ("Question", "Payments", None, [])
    assert (second.ticket_type, second.group) == ("Problem", "Deliveries & Returns")
    assert sum(r.path == "/api/v2/groups" for r in server.requests) == 1  # once per backfill, not per page
    listed = [r for r in server.requests if r.path == "/api/v2/tickets"]
    assert all("filter" not in r.query and r.query["order_by"] == "updated_at" and r.query["order_type"] == "asc"
               for r in listed)


def test_backfilled_tickets_are_sorted_as_the_account_sorted_them():
    """Type, group (named from the account's groups), cf_ custom fields and tags, per ticket."""
    def sorting(n: int) -> Sorting | None:  # odd tickets are refunds; even ones keep the template's
        return Sorting(ticket_type="Refund", group="Refunds", custom_fields={"cf_reason": "late refund"},
                       tags=["refund"]) if n % 2 else None

    app = make_app(tickets=4, sorting=sorting)
    with serve(app) as url:
        pages = list(INTEGRATION.client(connection(url)).backfill(None, None))
    tickets = [t for page in pages for t in page.tickets]
    assert [(t.ticket_type, t.group, t.custom_fields.get("cf_reason"), t.tags) for t in tickets] == [
        ("Refund", "Refunds", "late refund", ["refund"]),
        ("Problem", "Deliveries & Returns", None, ["delivery", "returns"]),
        ("Refund", "Refunds", "late refund", ["refund"]), ("Question", "Payments", None, ["payments"])]


def test_a_backfilled_ticket_carries_the_page_its_mapped_fields_name():
    app = make_app(tickets=2, sorting={1: Sorting(custom_fields={
        "cf_page_url": "https://app.northwind.example/analytics", "cf_product_area": "analytics"})})
    with serve(app) as url:
        base = connection(url)
        mapped = Connection(base.tenant, base.helpdesk, base.domain, base.secrets, {**base.settings, **PAGE_FIELDS})
        first, second = [t for page in INTEGRATION.client(mapped).backfill(None, None) for t in page.tickets]
    assert (first.page_context.url, first.page_context.area) == ("https://app.northwind.example/analytics",
                                                                 "analytics")
    assert second.page_context is None


def test_groups_the_key_may_not_list_keep_their_ids(freshdesk):
    server, url = freshdesk
    server.faults.add("/api/v2/groups", 403)
    pages = list(INTEGRATION.client(connection(url)).backfill(None, None))
    assert pages[0].tickets[0].group == "47000654321"


def test_a_killed_backfill_resumes_from_its_cursor_without_losing_or_repeating(freshdesk):
    _, url = freshdesk
    client = INTEGRATION.client(connection(url))
    pages = client.backfill(None, None)
    before = [next(pages), next(pages)]  # the run dies after storing two pages
    pages.close()
    after = list(INTEGRATION.client(connection(url)).backfill(None, before[-1].cursor))
    assert sorted(ids_of(before) + ids_of(after)) == list(range(1, 26))


def test_a_page_of_tickets_updated_in_the_same_second_is_read_past():
    app = make_app(tickets=9, per_page_max=2)
    with serve(app) as url:
        pages = list(INTEGRATION.client(connection(url)).backfill(None, None))
    assert ids_of(pages) == list(range(1, 10))


def test_a_backfill_since_a_date_starts_there(freshdesk):
    server, url = freshdesk
    since = datetime.fromtimestamp(server.updated[12], UTC)  # tickets 13..15 share this second
    pages = list(INTEGRATION.client(connection(url)).backfill(since, None))
    assert ids_of(pages) == list(range(13, 26))


def test_a_429_is_waited_out_for_its_retry_after(freshdesk):
    server, url = freshdesk
    server.faults.add("/api/v2/tickets", 429, retry_after=1)
    started = time.monotonic()
    pages = list(INTEGRATION.client(connection(url)).backfill(None, None))
    assert time.monotonic() - started >= 1.0
    assert ids_of(pages) == list(range(1, 26))
    assert [r.path for r in server.requests[:2]] == ["/api/v2/tickets", "/api/v2/tickets"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried(freshdesk, status):
    server, url = freshdesk
    server.faults.add("/api/v2/tickets/4/conversations", status, times=2)
    client = FreshdeskClient(connection(url), backoff=0.05)
    pages = list(client.backfill(None, None))
    assert ids_of(pages) == list(range(1, 26))
    assert len(pages[0].tickets[3].messages) == 4
    assert sum(r.path == "/api/v2/tickets/4/conversations" for r in server.requests) == 3


def test_a_server_error_that_persists_is_reported(freshdesk):
    server, url = freshdesk
    server.faults.add("/api/v2/tickets/2", 503, times=10)
    client = FreshdeskClient(connection(url), backoff=0.01, server_retries=2)
    with pytest.raises(FreshdeskUnavailable, match="failed 3 times to read ticket 2"):
        client.apply_tags("2", ["refund"])


def test_a_wrong_api_key_is_reported_without_the_key(freshdesk):
    _, url = freshdesk
    with pytest.raises(FreshdeskAuthError, match="refused the api_key") as caught:
        list(INTEGRATION.client(connection(url, api_key="fd-revoked-key-0000")).backfill(None, None))
    assert "fd-revoked-key-0000" not in str(caught.value)
    assert caught.value.__cause__ is not None


def test_apply_tags_adds_to_the_tags_the_ticket_has(freshdesk):
    server, url = freshdesk
    INTEGRATION.client(connection(url)).apply_tags("2", ["Returns", "exchange-request"])
    [put] = [r for r in server.requests if r.method == "PUT"]
    assert put.path == "/api/v2/tickets/2" and put.json == {"tags": ["delivery", "returns", "exchange-request"]}


def test_apply_tags_writes_nothing_when_no_tag_is_new(freshdesk):
    server, url = freshdesk
    INTEGRATION.client(connection(url)).apply_tags("2", ["delivery"])
    assert not [r for r in server.requests if r.method == "PUT"]


def test_a_private_note_is_posted_and_its_delivery_is_known_as_deskloops(freshdesk):
    server, url = freshdesk
    INTEGRATION.client(connection(url)).add_private_note("2", "Deskloop draft:\n\nHi Sofía,\nswap <M> for XL")
    [post] = [r for r in server.requests if r.method == "POST"]
    assert post.path == "/api/v2/tickets/2/notes" and post.json["private"] is True
    assert "<p>Hi Sofía,<br>swap &lt;M&gt; for XL</p>" in post.json["body"]
    rendered = f"Tomás Ortega : {post.json['body']}"  # as {{ticket.latest_private_comment}} renders it
    assert only(delivery("note_added", ticket_latest_private_comment=rendered)).from_deskloop


def test_a_public_reply_is_posted_then_tags_and_status_in_one_update(freshdesk):
    server, url = freshdesk
    client = INTEGRATION.client(connection(url, settings={"api_user_name": "Deskloop"}))
    reply_id = client.post_reply("2", "Hi Sofía,\n\nthe XL ships <today>.", tags=["Returns", "deskloop-auto"],
                                 status="pending")
    writes = [(r.method, r.path, r.json) for r in server.requests if r.method != "GET"]
    assert writes == [("POST", "/api/v2/tickets/2/reply",
                       {"body": "<p>Hi Sofía,</p><p>the XL ships &lt;today&gt;.</p>"}),
                      ("PUT", "/api/v2/tickets/2", {"tags": ["delivery", "returns", "deskloop-auto"], "status": 3})]
    assert reply_id == "250" and server.notes[2][0]["private"] is False
    assert "Added by Deskloop" not in writes[0][2]["body"]  # the customer reads it
    rendered = f"Deskloop : {writes[0][2]['body']}"  # as {{ticket.latest_public_comment}} renders it
    echoed = only(delivery("agent_replied", ticket_latest_public_comment=rendered), {"api_user_name": "Deskloop"})
    assert (echoed.kind, echoed.message.public, echoed.from_deskloop) == ("agent_replied", True, True)


@pytest.mark.parametrize("status, code", [("solved", 4), ("pending", 3), (None, None)])
def test_a_reply_sets_the_status_code_and_nothing_else_when_no_tag_is_new(freshdesk, status, code):
    server, url = freshdesk
    INTEGRATION.client(connection(url)).post_reply("2", "Done.", tags=["delivery"], status=status)
    puts = [r.json for r in server.requests if r.method == "PUT"]
    assert puts == ([{"status": code}] if code else [])


def test_a_reply_is_never_repeated_and_a_failed_update_after_it_says_it_went_out(freshdesk):
    from core.helpdesk.contract import HelpdeskUnavailable, ReplyFollowUpFailed

    server, url = freshdesk
    client = FreshdeskClient(connection(url), backoff=0.01, server_retries=2)
    server.faults.add("/api/v2/tickets/3/reply", 500)
    with pytest.raises(FreshdeskRequestRejected):  # as for a note: it may be stored, so not one to retry
        client.post_reply("3", "Hi", tags=[], status="solved")
    assert sum(r.path == "/api/v2/tickets/3/reply" for r in server.requests) == 1
    assert not [r for r in server.requests if r.method == "PUT"]  # not solved without its answer
    server.faults.add("/api/v2/tickets/3/reply", 503)  # not processed: repeating it cannot post it twice
    client.post_reply("3", "Hi", tags=[], status=None)
    assert sum(r.path == "/api/v2/tickets/3/reply" for r in server.requests) == 3 and len(server.notes[3]) == 1
    server.faults.add("/api/v2/tickets/3", 502, times=10, method="PUT")
    with pytest.raises(ReplyFollowUpFailed) as raised:
        client.post_reply("3", "Again", tags=[], status="solved")
    assert raised.value.reply_id == "351" and isinstance(raised.value.__cause__, HelpdeskUnavailable)


def test_status_changes_are_rate_limit_aware_and_checked(freshdesk):
    from core.errors import BadInput

    server, url = freshdesk
    server.faults.add("/api/v2/tickets/4", 429, retry_after=1)
    client = INTEGRATION.client(connection(url))
    client.set_status("4", "open")
    with pytest.raises(BadInput, match="closed"):
        client.set_status("4", "closed")
    assert [r.json for r in server.requests if r.method == "PUT"] == [{"status": 2}] * 2
    assert server.changes[4] == {"status": 2}


def test_a_handoff_reopens_assigns_the_named_group_then_adds_a_private_note(freshdesk):
    server, url = freshdesk
    INTEGRATION.client(connection(url)).hand_off("5", "Customer asks for a manager.", "deliveries & returns")
    writes = [(r.method, r.path, r.json) for r in server.requests if r.method != "GET"]
    assert writes[0] == ("PUT", "/api/v2/tickets/5", {"status": 2, "group_id": 47000654322})
    assert writes[1][:2] == ("POST", "/api/v2/tickets/5/notes") and writes[1][2]["private"] is True
    assert "Customer asks for a manager." in writes[1][2]["body"] and len(writes) == 2
    assert server.changes[5] == {"status": 2, "group_id": 47000654322}


def test_a_handoff_to_an_unknown_group_writes_nothing_and_names_it(freshdesk):
    from core.helpdesk.contract import HelpdeskRejected

    server, url = freshdesk
    client = INTEGRATION.client(connection(url))
    with pytest.raises(HelpdeskRejected, match="'Escalations'.*Deliveries & Returns, Payments"):
        client.hand_off("5", "Over to you", "Escalations")
    assert not [r for r in server.requests if r.method != "GET"]
    assert sum(r.path == "/api/v2/groups" for r in server.requests) == 2  # read again: it may be new
    client.hand_off("6", "Over to you", None)
    assert server.changes[6] == {"status": 2}

def mapped_client(url: str):
    base = connection(url)
    return INTEGRATION.client(Connection(base.tenant, base.helpdesk, base.domain, base.secrets,
                                         {**base.settings, **PAGE_FIELDS}))


def test_a_widget_ticket_is_opened_from_the_customers_email_with_the_page_in_the_mapped_fields():
    app = make_app(tickets=3)
    context = PageContext(url="https://app.northwind.example/analytics", title="Analytics", area="analytics",
                          app_state={"plan": "growth", "session_token": "s"})
    with serve(app) as url:
        external_id = mapped_client(url).create_ticket("Export?", "Where is <export>?\n\nThanks", "liam@example.com",
                                                       "Liam Okafor", context)
    server = fake(app)
    assert external_id == "4"
    [post] = [r for r in server.requests if r.method == "POST" and r.path == "/api/v2/tickets"]
    assert post.json == {"subject": "Export?", "email": "liam@example.com", "name": "Liam Okafor",
                         "description": "<p>Where is &lt;export&gt;?</p><p>Thanks</p>", "status": 2, "priority": 1,
                         "source": 9, "custom_fields": {
                             "cf_page_url": "https://app.northwind.example/analytics", "cf_page_title": "Analytics",
                             "cf_product_area": "analytics", "cf_app_state": '{"plan": "growth"}'}}
    assert not server.notes


def test_a_widget_ticket_without_mapped_fields_carries_the_page_in_a_private_note(freshdesk):
    server, url = freshdesk
    context = PageContext(url="https://app.northwind.example/settings", route="/settings/export")
    external_id = INTEGRATION.client(connection(url)).create_ticket("Export?", "How?", "liam@example.com", None,
                                                                    context)
    assert external_id == "26" and "custom_fields" not in server.created_tickets[26]
    [note] = server.notes[26]
    assert note["private"] is True and "Page: https://app.northwind.example/settings" in note["body"]
    assert "Route: /settings/export" in note["body"]


def test_a_widget_ticket_without_an_email_is_refused_before_anything_is_sent(freshdesk):
    server, url = freshdesk
    with pytest.raises(FreshdeskRequestRejected, match="email"):
        INTEGRATION.client(connection(url)).create_ticket("Export?", "How?", None, "Liam", None)
    assert not [r for r in server.requests if r.method == "POST"]


def test_a_widget_ticket_is_not_posted_twice_after_a_server_error(freshdesk):
    server, url = freshdesk
    server.faults.add("/api/v2/tickets", 500)
    with pytest.raises(FreshdeskRequestRejected):
        INTEGRATION.client(connection(url)).create_ticket("Export?", "How?", "liam@example.com", None, None)
    assert len([r for r in server.requests if r.method == "POST"]) == 1 and not server.created_tickets


def test_the_api_user_name_is_the_key_owners_agent_name(freshdesk):
    _, url = freshdesk
    assert INTEGRATION.client(connection(url)).api_user_name() == "Deskloop"


@pytest.mark.parametrize("domain, problem", [
    ("support.northwind-bikes.com", "not a \\*.freshdesk.com domain"),
    (None, "domain such as acme.freshdesk.com is required"),
])
def test_a_domain_freshdesk_does_not_serve_its_api_on_is_refused(domain, problem):
    with pytest.raises(FreshdeskConfigError, match=problem):
        INTEGRATION.client(connection("http://127.0.0.1:9", domain=domain))


def test_the_domain_may_be_given_as_a_url():
    client = INTEGRATION.client(connection("http://127.0.0.1:9", domain="https://northwind-bikes.freshdesk.com/"))
    assert client.domain == "northwind-bikes.freshdesk.com"


def test_every_api_fixture_is_served(freshdesk):
    server, url = freshdesk
    client = INTEGRATION.client(connection(url))
    list(client.backfill(None, None))
    client.apply_tags("1", ["payments", "3ds"])
    client.add_private_note("1", "Deskloop draft")
    client.post_reply("1", "Deskloop reply", tags=[], status=None)
    client.api_user_name()
    with pytest.raises(FreshdeskAuthError):
        INTEGRATION.client(connection(url, api_key="wrong")).apply_tags("1", ["x"])
    assert server.fixtures.unused() == set()


def test_a_backfill_stores_how_each_ticket_was_sorted(settings, db):
    """Through python-freshdesk against the local Freshdesk into the database (SQLite and PostgreSQL)."""
    from core.helpdesk.backfill import run_backfill
    from core.helpdesk.connections import add_tenant, forget_connections
    from core.runtime import Runtime
    from core.store.tickets import list_tickets

    sorting = {2: Sorting(ticket_type="Refund", group="Refunds", custom_fields={"cf_reason": "late refund"})}
    with serve(make_app(tickets=3, sorting=sorting)) as url:
        forget_connections()
        runtime = Runtime(settings)
        add_tenant(runtime, "northwind", "freshdesk", DOMAIN, {"api_key": API_KEY, "webhook_secret": SECRET},
                   {"api_url": url, "write_back_tags": False})
        run_backfill(runtime, "northwind")
    with runtime.db.tenant_session(runtime.db.tenant_id("northwind")) as session:
        stored = {t.ticket.external_id: t.ticket for t in list_tickets(session)}
    runtime.close()
    forget_connections()
    assert (stored["1"].ticket_type, stored["1"].group) == ("Question", "Payments")
    assert (stored["2"].ticket_type, stored["2"].group, stored["2"].custom_fields["cf_reason"]) == (
        "Refund", "Refunds", "late refund")
