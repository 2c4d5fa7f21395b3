"""The Intercom inbox app (Canvas Kit) end to end: signed requests into the app factory, a trained
tenant on SQLite and PostgreSQL, and the real python-intercom talking to a local server that
answers like Intercom (tests/fake_intercom.py).

Requests are shaped as the Canvas Kit types of Intercom's Node SDK describe them. Every card the
app answers with is checked against :data:`CANVAS_SCHEMA`, written here from the documented
component shapes (not from the app's code), and against the 64 KB limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from flask import Flask
from sqlalchemy import select, update

from core.app import create_app
from core.events import BadSignature
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.feedback import text_similarity
from core.learning.training import train_tenant
from core.panel.access import update_app_settings
from core.store.db import Database
from core.store.tables import SignalRow, SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from core.web.panel_api import UNFAMILIAR_MESSAGE
from integrations.intercom import INTEGRATION, canvas
from integrations.intercom.canvas import CardState, SimilarTicket, SubmitRequest
from integrations.intercom.client import note_html
from tests.factories import make_ticket, small_inbox
from tests.integrations.intercom.fake_intercom import (
    ACCESS_TOKEN,
    FakeIntercom,
    conversation_id,
    make_app,
    serve,
    state,
)

WORKSPACE = "k3x9vq2a"
CLIENT_SECRET = "5f2c9e0b7a4d4e1f8c3b6a9d0e7f2a41"
OTHER_WORKSPACE = "p7d2mw4c"
OTHER_SECRET = "a81d4c0e9b2f47e6b3c5d7f9e1a2b4c6"
ADMIN = {"id": "7200001", "name": "Sam Rivera", "email": "sam.rivera@brightpath.example"}
#: Conversations: stored and suggestable, stored but one Deskloop abstains on, never stored.
KNOWN, ABSTAINING, UNSEEN = conversation_id(0), conversation_id(1), conversation_id(2)
KNOWN_TEXT = "My new card has still not arrived at my home"
MAX_BYTES = 64 * 1024

# -- the documented Canvas Kit shapes --------------------------------------------------------------

_ACTION = {"oneOf": [
    {"type": "object", "required": ["type"], "additionalProperties": False,
     "properties": {"type": {"const": "submit"}}},
    {"type": "object", "required": ["type", "url"], "additionalProperties": False,
     "properties": {"type": {"enum": ["url", "sheet"]}, "url": {"type": "string", "minLength": 1}}},
]}
_ITEM = {"type": "object", "required": ["type", "id", "title"], "additionalProperties": False, "properties": {
    "type": {"const": "item"}, "id": {"type": "string", "minLength": 1}, "title": {"type": "string", "minLength": 1},
    "subtitle": {"type": "string"}, "tertiary_text": {"type": "string"}, "rounded_image": {"type": "boolean"},
    "disabled": {"type": "boolean"}, "action": _ACTION}}


def _component(kind: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["type", *required], "additionalProperties": False,
            "properties": {"type": {"const": kind}, **properties}}


COMPONENT_SCHEMA = {"oneOf": [
    _component("text", ["text", "style"], {
        "id": {"type": "string"}, "text": {"type": "string", "minLength": 1},
        "style": {"enum": ["header", "paragraph", "muted", "error"]}, "align": {"enum": ["left", "center", "right"]},
        "bottom_margin": {"const": "none"}}),
    _component("button", ["id", "label", "action", "style"], {
        "id": {"type": "string", "minLength": 1}, "label": {"type": "string", "minLength": 1}, "action": _ACTION,
        "style": {"enum": ["primary", "secondary", "link"]}, "disabled": {"type": "boolean"}}),
    _component("textarea", ["id", "label"], {
        "id": {"type": "string", "minLength": 1}, "label": {"type": "string"}, "placeholder": {"type": "string"},
        "value": {"type": "string"}, "error": {"type": "boolean"}, "disabled": {"type": "boolean"}}),
    _component("list", ["items"], {"items": {"type": "array", "minItems": 1, "items": _ITEM},
                                   "disabled": {"type": "boolean"}}),
    _component("divider", [], {"id": {"type": "string"}, "bottom_margin": {"const": "none"}}),
    _component("spacer", ["size"], {"id": {"type": "string"}, "size": {"enum": ["xs", "s", "m", "l", "xl"]}}),
]}
CANVAS_SCHEMA = {
    "type": "object", "required": ["canvas"], "additionalProperties": False,
    "properties": {
        "canvas": {"type": "object", "required": ["content"], "additionalProperties": False, "properties": {
            "content": {"type": "object", "required": ["components"], "additionalProperties": False,
                        "properties": {"components": {"type": "array", "minItems": 1, "items": COMPONENT_SCHEMA}}},
            "stored_data": {"type": "object"}}},
        "event": {"type": "object", "required": ["type"], "properties": {"type": {"const": "completed"}}},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(CANVAS_SCHEMA)


def valid_canvas(answer: dict[str, Any]) -> dict[str, Any]:
    """The canvas of an answer that keeps the documented shapes and limits."""
    _VALIDATOR.validate(answer)
    shown = answer["canvas"]
    assert len(json.dumps(shown["content"]).encode()) <= MAX_BYTES
    assert len(json.dumps(shown.get("stored_data", {})).encode()) <= MAX_BYTES
    ids = [c["id"] for c in shown["content"]["components"] if c["type"] in ("button", "textarea")]
    assert len(ids) == len(set(ids)), "component ids repeat"
    return shown


def components(shown: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in shown["content"]["components"] if c["type"] == kind]


def texts(shown: dict[str, Any], style: str | None = None) -> list[str]:
    return [c["text"] for c in components(shown, "text") if style is None or c["style"] == style]


def one(shown: dict[str, Any], component_id: str) -> dict[str, Any]:
    (found,) = [c for c in shown["content"]["components"] if c.get("id") == component_id]
    return found


def buttons(shown: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {b["id"]: (b["label"], b["style"]) for b in components(shown, "button")}


# -- an Intercom workspace connected to a trained tenant -------------------------------------------

@dataclass
class Inbox:
    app: Flask
    db: Database
    fake: FakeIntercom

    def post(self, path: str, payload: dict[str, Any] | bytes, secret: str | None = CLIENT_SECRET,
             signature: str | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {}
        if signature is not None or secret is not None:
            headers[canvas.SIGNATURE_HEADER] = signature if signature is not None else canvas.sign(body, secret)
        return self.app.test_client().post(f"/apps/intercom/{path}", data=body, headers=headers,
                                           content_type="application/json")

    def initialize(self, conversation: str, **fields: Any) -> dict[str, Any]:
        answer = self.post("initialize", initialize_request(conversation, **fields))
        assert answer.status_code == 200, answer.get_json()
        return valid_canvas(answer.get_json())

    def submit(self, shown: dict[str, Any], component_id: str, draft: str | None = None,
               nested: bool = True) -> dict[str, Any]:
        answer = self.post("submit", submit_request(shown, component_id, draft, nested))
        assert answer.status_code == 200, answer.get_json()
        return valid_canvas(answer.get_json())

    def rows(self, table):
        with self.db.tenant_session(self.db.tenant_id("acme")) as session:
            return session.scalars(select(table).order_by(table.id)).all()


def initialize_request(conversation: str, workspace: str = WORKSPACE, first_message: str | None = None,
                       **fields: Any) -> dict[str, Any]:
    """An initialize request as the SDK's ``InitializeRequest`` has it (ids of numbers and strings)."""
    source = {"type": "conversation", "id": "3390215577", "delivered_as": "customer_initiated",
              "body": first_message or "", "author": {"type": "user", "id": "6657b0e1c2a4f1d3e8a90b12"}}
    return {"workspace_id": workspace, "workspace_region": "us", "admin": ADMIN,
            "card_creation_options": {},
            "context": {"conversation_id": int(conversation), "location": "conversation", "locale": "en"},
            "conversation": {"type": "conversation", "id": conversation, "state": "open", "source": source},
            "contact": {"type": "user", "id": "6657b0e1c2a4f1d3e8a90b12", "name": "Dana Whitfield"},
            "unknown_new_field": {"ignored": True}, **fields}


