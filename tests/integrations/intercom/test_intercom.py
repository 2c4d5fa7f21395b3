"""Intercom: webhook signatures and parsing, conversation translation, and the client against a
local server that answers like Intercom's REST API (tests/fake_intercom.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

import pytest

from core.errors import BadInput
from core.events import BadSignature, MalformedPayload
from core.helpdesk.contract import ENTRY_POINT_GROUP, Connection, HelpdeskIntegration
from core.types import PageContext
from integrations.intercom import INTEGRATION
from integrations.intercom.adapter import ticket_from_conversation
from integrations.intercom.client import (
    ATTEMPTS,
    IntercomClient,
    IntercomUnauthorized,
    IntercomUnavailable,
    base_url,
)
from integrations.intercom.webhooks import EVENT_HANDLERS, sign
from tests.fake_api import Sorting
from tests.integrations.intercom.fake_intercom import (
    ACCESS_TOKEN,
    FakeIntercom,
    conversation_id,
    make_app,
    serve,
    state,
    updated_at,
)

CLIENT_SECRET = "5f2c9e0b7a4d4e1f8c3b6a9d0e7f2a41"
SECRETS = {"access_token": ACCESS_TOKEN, "client_secret": CLIENT_SECRET}
NOW = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
WEBHOOKS = INTEGRATION.fixtures_dir / "webhooks"
API = INTEGRATION.fixtures_dir / "api"

#: What each topic's fixture must parse to.
EXPECTED_KINDS = {
    "conversation.user.created": ["ticket_created"],
    "conversation.user.replied": ["customer_replied"],
    "conversation.admin.replied": ["agent_replied"],
    "conversation.admin.noted": ["agent_replied"],
    "conversation.admin.closed": ["status_changed"],
    "conversation.admin.opened": ["reopened"],
    "conversation.admin.snoozed": ["status_changed"],
    "conversation.admin.unsnoozed": ["status_changed"],
    "conversation.admin.assigned": ["reassigned"],
    "conversation_part.tag.created": ["fields_changed"],
    "conversation.rating.added": ["csat_received"],
    "conversation.priority.updated": ["fields_changed"],
}


def notification(topic: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / f"{topic}.json").read_text())


def encoded(data: Any) -> bytes:
    return json.dumps(data).encode()


def only_part(data: dict[str, Any]) -> dict[str, Any]:
    return data["data"]["item"]["conversation_parts"]["conversation_parts"][0]


# -- the integration as a whole ---------------------------------------------------------------------

def test_the_entry_point_names_an_integration_that_keeps_the_contract():
    (point,) = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == "intercom"]
    integration = point.load()
    assert integration is INTEGRATION and isinstance(integration, HelpdeskIntegration)
    assert (integration.name, integration.kind) == ("intercom", "helpdesk")
    assert integration.secret_names == ("access_token", "client_secret")
    assert integration.optional_secret_names == ("admin_id",)


def test_every_handled_topic_has_a_fixture_and_every_fixture_is_handled():
    assert sorted(p.stem for p in WEBHOOKS.glob("*.json")) == sorted(INTEGRATION.handled_events)
    assert sorted(EVENT_HANDLERS) == sorted(EXPECTED_KINDS)


# -- signatures ------------------------------------------------------------------------------------

def test_a_delivery_signed_with_the_client_secret_is_accepted():
    body = (WEBHOOKS / "conversation.admin.replied.json").read_bytes()
    INTEGRATION.verify(sign(body, CLIENT_SECRET), body, SECRETS, NOW)
    INTEGRATION.verify({"x-hub-signature": sign(body, CLIENT_SECRET)["X-Hub-Signature"]}, body, SECRETS, NOW)


def test_the_signature_is_hex_hmac_sha1_of_the_raw_body():
    # Computed independently: printf '%s' BODY | openssl dgst -sha1 -hmac test_client_secret
    body = b'{"type":"notification_event","topic":"conversation.admin.replied"}'
    assert sign(body, "test_client_secret") == {"X-Hub-Signature": "sha1=8e9b4519049430cdef515e1f6ee9afa204028b68"}


BODY = (WEBHOOKS / "conversation.admin.replied.json").read_bytes()


@pytest.mark.parametrize(("headers", "body", "reason"), [
    (sign(BODY, "another-apps-secret"), BODY, "does not match"),
    (sign(BODY, CLIENT_SECRET), BODY.replace(b"refunded", b"declined"), "does not match"),
    ({}, BODY, "missing"),
    ({"X-Hub-Signature": ""}, BODY, "40 hex digits"),
    ({"X-Hub-Signature": "sha1=not-hex"}, BODY, "40 hex digits"),
    ({"X-Hub-Signature": sign(BODY, CLIENT_SECRET)["X-Hub-Signature"].removeprefix("sha1=")}, BODY, "40 hex digits"),
    ({"X-Hub-Signature": "sha256=" + "ab" * 32}, BODY, "40 hex digits"),
], ids=["wrong secret", "tampered body", "missing", "empty", "not hex", "no scheme", "sha256"])
def test_a_delivery_not_signed_by_intercom_is_rejected_without_revealing_the_secret(headers, body, reason):
    with pytest.raises(BadSignature, match=reason) as rejected:
        INTEGRATION.verify(headers, body, SECRETS, NOW)
    expected = sign(body, CLIENT_SECRET)["X-Hub-Signature"].removeprefix("sha1=")
    assert CLIENT_SECRET not in str(rejected.value) and expected not in str(rejected.value)


def test_a_tenant_without_a_client_secret_accepts_nothing():
    with pytest.raises(BadSignature, match="client_secret"):
        INTEGRATION.verify(sign(BODY, CLIENT_SECRET), BODY, {"access_token": ACCESS_TOKEN}, NOW)


# -- parsing notifications -------------------------------------------------------------------------

@pytest.mark.parametrize("topic", sorted(EXPECTED_KINDS))
def test_every_fixture_parses_to_checked_events_for_its_conversation(topic):
    data = notification(topic)
    events = INTEGRATION.parse(encoded(data))
    assert [e.kind for e in events] == EXPECTED_KINDS[topic]
    for event in events:
        assert event.check() is event
        assert event.ticket_external_id == data["data"]["item"]["id"]
        assert event.event_id == data["id"]
    assert INTEGRATION.event_name(encoded(data)) == topic


def test_a_new_conversation_brings_its_first_message_and_customer():
    (event,) = INTEGRATION.parse(encoded(notification("conversation.user.created")))
    assert event.message.author_role == "customer" and event.message.public
    assert event.message.body.startswith("<p>Hi, I was charged twice")  # HTML kept; core cleans it
    assert event.message_external_id == "3390215577"  # the source's id
    assert (event.requester.name, event.requester.email, event.requester.external_id) == \
        ("Dana Whitfield", "dana.whitfield@example.com", "6657b0e1c2a4f1d3e8a90b12")
    assert (event.status, event.priority, event.channel) == ("open", "normal", "chat")
    assert event.occurred_at == datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
    assert event.page_context.url == "https://app.brightpath.example/billing/invoices"
    assert (event.group, event.ticket_type, event.form, event.macros) == (None, None, None, None)  # no team yet


#: The tenant's page-context mapping (``deskloop tenant app --set``): which custom attributes carry what.
PAGE_ATTRIBUTES = {"page_url_field": "Page URL", "page_title_field": "Page title",
                   "page_area_field": "Product area", "page_state_field": "App state"}


def test_mapped_custom_attributes_name_the_page_over_the_conversations_first_url():
    created = notification("conversation.user.created")
    created["data"]["item"]["custom_attributes"].update({
        "Page URL": "https://app.brightpath.example/billing/invoices/INV-2291", "Page title": "Invoice INV-2291",
        "Product area": "billing", "App state": '{"plan": "Team", "seats": 12, "auth_token": "x"}'})
    (event,) = INTEGRATION.parse(encoded(created), PAGE_ATTRIBUTES)
    context = event.page_context
    assert (context.url, context.title, context.area) == (
        "https://app.brightpath.example/billing/invoices/INV-2291", "Invoice INV-2291", "billing")
    assert context.app_state == {"plan": "Team", "seats": 12}
    (unmapped,) = INTEGRATION.parse(encoded(created))
    assert unmapped.page_context.model_dump(exclude_defaults=True) == {
        "url": "https://app.brightpath.example/billing/invoices"}  # source.url only


def test_a_backfilled_conversation_carries_its_mapped_page_attributes(connect):
    sorting = {0: Sorting(custom_fields={"Product area": "analytics", "App state": {"plan": "Pro", "beta": True}})}
    c = connect(conversations=2, per_page_max=2, sorting=sorting, settings=PAGE_ATTRIBUTES)
    first, second = [t for page in c.client.backfill(None, None) for t in page.tickets]
    assert first.page_context.area == "analytics" and first.page_context.app_state == {"plan": "Pro", "beta": True}
    assert first.page_context.url == "https://app.brightpath.example/billing/invoices"  # from source.url
    assert second.page_context.area is None


def test_a_team_is_named_with_the_tenants_team_names_and_kept_as_its_id_otherwise():
    created = notification("conversation.user.created")
    created["data"]["item"]["team_assignee_id"] = "5018"
    (event,) = INTEGRATION.parse(encoded(created), {"team_names": {"5017": "Billing", "5018": "Technical Support"}})
    assert event.group == "Technical Support"
    assigned = encoded(notification("conversation.admin.assigned"))
    (moved, *_) = INTEGRATION.parse(assigned, {"team_names": {"5017": "Billing"}})
    assert (moved.kind, moved.group) == ("reassigned", "Billing")
    (unnamed, *_) = INTEGRATION.parse(assigned, {"team_names": "?"})
    assert unnamed.group == "5017"


@pytest.mark.parametrize(("topic", "role", "public"), [
    ("conversation.user.replied", "customer", True),
    ("conversation.admin.replied", "agent", True),
    ("conversation.admin.noted", "agent", False),
])
def test_replies_and_notes_carry_the_part_as_the_message(topic, role, public):
    data = notification(topic)
    part = only_part(data)
    (event,) = INTEGRATION.parse(encoded(data))
    assert (event.message.author_role, event.message.public, event.message.body) == (role, public, part["body"])
    assert event.message_external_id == part["id"]
    assert event.occurred_at == datetime.fromtimestamp(part["created_at"], UTC)
    assert event.subject == "Charged twice for November invoice" and event.requester.email
    assert event.from_deskloop is False


def test_a_part_written_through_the_api_is_marked_as_deskloops_own():
    data = notification("conversation.admin.noted")
    only_part(data)["app_package_code"] = "deskloop-helpdesk"
    (event,) = INTEGRATION.parse(encoded(data))
    assert event.from_deskloop is True


@pytest.mark.parametrize(("settings", "own"), [
    ({"admin_id": "7203418"}, True),  # the teammate who applied the newest tags in the fixture
    ({"admin_id": 7203418}, True),
    ({"admin_id": "7200001"}, False),
    ({}, False),
    (None, False),
])
def test_tags_applied_by_deskloops_teammate_are_marked_as_deskloops_own(settings, own):
    (event,) = INTEGRATION.parse(encoded(notification("conversation_part.tag.created")), settings)
    assert event.from_deskloop is own


def test_a_tagging_is_deskloops_only_when_its_teammate_applied_the_newest_tags():
    data = notification("conversation_part.tag.created")
    tags = data["data"]["item"]["tags"]["tags"]
    tags[1].update(applied_at=tags[1]["applied_at"] + 60, applied_by={"type": "admin", "id": "7200001"})
    (event,) = INTEGRATION.parse(encoded(data), {"admin_id": "7203418"})
    assert event.from_deskloop is False
    (event,) = INTEGRATION.parse(encoded(data), {"admin_id": "7200001"})
    assert event.from_deskloop is True


@pytest.mark.parametrize("topic", ["conversation.admin.replied", "conversation.admin.closed"])
def test_deskloops_public_reply_echoed_back_is_its_own_and_a_teammates_is_not(topic):
    """Deskloop's reply (alone, or typed with the close it sets) comes back with its part marked by
    the app; the autonomy engine takes any other agent reply as a person touching the ticket."""
    data = notification(topic)
    own = notification(topic)
    parts = own["data"]["item"]["conversation_parts"]["conversation_parts"]
    for part in parts:
        part.update(app_package_code="deskloop-helpdesk")
        if topic.endswith("closed"):
            part["body"] = "<p>Refunded: you will see it within 5-10 business days.</p>"
    replies = [e for e in INTEGRATION.parse(encoded(own), {"admin_id": "7203418"}) if e.kind == "agent_replied"]
    assert replies and all(e.from_deskloop and e.message.public for e in replies)
    if topic.endswith("replied"):
        (theirs,) = INTEGRATION.parse(encoded(data), {"admin_id": "7203418"})
        assert (theirs.kind, theirs.from_deskloop) == ("agent_replied", False)  # typed in Intercom by the same admin


@pytest.mark.parametrize("topic", ["conversation.admin.closed", "conversation.admin.opened",
                                   "conversation.admin.snoozed", "conversation.admin.assigned"])
def test_a_state_change_deskloop_made_through_the_api_is_its_own(topic):
    """Its close or snooze after a reply, its open and assignment in a handoff: none is a person's move."""
    data = notification(topic)
    (theirs,) = [e for e in INTEGRATION.parse(encoded(data)) if e.kind != "agent_replied"]
    for part in data["data"]["item"]["conversation_parts"]["conversation_parts"]:
        part["app_package_code"] = "deskloop-helpdesk"
    (ours,) = [e for e in INTEGRATION.parse(encoded(data)) if e.kind != "agent_replied"]
    assert (theirs.from_deskloop, ours.from_deskloop) == (False, True)
    assert ours.model_dump(exclude={"from_deskloop"}) == theirs.model_dump(exclude={"from_deskloop"})