def submit_request(shown: dict[str, Any], component_id: str, draft: str | None = None,
                   nested: bool = True) -> dict[str, Any]:
    """A submit request after a click on ``shown``; ``nested``: ``current_canvas`` as the SDK
    types it (``current_canvas.current_canvas``), else flat."""
    conversation = shown["stored_data"]["conversation_id"]
    request = initialize_request(conversation)
    current = {"content": shown["content"], "stored_data": shown["stored_data"]}
    request.update(component_id=component_id, input_values={} if draft is None else {canvas.DRAFT: draft},
                   current_canvas={"current_canvas": current} if nested else current,
                   user={"type": "user", "id": "6657b0e1c2a4f1d3e8a90b12"})
    return request


@pytest.fixture
def inbox(settings, db) -> Iterator[Inbox]:
    """Tenant ``acme`` (workspace ``WORKSPACE``), trained, with conversations ``KNOWN`` and
    ``ABSTAINING`` stored; tenant ``globex`` (``OTHER_WORKSPACE``) connected but untrained. Both
    reach the same fake Intercom; no ``admin_id`` credential, so replies can only be by the
    teammate named in the request."""
    forget_connections()
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [*small_inbox(), make_ticket(KNOWN, KNOWN_TEXT, source="intercom"),
                                            make_ticket(ABSTAINING, "Can I open a joint account for my kids?",
                                                        source="intercom")])
    fake_app = make_app(conversations=5)
    with serve(fake_app) as url:
        add_tenant(runtime, "acme", "intercom", "api.intercom.io",
                   {"access_token": ACCESS_TOKEN, "client_secret": CLIENT_SECRET}, {"api_url": url})
        update_app_settings(runtime, "acme", {"intercom_workspace_id": WORKSPACE})
        add_tenant(runtime, "globex", "intercom", "api.eu.intercom.io",
                   {"access_token": ACCESS_TOKEN, "client_secret": OTHER_SECRET}, {"api_url": url})
        update_app_settings(runtime, "globex", {"intercom_workspace_id": OTHER_WORKSPACE})
        train_tenant(runtime, "acme")
        yield Inbox(app, db, state(fake_app))
    runtime.close()
    forget_connections()