def test_the_same_reply_in_two_notifications_keeps_one_message_id():
    replied = notification("conversation.admin.replied")
    closed = notification("conversation.admin.closed")  # "reply and close": the reply rides along
    closed["data"]["item"]["conversation_parts"]["conversation_parts"].insert(0, only_part(replied))
    (reply,) = INTEGRATION.parse(encoded(replied))
    status, reply_again = INTEGRATION.parse(encoded(closed))
    assert (status.kind, status.status, reply_again.kind) == ("status_changed", "solved", "agent_replied")
    assert reply_again.message_external_id == reply.message_external_id
    assert len({reply.event_id, status.event_id, reply_again.event_id}) == 3
    assert all(e.event_id.startswith(closed["id"] + ":") for e in (status, reply_again))


def test_several_replies_in_one_notification_get_stable_ids_of_their_own():
    data = notification("conversation.user.replied")
    parts = data["data"]["item"]["conversation_parts"]["conversation_parts"]
    parts.append({**parts[0], "id": "37401188999", "body": "<p>Also, can I get a receipt?</p>"})
    first, second = INTEGRATION.parse(encoded(data))
    assert [first.event_id, second.event_id] == [f"{data['id']}:37401188821", f"{data['id']}:37401188999"]
    assert [e.event_id for e in INTEGRATION.parse(encoded(data))] == [first.event_id, second.event_id]


@pytest.mark.parametrize(("topic", "fields"), [
    ("conversation.admin.closed", {"status": "solved"}),
    ("conversation.admin.opened", {"status": "open"}),
    ("conversation.admin.snoozed", {"status": "pending"}),
    ("conversation.admin.unsnoozed", {"status": "open"}),
    ("conversation.admin.assigned", {"assignee": "7203418", "group": "5017"}),
    ("conversation_part.tag.created", {"tags": ["billing", "refund-request"]}),
    ("conversation.priority.updated", {"priority": "high"}),
])
def test_state_and_field_changes_carry_the_new_value_at_the_conversations_update_time(topic, fields):
    data = notification(topic)
    (event,) = INTEGRATION.parse(encoded(data))
    assert {name: getattr(event, name) for name in fields} == fields
    assert event.occurred_at == datetime.fromtimestamp(data["data"]["item"]["updated_at"], UTC)
    assert event.message is None


def test_a_rating_is_a_csat_on_the_same_scale_with_its_remark():
    (event,) = INTEGRATION.parse(encoded(notification("conversation.rating.added")))
    assert (event.csat.score, event.csat.comment) == (4, "Quick and friendly, thanks Marco!")
    assert event.occurred_at == datetime(2025, 11, 25, 9, 41, tzinfo=UTC)  # rating updated_at