def test_the_integration_serves_the_inbox_app(inbox):
    assert INTEGRATION.app_module == "integrations.intercom.inbox_app"
    rules = {r.rule for r in inbox.app.url_map.iter_rules()}
    assert {"/apps/intercom/initialize", "/apps/intercom/submit"} <= rules


# -- who may ask -----------------------------------------------------------------------------------

def _unsigned(inbox, body):
    return inbox.post("initialize", body, secret=None)


def _forged(inbox, body):
    return inbox.post("initialize", body, signature="0f" * 32)


def _other_tenants_secret(inbox, body):
    return inbox.post("initialize", body, secret=OTHER_SECRET)


def _unknown_workspace(inbox, body):
    return inbox.post("initialize", json.dumps({**json.loads(body), "workspace_id": "zz9zz9zz"}).encode())


def _tampered(inbox, body):
    return inbox.post("initialize", body.replace(b'"open"', b'"closed"'), signature=canvas.sign(body, CLIENT_SECRET))


def _not_hex(inbox, body):
    return inbox.post("initialize", body, signature="sha256=" + canvas.sign(body, CLIENT_SECRET))


@pytest.mark.parametrize("send", [_unsigned, _forged, _other_tenants_secret, _unknown_workspace, _tampered, _not_hex],
                         ids=["missing", "forged", "other tenant's secret", "unknown workspace", "tampered body",
                              "not hex"])
def test_a_request_not_signed_for_the_workspace_is_refused_and_shows_nothing(inbox, send):
    body = json.dumps(initialize_request(KNOWN)).encode()
    answer = send(inbox, body)
    assert answer.status_code == 401
    refused = answer.get_json()
    assert set(refused) == {"error"} and refused["error"]["status"] == 401 and refused["error"]["reason"]
    shown = answer.get_data(as_text=True)
    for secret_or_data in ("acme", "globex", CLIENT_SECRET, OTHER_SECRET, canvas.sign(body, CLIENT_SECRET),
                           "Card arrival", "canvas"):
        assert secret_or_data not in shown
    assert inbox.rows(SuggestionRow) == []


def test_the_other_workspace_is_served_with_its_own_secret_only(inbox):
    body = initialize_request(UNSEEN, workspace=OTHER_WORKSPACE, first_message="My card never came")
    assert inbox.post("initialize", body, secret=CLIENT_SECRET).status_code == 401
    answer = inbox.post("initialize", body, secret=OTHER_SECRET)
    assert answer.status_code == 200
    shown = valid_canvas(answer.get_json())
    assert any("no trained model" in t for t in texts(shown))  # globex has none: acme's is not used
    assert "send_reply" not in buttons(shown)