def test_pings_and_topics_deskloop_does_not_use_parse_to_nothing():
    ping = {"type": "notification_event", "app_id": "k3x9vq2a", "id": None, "topic": "ping",
            "data": {"type": "notification_event_data", "item": {"type": "ping", "message": "hello"}}}
    contact = {**notification("conversation.admin.replied"), "topic": "contact.user.created"}
    assert INTEGRATION.parse(encoded(ping)) == [] and INTEGRATION.parse(encoded(contact)) == []
    assert INTEGRATION.event_name(encoded(ping)) == "ping"
    assert INTEGRATION.event_name(b"not json") is None and INTEGRATION.event_name(b"[1]") is None


def _without_item_id(data):
    del data["data"]["item"]["id"]


def _author_as_text(data):
    only_part(data)["author"] = "admin"


def _rating(value):
    def change(data):
        data["data"]["item"]["conversation_rating"] = None if value is None else \
            {**data["data"]["item"]["conversation_rating"], "rating": value}
    return change


@pytest.mark.parametrize(("topic", "change", "reason"), [
    ("conversation.admin.replied", lambda d: d.pop("topic"), "topic: missing"),
    ("conversation.admin.replied", lambda d: d.pop("id"), "id: missing"),
    ("conversation.admin.replied", _without_item_id, "data.item.id: missing"),
    ("conversation.admin.replied", _author_as_text,
     "data.item.conversation_parts.conversation_parts[0].author: expected dict"),
    ("conversation.admin.closed", lambda d: d["data"]["item"].update(updated_at="yesterday"),
     "data.item.updated_at: not a timestamp"),
    ("conversation.user.created", lambda d: d["data"]["item"].update(created_at="yesterday"),
     "data.item.created_at: not a timestamp"),
    ("conversation.rating.added", _rating(9), "data.item.conversation_rating.rating: expected 1 to 5"),
    ("conversation.rating.added", _rating(None), "data.item.conversation_rating.rating: missing"),
])
def test_a_malformed_notification_names_the_field(topic, change: Callable, reason):
    data = notification(topic)
    change(data)
    with pytest.raises(MalformedPayload) as malformed:
        INTEGRATION.parse(encoded(data))
    assert reason in str(malformed.value)


@pytest.mark.parametrize(("body", "reason"), [(b"<html>", "body is not JSON"), (b"[]", "body: expected an object")])
def test_a_body_that_is_not_a_notification_is_malformed(body, reason):
    with pytest.raises(MalformedPayload, match=reason):
        INTEGRATION.parse(body)


# -- conversations as tickets ----------------------------------------------------------------------

def conversation() -> dict[str, Any]:
    return json.loads((API / "conversation.json").read_text())


def test_a_full_conversation_becomes_a_ticket_of_its_messages():
    ticket = ticket_from_conversation(conversation())
    assert (ticket.source, ticket.external_id, ticket.subject) == \
        ("intercom", "215468893451226", "Charged twice for November invoice")
    # The assignment and the close carry no text and are not messages.
    assert [(m.author_role, m.public, m.external_id) for m in ticket.messages] == [
        ("customer", True, "3390215577"), ("agent", False, "37401174902"), ("agent", True, "37401176530"),
        ("customer", True, "37401188821"), ("agent", True, "37401190032")]
    assert (ticket.status, ticket.priority, ticket.tags) == ("solved", "high", ["billing", "refund-request"])
    assert (ticket.csat.score, ticket.requester.email) == (4, "dana.whitfield@example.com")
    assert ticket.created_at == datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
    assert ticket.first_response_at == datetime(2025, 11, 25, 9, 9, tzinfo=UTC)
    assert ticket.solved_at == ticket.updated_at == datetime(2025, 11, 25, 9, 30, tzinfo=UTC)
    assert ticket.custom_fields["Plan"] == "Team" and ticket.channel == "chat"
    # Sorted by its team; a conversation has no ticket type, form, macro, and topics are not read.
    assert (ticket.group, ticket.ticket_type, ticket.form, ticket.macros) == ("5017", None, None, [])
    assert ticket_from_conversation(conversation(), {"5017": "Billing"}).group == "Billing"
    assert "topics" not in ticket.custom_fields
    unassigned = conversation()
    unassigned["team_assignee_id"] = 0
    assert ticket_from_conversation(unassigned).group is None


def test_a_state_change_is_a_message_only_when_the_teammate_typed_one_with_it():
    data = conversation()
    parts = data["conversation_parts"]["conversation_parts"]
    parts[-1]["body"] = "<p>Closing this one, write back any time.</p>"  # "reply and close"
    parts.append({**parts[0], "id": "37401209999", "part_type": "channel_and_reply_time_expectation",
                  "body": "<p>The team will reply as soon as they can.</p>"})
    parts.append({**parts[1], "id": "37401210000", "author": {"type": "something_new", "id": "1"}})
    messages = ticket_from_conversation(data).messages
    assert messages[-1].external_id == parts[-3]["id"] and messages[-1].public
    assert "37401209999" not in {m.external_id for m in messages}
    assert "37401210000" not in {m.external_id for m in messages}


def test_a_conversation_without_any_message_is_no_ticket():
    data = conversation()
    data["source"]["body"] = ""
    data["conversation_parts"]["conversation_parts"] = []
    assert ticket_from_conversation(data) is None


# -- the client against a local Intercom -----------------------------------------------------------

@dataclass
class Connected:
    fake: FakeIntercom
    client: IntercomClient
    url: str


@pytest.fixture
def connect() -> Iterator[Callable[..., Connected]]:
    """Start a fake Intercom and connect a client to it: ``connect(conversations, per_page_max,
    sorting, **credentials)``."""
    with ExitStack() as servers:
        def start(conversations: int = 7, per_page_max: int = 3, sorting=None, settings=None,
                  **credentials: str) -> Connected:
            app = make_app(conversations=conversations, per_page_max=per_page_max, sorting=sorting)
            url = servers.enter_context(serve(app))
            connection = Connection("acme", "intercom", "api.intercom.io", {**SECRETS, **credentials},
                                    {"api_url": url, **(settings or {})})
            return Connected(state(app), IntercomClient(connection), url)
        yield start


def ids(pages) -> list[str]:
    return [t.external_id for page in pages for t in page.tickets]


def requests_to(fake: FakeIntercom, method: str, path: str):
    return [r for r in fake.requests if r.method == method and r.path == path]


def test_backfill_reads_every_conversation_once_least_recently_updated_first(connect):
    c = connect(conversations=7, per_page_max=3)
    pages = list(c.client.backfill(None, None))
    assert [len(p.tickets) for p in pages] == [3, 3, 1]
    assert [p.cursor is None for p in pages] == [False, False, True]
    assert ids(pages) == [conversation_id(n) for n in range(7)]
    ticket = pages[0].tickets[0]
    assert len(ticket.messages) == 5 and "<p>" not in ticket.messages[0].body  # fetched as plain text
    search = requests_to(c.fake, "POST", "/conversations/search")[0]
    assert search.json["sort"] == {"field": "updated_at", "order": "ascending"}
    assert search.json["pagination"]["per_page"] == 150
    assert search.headers["Intercom-Version"] == "2.14"
    assert requests_to(c.fake, "GET", f"/conversations/{conversation_id(0)}")[0].query == {"display_as": "plaintext"}


def test_backfilled_conversations_are_sorted_as_the_workspace_sorted_them(connect):
    """Team (named from the workspace's teams), custom attributes and tags, per conversation."""
    sorting = {0: Sorting(group="Refunds", custom_fields={"Category": "Refund"}, tags=["refund", "vip"]),
               1: Sorting(group="Technical Support")}
    c = connect(conversations=3, per_page_max=2, sorting=sorting)
    tickets = [t for page in c.client.backfill(None, None) for t in page.tickets]
    assert [(t.group, t.custom_fields.get("Category"), t.tags) for t in tickets] == [
        ("Refunds", "Refund", ["refund", "vip"]), ("Technical Support", None, ["billing", "refund-request"]),
        ("Billing", None, ["billing", "refund-request"])]
    assert len(requests_to(c.fake, "GET", "/teams")) == 1  # once per backfill, not per page
    assert c.client.identity() == {"admin_id": "7203418", "team_names": {
        "5017": "Billing", "5018": "Technical Support", "6001": "Refunds"}}
    with pytest.raises(ValueError, match="no ticket type"):
        make_app(conversations=1, sorting={0: Sorting(ticket_type="Bug")})


def test_a_stopped_backfill_resumes_after_its_last_page(connect):
    c = connect(conversations=7, per_page_max=3)
    run = c.client.backfill(None, None)
    first = next(run)
    run.close()  # the process was killed after storing page 1
    resumed = list(IntercomClient(Connection("acme", "intercom", None, SECRETS, {"api_url": c.url}))
                   .backfill(None, first.cursor))
    assert ids([first]) + ids(resumed) == [conversation_id(n) for n in range(7)]
    assert resumed[-1].cursor is None


def test_since_limits_the_backfill_and_a_resumed_run_keeps_it(connect):
    c = connect(conversations=9, per_page_max=2)
    since = datetime.fromtimestamp(updated_at(4), UTC)
    run = c.client.backfill(since, None)
    first = next(run)
    run.close()
    rest = list(c.client.backfill(None, first.cursor))
    assert ids([first]) + ids(rest) == [conversation_id(n) for n in range(4, 9)]


def test_a_conversation_deleted_during_the_backfill_is_left_out(connect):
    c = connect(conversations=4)
    c.fake.deleted.add(2)
    assert ids(c.client.backfill(None, None)) == [conversation_id(n) for n in (0, 1, 3)]


def test_a_conversation_intercom_returns_malformed_is_left_out_and_logged(connect, caplog):
    c = connect(conversations=3)
    c.fake.malformed.add(1)
    assert ids(c.client.backfill(None, None)) == [conversation_id(0), conversation_id(2)]
    assert f"conversation {conversation_id(1)} left out" in caplog.text
    assert "conversation_parts.conversation_parts[0].author: expected dict" in caplog.text