@pytest.mark.parametrize(("body", "reason", "field"), [
    (b"{not json", "body is not JSON", None),
    (json.dumps({"admin": ADMIN}).encode(), "workspace_id: missing", None),
    (json.dumps({k: v for k, v in initialize_request(KNOWN).items() if k != "admin"}).encode(), "admin", "admin"),
    (json.dumps({**initialize_request(KNOWN), "admin": {"id": ""}}).encode(), "admin.id", "admin.id"),
])
def test_a_malformed_request_is_a_400_with_the_reason(inbox, body, reason, field):
    answer = inbox.post("initialize", body)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert reason in error["reason"] and error.get("field") == field
    assert inbox.rows(SuggestionRow) == []


def test_a_submit_that_is_not_json_is_a_400(inbox):
    answer = inbox.post("submit", b"[1, 2]")
    assert answer.status_code == 400 and "expected an object" in answer.get_json()["error"]["reason"]


# -- the first canvas ------------------------------------------------------------------------------

def test_a_known_conversation_shows_intent_confidence_tags_and_the_draft(inbox):
    shown = inbox.initialize(KNOWN)
    (stored,) = inbox.rows(SuggestionRow)
    assert stored.ticket_id is not None and stored.text == KNOWN_TEXT and not stored.abstained
    assert stored.intent == "card_arrival" and stored.draft
    header, *_ = texts(shown, "header")
    assert header.startswith("Card arrival") and f"{round(stored.confidence * 100)}%" in header
    tags = [t["tag"] for t in stored.tags]
    assert tags and any(all(tag in t for tag in tags) for t in texts(shown, "muted"))
    draft = one(shown, "draft")
    assert draft["type"] == "textarea" and draft["value"] == stored.draft and not draft.get("error")
    assert buttons(shown) == {"send_reply": ("Send as reply", "primary"), "add_note": ("Add as note", "secondary"),
                              "apply_tags": ("Apply tags", "secondary"), "wrong": ("Suggestion is wrong", "link")}
    (similar,) = components(shown, "list")
    evidence = [e["external_id"] for e in stored.evidence]
    assert [i["id"] for i in similar["items"]] == [f"similar-{e}" for e in evidence[:len(similar["items"])]]
    assert shown["stored_data"]["suggestion_id"] == stored.id
    assert shown["stored_data"]["conversation_id"] == KNOWN and shown["stored_data"]["tags"] == tags
    assert len(shown["content"]["components"]) <= 8
    assert canvas.estimated_height(shown["content"]["components"]) <= canvas.FIRST_CANVAS_HEIGHT


def test_the_card_names_the_customers_page_without_credentials(inbox):
    with inbox.db.transaction(inbox.db.tenant_id("acme")) as session:
        session.execute(update(TicketRow).where(TicketRow.external_id == KNOWN).values(page_context={
            "url": "https://app.brightpath.example/cards", "title": "Your cards", "area": "cards",
            "app_state": {"plan": "Team", "session_token": "s3cr3t"}}))
    shown = inbox.initialize(KNOWN)
    assert "Customer's page: Your cards · cards · plan: Team" in texts(shown, "muted")
    assert "s3cr3t" not in json.dumps(shown)
    assert canvas.estimated_height(shown["content"]["components"]) <= canvas.FIRST_CANVAS_HEIGHT


def test_a_conversation_deskloop_abstains_on_says_so_and_offers_nothing_to_send(inbox):
    shown = inbox.initialize(ABSTAINING)
    (stored,) = inbox.rows(SuggestionRow)
    assert stored.abstained and stored.abstain_reason == "unfamiliar"
    assert texts(shown)[0] == UNFAMILIAR_MESSAGE
    assert components(shown, "textarea") == [] and components(shown, "button") == []
    assert shown["stored_data"]["suggestion_id"] == stored.id


def test_an_unseen_conversation_is_suggested_for_from_the_message_in_the_request(inbox):
    shown = inbox.initialize(UNSEEN, first_message="<p>I forgot my password and the reset email never arrives</p>")
    (stored,) = inbox.rows(SuggestionRow)
    assert stored.ticket_id is None and "forgot my password" in stored.text and "<p>" not in stored.text
    assert stored.intent == "password_reset"
    assert texts(shown, "header")[0].startswith("Password reset")
    assert one(shown, "draft")["value"] == stored.draft