def test_a_429_is_waited_out_as_retry_after_asks(connect, caplog):
    c = connect(conversations=4)
    c.fake.faults.add("/conversations/search", 429, retry_after=1)
    c.fake.faults.add(f"/conversations/{conversation_id(3)}", 429, retry_after=1)
    started = time.monotonic()
    assert ids(c.client.backfill(None, None)) == [conversation_id(n) for n in range(4)]
    assert time.monotonic() - started >= 2.0
    assert len(requests_to(c.fake, "POST", "/conversations/search")) == 3  # 2 pages + 1 retry
    assert len(requests_to(c.fake, "GET", f"/conversations/{conversation_id(3)}")) == 2
    assert "HTTP 429" in caplog.text and ACCESS_TOKEN not in caplog.text


def test_a_server_error_on_a_read_is_retried(connect):
    c = connect(conversations=2)
    c.fake.faults.add(f"/conversations/{conversation_id(1)}", 503)
    assert ids(c.client.backfill(None, None)) == [conversation_id(0), conversation_id(1)]
    assert len(requests_to(c.fake, "GET", f"/conversations/{conversation_id(1)}")) == 2


def test_a_server_error_that_persists_is_reported_after_every_attempt(connect):
    c = connect(conversations=2)
    c.fake.faults.add("/conversations/search", 502, retry_after=0, times=ATTEMPTS)
    with pytest.raises(IntercomUnavailable, match=r"conversations\.search: HTTP 502"):
        list(c.client.backfill(None, None))
    assert len(requests_to(c.fake, "POST", "/conversations/search")) == ATTEMPTS


def test_apply_tags_upserts_each_tag_then_tags_the_conversation_as_the_admin(connect):
    c = connect(admin_id="7200001")
    c.client.apply_tags(conversation_id(0), ["Billing", "refund request", " "])
    c.client.apply_tags(conversation_id(1), ["billing"])
    billing, refund = c.fake.tags["billing"], c.fake.tags["refund request"]
    assert len(c.fake.tags) == 2  # "billing" was found again, not created twice
    assert c.fake.tagged == [(conversation_id(0), billing, "7200001"), (conversation_id(0), refund, "7200001"),
                             (conversation_id(1), billing, "7200001")]
    assert [(r.method, r.path) for r in c.fake.requests] == [
        ("POST", "/tags"), ("POST", f"/conversations/{conversation_id(0)}/tags"),
        ("POST", "/tags"), ("POST", f"/conversations/{conversation_id(0)}/tags"),
        ("POST", "/tags"), ("POST", f"/conversations/{conversation_id(1)}/tags")]
    assert [r.json["name"] for r in requests_to(c.fake, "POST", "/tags")] == ["Billing", "refund request", "billing"]


def test_without_an_admin_id_the_token_owner_writes(connect):
    c = connect()
    c.client.apply_tags(conversation_id(0), ["billing", "refund"])
    owner = json.loads((API / "me.json").read_text())["id"]
    assert {admin for _, _, admin in c.fake.tagged} == {owner}
    assert len(requests_to(c.fake, "GET", "/me")) == 1


def test_a_private_note_is_posted_as_the_admin_in_escaped_paragraphs(connect):
    c = connect(admin_id="7200001")
    c.client.add_private_note(conversation_id(0), "Refund the duplicate charge.\n\nCheck <b>Stripe</b> first.")
    assert c.fake.replies == [{
        "message_type": "note", "type": "admin", "admin_id": "7200001", "conversation_id": conversation_id(0),
        "body": "<p>Refund the duplicate charge.</p><p>Check &lt;b&gt;Stripe&lt;/b&gt; first.</p>"}]


def test_a_note_is_not_posted_again_after_a_server_error_but_waits_out_a_429(connect):
    c = connect(admin_id="7200001")
    path = f"/conversations/{conversation_id(0)}/reply"
    c.fake.faults.add(path, 502)
    with pytest.raises(IntercomUnavailable, match="HTTP 502"):
        c.client.add_private_note(conversation_id(0), "Refund the duplicate charge.")
    assert len(requests_to(c.fake, "POST", path)) == 1
    c.fake.faults.add(path, 429, retry_after=1)
    c.client.add_private_note(conversation_id(0), "Refund the duplicate charge.")
    assert len(requests_to(c.fake, "POST", path)) == 3 and len(c.fake.replies) == 1


def test_a_public_reply_is_a_comment_as_the_admin_then_tags_then_a_close(connect):
    c = connect(admin_id="7200001")
    reply_id = c.client.post_reply(conversation_id(0), "Refunded.\n\nSee you <soon>.", tags=["auto-replied"],
                                   status="solved")
    path = f"/conversations/{conversation_id(0)}"
    assert [(r.method, r.path) for r in c.fake.requests] == [
        ("POST", f"{path}/reply"), ("POST", "/tags"), ("POST", f"{path}/tags"), ("POST", f"{path}/parts")]
    assert c.fake.replies == [{"message_type": "comment", "type": "admin", "admin_id": "7200001",
                               "conversation_id": conversation_id(0),
                               "body": "<p>Refunded.</p><p>See you &lt;soon&gt;.</p>"}]
    assert c.fake.tagged == [(conversation_id(0), c.fake.tags["auto-replied"], "7200001")]  # added, none removed
    assert [r.json for r in requests_to(c.fake, "POST", f"{path}/parts")] == [
        {"message_type": "close", "type": "admin", "admin_id": "7200001"}]
    assert reply_id == str(37400000000 + 51)  # the comment part Intercom answered with


def test_pending_snoozes_for_the_default_period_and_open_opens(connect):
    from integrations.intercom.client import PENDING_SNOOZE

    c = connect(admin_id="7200001")
    before = int(time.time())
    c.client.post_reply(conversation_id(1), "Does that fix it?", tags=[], status="pending")
    c.client.set_status(conversation_id(1), "open")
    snoozed, opened = [r.json for r in requests_to(c.fake, "POST", f"/conversations/{conversation_id(1)}/parts")]
    assert snoozed["message_type"] == "snoozed" and snoozed["admin_id"] == "7200001"
    assert before + PENDING_SNOOZE.total_seconds() <= snoozed["snoozed_until"] <= time.time() + 172_800
    assert opened == {"message_type": "open", "admin_id": "7200001"}
    with pytest.raises(BadInput, match="closed"):
        c.client.set_status(conversation_id(1), "closed")


def test_a_reply_is_not_repeated_after_a_5xx_but_its_follow_ups_are_retried(connect, monkeypatch):
    from core.helpdesk.contract import ReplyFollowUpFailed

    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    c = connect(admin_id="7200001")
    path = f"/conversations/{conversation_id(2)}"
    c.fake.faults.add(f"{path}/reply", 503)
    with pytest.raises(IntercomUnavailable):
        c.client.post_reply(conversation_id(2), "Hi", tags=["x"], status="solved")
    assert len(c.fake.requests) == 1 and not c.fake.replies and not c.fake.managed  # nothing closed unanswered
    c.fake.faults.add(f"{path}/parts", 500, times=2)
    c.client.post_reply(conversation_id(2), "Hi", tags=[], status="solved")
    assert len(c.fake.replies) == 1 and len(requests_to(c.fake, "POST", f"{path}/parts")) == 3
    c.fake.faults.add(f"{path}/parts", 502, times=ATTEMPTS)
    with pytest.raises(ReplyFollowUpFailed) as raised:
        c.client.post_reply(conversation_id(2), "Hi again", tags=[], status="solved")
    assert raised.value.reply_id and raised.value.status == 502 and len(c.fake.replies) == 2


def test_a_handoff_assigns_the_named_team_opens_then_notes(connect):
    c = connect(admin_id="7200001")
    c.client.hand_off(conversation_id(0), "The customer wants to speak to a person.", "technical support")
    path = f"/conversations/{conversation_id(0)}"
    assert [r.json for r in requests_to(c.fake, "POST", f"{path}/parts")] == [
        {"message_type": "assignment", "type": "team", "admin_id": "7200001", "assignee_id": "5018"},
        {"message_type": "open", "admin_id": "7200001"}]
    assert [(r["message_type"], r["body"]) for r in c.fake.replies] == [
        ("note", "<p>The customer wants to speak to a person.</p>")]
    assert [r.path for r in c.fake.requests if r.method == "POST"][-1] == f"{path}/reply"  # the note comes last


def test_a_handoff_to_an_unknown_team_writes_nothing_and_names_it(connect):
    from core.helpdesk.contract import HelpdeskRejected

    c = connect(admin_id="7200001")
    with pytest.raises(HelpdeskRejected, match="'Escalations'.*Billing, Technical Support"):
        c.client.hand_off(conversation_id(0), "Over to you", "Escalations")
    assert [(r.method, r.path) for r in c.fake.requests] == [("GET", "/teams")] * 2  # read again: it may be new
    c.client.hand_off(conversation_id(1), "Over to you", None)
    assert [r.json["message_type"] for r in c.fake.requests if r.path.endswith("/parts")] == ["open"]


def test_intercoms_other_refusals_are_rejections_and_not_retried(connect):
    from core.helpdesk.contract import HelpdeskRejected

    c = connect(admin_id="7200001")
    path = f"/conversations/{conversation_id(0)}/parts"
    c.fake.faults.add(path, 422)
    with pytest.raises(HelpdeskRejected, match="HTTP 422") as raised:
        c.client.set_status(conversation_id(0), "solved")
    assert raised.value.status == 422 and len(requests_to(c.fake, "POST", path)) == 1


def test_a_refused_token_is_reported_with_intercoms_reason_and_without_the_token(connect):
    c = connect(access_token="revoked-token-value")
    with pytest.raises(IntercomUnauthorized) as refused:
        list(c.client.backfill(None, None))
    assert "Access Token Invalid" in str(refused.value) and "revoked-token-value" not in str(refused.value)
    assert len(c.fake.requests) == 1  # a 401 is not retried


@pytest.mark.parametrize(("domain", "settings", "url"), [
    (None, {}, "https://api.intercom.io"),
    ("api.intercom.io", {}, "https://api.intercom.io"),
    ("api.eu.intercom.io", {}, "https://api.eu.intercom.io"),
    ("https://api.au.intercom.io/", {}, "https://api.au.intercom.io"),
    ("eu", {}, "https://api.eu.intercom.io"),
    ("api.eu.intercom.io", {"api_url": "http://127.0.0.1:9999/"}, "http://127.0.0.1:9999"),
])
def test_the_api_address_is_api_url_else_the_region_host(domain, settings, url):
    assert base_url(Connection("acme", "intercom", domain, SECRETS, settings)) == url


def test_an_unknown_region_host_is_refused():
    with pytest.raises(BadInput, match=r"api\.eu\.intercom\.io"):
        base_url(Connection("acme", "intercom", "acme.intercom.com", SECRETS, {}))