def test_an_unseen_conversation_without_a_message_gets_a_clear_message(inbox):
    shown = inbox.initialize(UNSEEN)
    assert any("has not received this conversation" in t for t in texts(shown))
    assert components(shown, "button") == [] and inbox.rows(SuggestionRow) == []


def test_a_request_without_a_conversation_gets_a_clear_message(inbox):
    request = {**initialize_request(KNOWN), "context": {"location": "home", "locale": "en"}, "conversation": None}
    answer = inbox.post("initialize", request)
    shown = valid_canvas(answer.get_json())
    assert "details of a conversation" in texts(shown)[0] and inbox.rows(SuggestionRow) == []


# -- sending, tagging, correcting ------------------------------------------------------------------

def test_an_edited_draft_is_sent_as_the_teammate_and_learned_from(inbox):
    shown = inbox.initialize(KNOWN)
    draft = one(shown, "draft")["value"]
    edited = draft.replace("5 working days", "3 working days") + " Sorry for the wait!"
    result = inbox.submit(shown, "send_reply", edited)
    assert inbox.fake.replies == [{"type": "admin", "message_type": "comment", "admin_id": ADMIN["id"],
                                   "body": note_html(edited), "conversation_id": KNOWN}]
    (signal,) = inbox.rows(SignalRow)
    assert (signal.kind, signal.actor, signal.suggestion_id) == ("draft_edited", ADMIN["id"],
                                                                 shown["stored_data"]["suggestion_id"])
    assert signal.payload["similarity"] == text_similarity(draft, edited) < 1.0
    assert signal.payload["channel"] == "reply" and signal.payload["sent"] == edited
    assert texts(result, "header") == ["Reply sent"]
    assert f"Deskloop learned from your edit (similarity {text_similarity(draft, edited):.2f})" in texts(result)[1]
    assert components(result, "button") == []


def test_a_draft_sent_unchanged_counts_as_right(inbox):
    shown = inbox.initialize(KNOWN)
    result = inbox.submit(shown, "send_reply", one(shown, "draft")["value"], nested=False)
    (signal,) = inbox.rows(SignalRow)
    assert signal.kind == "draft_sent" and signal.payload["similarity"] == 1.0
    assert texts(result)[0] == "Reply sent" and "unchanged" in texts(result)[1].lower()


def test_add_note_posts_an_internal_note(inbox):
    shown = inbox.initialize(KNOWN)
    note = "Customer is on the Team plan; check the courier first."
    result = inbox.submit(shown, "add_note", note, nested=False)
    (posted,) = inbox.fake.replies
    assert (posted["message_type"], posted["admin_id"], posted["body"]) == ("note", ADMIN["id"], note_html(note))
    (signal,) = inbox.rows(SignalRow)
    assert signal.payload["channel"] == "note" and signal.payload["similarity"] == text_similarity(
        one(shown, "draft")["value"], note)
    assert texts(result, "header") == ["Note added"]


@pytest.mark.parametrize("draft", ["", "   \n  "])
def test_sending_an_empty_draft_marks_the_textarea_and_sends_nothing(inbox, draft):
    shown = inbox.initialize(KNOWN)
    result = inbox.submit(shown, "send_reply", draft)
    assert one(result, "draft")["error"] is True and "send_reply" in buttons(result)
    assert texts(result, "error") and inbox.fake.replies == [] and inbox.rows(SignalRow) == []


def test_a_repeated_send_posts_the_reply_once(inbox):
    shown = inbox.initialize(KNOWN)
    edited = one(shown, "draft")["value"] + " Thanks for your patience."
    inbox.submit(shown, "send_reply", edited)
    again = inbox.submit(shown, "send_reply", edited)  # a double click, or a replayed request
    assert len(inbox.fake.replies) == 1 and len(inbox.rows(SignalRow)) == 1
    assert "already recorded" in texts(again)[1]


def test_apply_tags_tags_the_conversation_and_keeps_the_edited_draft(inbox):
    shown = inbox.initialize(KNOWN)
    tags = shown["stored_data"]["tags"]
    edited = "Hi Ada, let me check with the courier."
    result = inbox.submit(shown, "apply_tags", edited)
    tag_ids = {inbox.fake.tags[t.lower()] for t in tags}
    assert {(c, tag) for c, tag, _ in inbox.fake.tagged} == {(KNOWN, tag) for tag in tag_ids}
    assert f"Tags applied: {', '.join(tags)}" in texts(result)
    assert one(result, "draft")["value"] == edited
    assert "apply_tags" not in buttons(result) and "send_reply" in buttons(result)
    assert inbox.rows(SignalRow) == [] and inbox.fake.replies == []