def test_a_widget_conversation_is_started_by_a_new_contact_with_the_page_in_the_mapped_attributes(connect):
    c = connect(conversations=3, admin_id="7200001", settings=PAGE_ATTRIBUTES)
    context = PageContext(url="https://app.brightpath.example/reports", title="Reports", area="reports",
                          app_state={"plan": "Team", "auth_header": "Bearer x"})
    external_id = c.client.create_ticket("Export my data", "Where is the export button?", "sam.okoro@example.com",
                                         "Sam Okoro", context)
    assert external_id == conversation_id(3)
    [search] = requests_to(c.fake, "POST", "/contacts/search")
    assert search.json["query"] == {"field": "email", "operator": "=", "value": "sam.okoro@example.com"}
    [created] = requests_to(c.fake, "POST", "/contacts")
    assert created.json == {"email": "sam.okoro@example.com", "name": "Sam Okoro"}
    [contact_id] = c.fake.contacts
    assert c.fake.started[external_id] == {"from": {"type": "user", "id": contact_id},
                                           "body": "Where is the export button?"}
    assert c.fake.updates == [{"title": "Export my data", "conversation_id": external_id, "custom_attributes": {
        "Page URL": "https://app.brightpath.example/reports", "Page title": "Reports", "Product area": "reports",
        "App state": '{"plan": "Team"}'}}]
    assert c.fake.replies == []  # everything had an attribute


def test_a_known_contact_is_reused_and_an_unmapped_page_goes_into_a_note(connect):
    c = connect(conversations=1, admin_id="7200001")
    first = c.client.create_ticket("One", "First question", "sam.okoro@example.com", "Sam Okoro", None)
    second = c.client.create_ticket("Two", "Second question", "SAM.OKORO@example.com", None,
                                    PageContext(url="https://app.brightpath.example/settings"))
    assert len(c.fake.contacts) == 1 and len(requests_to(c.fake, "POST", "/contacts")) == 1
    assert (first, second) == (conversation_id(1), conversation_id(2))
    assert all("custom_attributes" not in u for u in c.fake.updates)
    [note] = c.fake.replies
    assert note["message_type"] == "note" and note["conversation_id"] == second
    assert "Page: https://app.brightpath.example/settings" in note["body"]


def test_refused_attributes_leave_the_conversation_opened_once_with_the_page_in_a_note(connect):
    c = connect(conversations=1, admin_id="7200001", settings=PAGE_ATTRIBUTES)
    c.fake.faults.add(f"/conversations/{conversation_id(1)}", 400)  # e.g. an undefined attribute
    external_id = c.client.create_ticket("Help", "Where is export?", "sam.okoro@example.com", None,
                                         PageContext(url="https://app.brightpath.example/reports"))
    assert external_id == conversation_id(1) and len(c.fake.started) == 1
    [note] = c.fake.replies
    assert note["conversation_id"] == external_id and "https://app.brightpath.example/reports" in note["body"]


def test_a_widget_conversation_without_an_email_comes_from_a_new_lead(connect):
    c = connect(conversations=1)
    external_id = c.client.create_ticket("Help", "Where is export?", None, "Visitor", None)
    assert not requests_to(c.fake, "POST", "/contacts/search")
    assert requests_to(c.fake, "POST", "/contacts")[0].json == {"role": "lead", "name": "Visitor"}
    assert c.fake.started[external_id]["from"]["type"] == "lead"


def test_a_widget_conversation_is_not_started_twice_after_a_server_error(connect):
    c = connect(conversations=1)
    c.fake.faults.add("/conversations", 502)
    with pytest.raises(IntercomUnavailable):
        c.client.create_ticket("Help", "Where is export?", "sam.okoro@example.com", None, None)
    assert len(requests_to(c.fake, "POST", "/conversations")) == 1


def test_every_api_fixture_is_served(connect):
    c = connect(conversations=3)
    c.fake.deleted.add(1)
    list(c.client.backfill(None, None))
    c.client.apply_tags(conversation_id(0), ["billing"])
    c.client.add_private_note(conversation_id(0), "Refund the duplicate charge.")
    c.client.create_ticket("Export", "Where is export?", "sam.okoro@example.com", "Sam Okoro", None)
    stranger = IntercomClient(Connection("acme", "intercom", None, {**SECRETS, "access_token": "wrong"},
                                         {"api_url": c.url}))
    with pytest.raises(IntercomUnauthorized):
        stranger.admin_id()
    assert c.fake.fixtures.unused() == set()


def test_a_backfill_stores_how_each_conversation_was_sorted(settings, db):
    """Through python-intercom against the local Intercom into the database (SQLite and PostgreSQL)."""
    from core.helpdesk.backfill import run_backfill
    from core.helpdesk.connections import add_tenant, forget_connections
    from core.runtime import Runtime
    from core.store.tickets import list_tickets

    sorting = {1: Sorting(group="Refunds", custom_fields={"Category": "Refund"}, tags=["refund"])}
    with serve(make_app(conversations=3, sorting=sorting)) as url:
        forget_connections()
        runtime = Runtime(settings)
        add_tenant(runtime, "acme", "intercom", "api.intercom.io", SECRETS, {"api_url": url, "write_back_tags": False})
        run_backfill(runtime, "acme")
    with runtime.db.tenant_session(runtime.db.tenant_id("acme")) as session:
        stored = {t.ticket.external_id: t.ticket for t in list_tickets(session)}
    runtime.close()
    forget_connections()
    refund, plain = stored[conversation_id(1)], stored[conversation_id(0)]
    assert (refund.group, refund.custom_fields["Category"], refund.tags) == ("Refunds", "Refund", ["refund"])
    assert (plain.group, plain.ticket_type, plain.form, plain.macros) == ("Billing", None, None, [])