def test_marking_the_suggestion_wrong_records_it(inbox):
    shown = inbox.initialize(KNOWN)
    result = inbox.submit(shown, "wrong", one(shown, "draft")["value"])
    (signal,) = inbox.rows(SignalRow)
    assert (signal.kind, signal.actor, signal.suggestion_id) == ("draft_discarded", ADMIN["id"],
                                                                 shown["stored_data"]["suggestion_id"])
    assert texts(result, "header") == ["Thanks — marked wrong"] and inbox.fake.replies == []


@pytest.mark.parametrize(("component_id", "path", "status", "times", "requests", "says"), [
    ("send_reply", f"/conversations/{KNOWN}/reply", 502, 1, 1, "did not confirm"),
    ("add_note", f"/conversations/{KNOWN}/reply", 500, 1, 1, "did not confirm"),
    ("send_reply", f"/conversations/{KNOWN}/reply", 401, 1, 1, "access token"),
    ("apply_tags", "/tags", 503, 2, 2, "did not accept"),
], ids=["reply 502", "note 500", "reply 401", "tags 503"])
def test_when_intercom_fails_the_card_says_so_and_nothing_is_recorded(inbox, component_id, path, status, times,
                                                                      requests, says):
    shown = inbox.initialize(KNOWN)
    edited = one(shown, "draft")["value"] + " Anything else?"
    inbox.fake.faults.add(path, status, times=times)
    result = inbox.submit(shown, component_id, edited)
    (error,) = texts(result, "error")
    assert says in error and f"HTTP {status}" in error and ACCESS_TOKEN not in json.dumps(result)
    assert one(result, "draft")["value"] == edited and component_id in buttons(result)  # try again from here
    assert inbox.rows(SignalRow) == [] and inbox.fake.replies == [] and inbox.fake.tagged == []
    assert len([r for r in inbox.fake.requests if r.method == "POST" and r.path == path]) == requests


@pytest.mark.parametrize("change", [
    lambda r: r.update(component_id="insert_draft"),
    lambda r: r["current_canvas"]["current_canvas"].update(stored_data={}),
    lambda r: r["context"].update(conversation_id=int(conversation_id(4))),
], ids=["unknown button", "no stored data", "another conversation"])
def test_a_submit_from_a_card_this_version_did_not_draw_gets_an_error_card(inbox, change):
    shown = inbox.initialize(KNOWN)
    request = submit_request(shown, "send_reply", "Hello")
    change(request)
    answer = inbox.post("submit", request)
    assert answer.status_code == 200
    result = valid_canvas(answer.get_json())
    assert "out of date" in texts(result, "error")[0]
    assert inbox.fake.replies == [] and inbox.rows(SignalRow) == []


def test_a_submit_is_verified_like_an_initialize(inbox):
    shown = inbox.initialize(KNOWN)
    request = submit_request(shown, "send_reply", "Hello")
    assert inbox.post("submit", request, secret=OTHER_SECRET).status_code == 401
    assert inbox.post("submit", request, secret=None).status_code == 401
    assert inbox.fake.replies == [] and inbox.rows(SignalRow) == []


# -- the pure parts --------------------------------------------------------------------------------

def test_the_signature_is_hex_hmac_sha256_of_the_raw_body():
    # Computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac test_client_secret
    body = b'{"workspace_id":"abc123","component_id":"insert_draft"}'
    expected = "4b73f0bf29e35c1017828277ac1ac037e632fc5d4fe9b36914cd707df9f5dd9c"
    assert canvas.sign(body, "test_client_secret") == expected
    canvas.verify(body, expected, "test_client_secret")
    canvas.verify(body, f" {expected.upper()} ", "test_client_secret")


@pytest.mark.parametrize(("signature", "secret", "reason"), [
    (None, "test_client_secret", "missing"),
    ("", "test_client_secret", "missing"),
    ("sha256=abc", "test_client_secret", "64 hex digits"),
    ("0" * 64, "test_client_secret", "does not match"),
    ("4b73f0bf29e35c1017828277ac1ac037e632fc5d4fe9b36914cd707df9f5dd9c", "another_secret", "does not match"),
    ("4b73f0bf29e35c1017828277ac1ac037e632fc5d4fe9b36914cd707df9f5dd9c", "", "client_secret"),
])
def test_a_wrong_signature_is_refused_without_revealing_the_secret(signature, secret, reason):
    body = b'{"workspace_id":"abc123","component_id":"insert_draft"}'
    with pytest.raises(BadSignature, match=reason) as refused:
        canvas.verify(body, signature, secret)
    assert "test_client_secret" not in str(refused.value) and canvas.sign(body, "test_client_secret") not in str(
        refused.value)


@pytest.mark.parametrize("nested", [True, False])
def test_stored_data_is_read_from_either_canvas_shape(nested):
    stored = {"suggestion_id": 7, "conversation_id": KNOWN}
    current = {"content": {"components": []}, "stored_data": stored}
    request = SubmitRequest.model_validate({
        "workspace_id": "abc123", "admin": {"id": 7200001}, "component_id": "wrong",
        "context": {"conversation_id": int(KNOWN)},
        "current_canvas": {"current_canvas": current} if nested else current})
    assert request.stored_data == stored and request.admin.id == "7200001" and request.conversation_id == KNOWN


def _state(similar: int = 3, title: str = "Card never arrived") -> CardState:
    return CardState(suggestion_id=1, conversation_id=KNOWN, intent="card_arrival", confidence=0.874,
                     tags=["card", "delivery"],
                     similar=[SimilarTicket(id=f"t-{n}", title=title, subtitle="Card arrival") for n in range(similar)])


@pytest.mark.parametrize("draft", ["x" * 100_000, "é" * 40_000, "Hi\n" * 30_000])
def test_an_oversized_draft_is_shortened_to_fit_64_kb(draft):
    shown = valid_canvas(canvas.suggestion_card(_state(), draft))
    value = one(shown, "draft")["value"]
    assert value.endswith("…") and draft.startswith(value[:-1]) and len(value) > 1000


def test_oversized_similar_tickets_are_dropped_to_fit_64_kb():
    shown = valid_canvas(canvas.suggestion_card(_state(title="Charged twice " * 2_000), "Hi"))
    assert len(shown["stored_data"]["similar"]) < 3 and one(shown, "draft")["value"] == "Hi"


def test_the_first_canvas_lists_fewer_similar_tickets_than_later_ones():
    first = valid_canvas(canvas.suggestion_card(_state(), "Hi Ada, cards arrive within 5 working days.", first=True))
    later = valid_canvas(canvas.suggestion_card(_state(), "Hi Ada, cards arrive within 5 working days."))
    assert canvas.estimated_height(first["content"]["components"]) <= canvas.FIRST_CANVAS_HEIGHT
    assert sum(len(c["items"]) for c in components(first, "list")) < 3 == len(components(later, "list")[0]["items"])
    assert texts(first, "header") == ["Card arrival · 87%"]


def test_labels_are_shown_as_typed_not_as_markdown():
    shown = valid_canvas(canvas.suggestion_card(
        _state().model_copy(update={"tags": ["vip_customer", "*urgent*"]}), None))
    assert texts(shown, "muted") == [r"Tags: vip\_customer, \*urgent\*"]
    assert components(shown, "textarea") == [] and "send_reply" not in buttons(shown)


def test_every_component_builder_keeps_the_documented_shape():
    built = [canvas.text("Hello", "muted"), canvas.textarea("notes", "Notes", "x", error=True),
             canvas.button("go", "Go", "primary"), canvas.list_of([canvas.item("a", "A", "sub", "3rd", "https://x.test")]),
             canvas.divider(), canvas.spacer("m")]
    valid_canvas(canvas.response(built, {"k": 1}))
    with pytest.raises(jsonschema.ValidationError):
        valid_canvas(canvas.response([{**canvas.button("go", "Go"), "style": "danger"}]))
    with pytest.raises(jsonschema.ValidationError):
        valid_canvas(canvas.response([{"type": "text", "text": "Hi", "style": "loud"}]))


def test_message_cards_count_in_the_schema():
    for shown in (canvas.sent_card("reply", 0.8312), canvas.sent_card("note", None), canvas.wrong_card(),
                  canvas.message_card("Oops", "error")):
        valid_canvas(shown)
    assert texts(valid_canvas(canvas.sent_card("reply", 0.8312)))[1] == \
        "Deskloop learned from your edit (similarity 0.83)."

