"""The side panels' server side: the Zendesk sidebar's signed-URL check, panel sessions and app
tokens, and what ``/apps/api`` answers and records. The browser tests drive the same endpoints
from the real pages (tests/test_side_panels_browser.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import jwt
import pytest
from sqlalchemy import select, update

from core.app import create_app
from core.learning.feedback import record_signal, text_similarity
from core.panel.access import PanelIdentity, issue_session
from core.store.tables import SignalRow, TicketRow
from core.text.normalize import clean_message
from core.types import Signal
from core.web.panel_api import UNFAMILIAR_MESSAGE
from tests.integrations.zendesk import fake_zendesk
from tests.panel_support import (  # noqa: F401
    ACCOUNT,
    ZendeskAccount,
    new_key,
    zendesk_account,
    zendesk_token,
)

SIDEBAR = "/apps/zendesk/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=guid-1"


@pytest.fixture
def client(zendesk_account, settings):
    app = create_app(settings)
    yield app.test_client()
    app.extensions["deskloop"].close()


def session_of(page: str) -> str:
    return re.search(r'data-session="([^"]+)"', page).group(1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def open_sidebar(client, account: ZendeskAccount) -> str:
    answer = client.post(SIDEBAR, data={"token": account.token()})
    assert answer.status_code == 200, answer.text
    return session_of(answer.text)


def hs256_with_public_key(account: ZendeskAccount, now: int) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the (public) PEM."""
    def part(data: dict) -> str:
        return jwt.utils.base64url_encode(json.dumps(data).encode()).decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'iss': ACCOUNT, 'iat': now, 'exp': now + 300})}"
    pem = fake_zendesk.fake(account.api).app_public_keys[7].encode()
    signature = jwt.utils.base64url_encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).decode()
    return f"{signing_input}.{signature}"


def test_a_signed_sidebar_load_gets_a_panel_session_and_the_key_is_fetched_once(client, zendesk_account):
    first = client.post(SIDEBAR, data={"token": zendesk_account.token()})
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert "zaf_sdk.min.js" in first.text and "sidebar.js" in first.text
    client.post(SIDEBAR, data={"token": zendesk_account.token()})
    assert fake_zendesk.fake(zendesk_account.api).public_key_reads == 1


def test_only_the_tenants_own_zendesk_may_frame_the_sidebar(client, zendesk_account):
    policy = client.post(SIDEBAR, data={"token": zendesk_account.token()}).headers["Content-Security-Policy"]
    assert f"frame-ancestors https://{ACCOUNT}" in policy and "*" not in policy.split("frame-ancestors")[1]
    assert "script-src 'self' https://static.zdassets.com" in policy and "unsafe-inline" not in policy
    refused = client.post(SIDEBAR, data={"token": "not-a-token"})
    assert "frame-ancestors https://*.zendesk.com;" in refused.headers["Content-Security-Policy"] + ";"
    for other in ("/api/v1/health", "/login", "/apps/panel/panel.js"):
        answer = client.get(other)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("problem", ["missing", "get", "other key", "expired", "other account", "other audience",
                                     "no expiry", "hs256 with the public key", "not a jwt"])
def test_a_forged_or_missing_token_gets_401_and_no_tenant_data(client, zendesk_account, problem):
    account = zendesk_account
    now = int(time.time())
    tokens = {
        "other key": lambda: zendesk_token(new_key()),
        "expired": lambda: account.token(iat=now - 3600, exp=now - 1800),
        "other account": lambda: account.token(iss="evil.zendesk.com"),
        "other audience": lambda: account.token(aud="https://evil.example/api/v2/apps/installations/1.json"),
        "no expiry": lambda: account.token(exp=None),
        "hs256 with the public key": lambda: hs256_with_public_key(account, now),
        "not a jwt": lambda: "not-a-token",
    }
    if problem == "missing":
        answer = client.post(SIDEBAR, data={})
    elif problem == "get":
        answer = client.get(SIDEBAR)
    else:
        answer = client.post(SIDEBAR, data={"token": tokens[problem]()})
    assert answer.status_code == 401
    assert 'data-testid="panel-refused"' in answer.text
    assert "data-session" not in answer.text and "acme" not in answer.text.lower().replace(ACCOUNT, "")


def test_the_panel_api_refuses_requests_without_proof(client, zendesk_account):
    path = "/apps/api/tickets/4242/suggestion"
    for headers in ({}, bearer("forged.session.token"), bearer("acme.not-the-token"), bearer("acme"),
                    {"Authorization": f"Basic {zendesk_account.app_token}"}):
        answer = client.post(path, json={}, headers=headers)
        assert answer.status_code == 401, headers
        assert set(answer.json) == {"error"} and "card" not in answer.text


def test_a_session_from_another_secret_key_is_refused(client, zendesk_account, settings):
    from dataclasses import replace

    from core.runtime import Runtime

    other = Runtime(replace(settings, secret_key="another-deployments-key-that-is-long-enough"))
    forged = issue_session(other, PanelIdentity("acme", "zendesk"))
    other.close()
    assert client.post("/apps/api/tickets/4242/suggestion", json={}, headers=bearer(forged)).status_code == 401


def test_the_suggestion_for_an_open_ticket_names_intent_tags_draft_and_linked_similar_tickets(client,
                                                                                               zendesk_account):
    session = open_sidebar(client, zendesk_account)
    answer = client.post("/apps/api/tickets/4242/suggestion", json={}, headers=bearer(session))
    assert answer.status_code == 200, answer.text
    shown = answer.json
    assert shown["ticket_known"] is True and shown["abstained"] is False
    assert shown["intent"] == "card_arrival" and 0 < shown["confidence"] <= 1
    assert "card" in [t["tag"] for t in shown["tags"]]
    assert "5 working days" in shown["draft"]
    assert shown["similar"] and all(s["url"] == f"https://{ACCOUNT}/agent/tickets/{s['external_id']}"
                                    for s in shown["similar"])


def set_page_context(client, external_id: str, context: dict | None) -> None:
    runtime = client.application.extensions["deskloop"]
    with runtime.db.transaction(runtime.db.tenant_id("acme")) as session:
        session.execute(update(TicketRow).where(TicketRow.source == "zendesk", TicketRow.external_id == external_id)
                        .values(page_context=context))


def test_the_panel_shows_the_customers_page_with_a_few_app_state_values_and_never_a_credential(client,
                                                                                               zendesk_account):
    state = {"plan": "Team", "api_token": "tok-123", **{f"flag_{n}": n % 2 == 0 for n in range(8)}}
    set_page_context(client, "4242", {"url": "https://app.acme.example/cards/track", "title": "Track your card",
                                      "area": "cards", "app_state": state})
    shown = client.post("/apps/api/tickets/4242/suggestion", json={},
                        headers=bearer(zendesk_account.app_token)).json
    page = shown["page"]
    assert (page["url"], page["title"], page["area"]) == ("https://app.acme.example/cards/track",
                                                          "Track your card", "cards")
    assert list(page["state"]) == ["plan", "flag_0", "flag_1", "flag_2", "flag_3"]  # at most five, in order
    assert "tok-123" not in json.dumps(shown)


def test_a_ticket_without_page_context_shows_no_page(client, zendesk_account):
    set_page_context(client, "4242", None)
    shown = client.post("/apps/api/tickets/4242/suggestion", json={},
                        headers=bearer(zendesk_account.app_token)).json
    assert shown["page"] is None


def test_an_unseen_ticket_is_suggested_from_the_text_the_panel_read(client, zendesk_account):
    headers = bearer(zendesk_account.app_token)
    assert client.post("/apps/api/tickets/9999/suggestion", json={}, headers=headers).status_code == 404
    shown = client.post("/apps/api/tickets/9999/suggestion", json={"text": "How do I reset my password?"},
                        headers=headers).json
    assert shown["ticket_known"] is False and shown["intent"] == "password_reset"


def test_abstention_says_a_human_is_needed_and_offers_no_draft(client, zendesk_account):
    shown = client.post("/apps/api/tickets/9998/suggestion", json={"text": "What are your opening hours in Paris?"},
                        headers=bearer(zendesk_account.app_token)).json
    assert shown["abstained"] is True and shown["draft"] is None
    assert shown["abstain_reason"] == "unfamiliar" and shown["message"] == UNFAMILIAR_MESSAGE


def test_the_sent_reply_becomes_one_draft_versus_sent_signal(client, zendesk_account, db):
    session = open_sidebar(client, zendesk_account)
    shown = client.post("/apps/api/tickets/4242/suggestion", json={}, headers=bearer(session)).json
    sent = "<p>" + shown["draft"] + " Sorry for the wait, I have also sent a replacement.</p>"
    path = f"/apps/api/suggestions/{shown['suggestion_id']}/sent"
    first = client.post(path, json={"text": sent}, headers=bearer(zendesk_account.app_token))
    assert first.status_code == 201, first.text
    assert first.json["kind"] == "draft_edited"
    assert first.json["similarity"] == text_similarity(shown["draft"], clean_message(sent))
    again = client.post(path, json={"text": sent}, headers=bearer(session))
    assert again.status_code == 200 and again.json["signal_id"] == first.json["signal_id"]
    # The helpdesk's webhook reports the same reply moments later: still one outcome for the draft.
    _, created = record_signal(zendesk_account.runtime, "acme", Signal(
        kind="draft_sent", suggestion_id=shown["suggestion_id"], source_event="zendesk:evt-1",
        payload={"sent": clean_message(sent)}))
    assert created is False
    with db.tenant_session(db.tenant_id("acme")) as s:
        rows = s.scalars(select(SignalRow).where(SignalRow.suggestion_id == shown["suggestion_id"])).all()
    assert [(r.kind, r.actor, r.payload["via"]) for r in rows] == [
        ("draft_edited", None, "zendesk-panel")]


def test_the_signal_names_the_agent_from_the_signed_token(client, zendesk_account):
    session = open_sidebar(client, zendesk_account)
    shown = client.post("/apps/api/tickets/4242/suggestion", json={}, headers=bearer(session)).json
    recorded = client.post(f"/apps/api/suggestions/{shown['suggestion_id']}/wrong", json={},
                           headers=bearer(session)).json
    assert recorded["kind"] == "draft_discarded" and recorded["created"] is True


def test_bad_input_is_a_400_with_the_field_and_nothing_is_recorded(client, zendesk_account, db):
    headers = bearer(zendesk_account.app_token)
    shown = client.post("/apps/api/tickets/4242/suggestion", json={}, headers=headers).json
    path = f"/apps/api/suggestions/{shown['suggestion_id']}/sent"
    for body, field in (({"text": ""}, "text"), ({"text": "hi", "channel": "tweet"}, "channel"),
                        ({"text": "hi", "extra": 1}, "extra")):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json["error"]["field"] == field, answer.text
    assert client.post("/apps/api/suggestions/999999/sent", json={"text": "hi"}, headers=headers).status_code == 400
    with db.tenant_session(db.tenant_id("acme")) as s:
        assert s.scalars(select(SignalRow)).all() == []


def test_one_tenants_token_cannot_touch_another_tenants_suggestions(client, zendesk_account, db):
    from core.panel.access import issue_app_token
    from tests.panel_support import seed_tenant

    seed_tenant(zendesk_account.runtime, "globex", "freshdesk")
    from core.helpdesk.connections import add_tenant

    add_tenant(zendesk_account.runtime, "globex", "freshdesk", "globex.freshdesk.com",
               {"api_key": "fd-key", "webhook_secret": "fd-secret"})
    globex = issue_app_token(zendesk_account.runtime, "globex")
    acme_suggestion = client.post("/apps/api/tickets/4242/suggestion", json={},
                                  headers=bearer(zendesk_account.app_token)).json["suggestion_id"]
    answer = client.post(f"/apps/api/suggestions/{acme_suggestion}/sent", json={"text": "hello"},
                         headers=bearer(globex))
    assert answer.status_code == 400 and "no suggestion" in answer.json["error"]["reason"]
    # The same external id is a different ticket for globex (its own Freshdesk ticket 4242).
    theirs = client.post("/apps/api/tickets/4242/suggestion", json={}, headers=bearer(globex)).json
    assert theirs["suggestion_id"] != acme_suggestion
    assert all(s["url"].startswith("https://globex.freshdesk.com/a/tickets/") for s in theirs["similar"])


def test_behind_a_path_prefix_the_page_calls_the_api_under_it(client, zendesk_account):
    answer = client.post(SIDEBAR, data={"token": zendesk_account.token()},
                         environ_overrides={"SCRIPT_NAME": "/desk"})
    assert 'data-api="/desk/apps/api"' in answer.text
    assert "/desk/apps/panel/panel.js" in answer.text


def test_a_report_through_the_proxy_names_the_agent_only_from_a_valid_session_of_the_tenant(client, zendesk_account,
                                                                                           settings):
    session = open_sidebar(client, zendesk_account)
    headers = bearer(zendesk_account.app_token)
    first, second, third = (client.post(f"/apps/api/tickets/{n}/suggestion", json={"text": "Where is my card?"},
                                        headers=headers).json["suggestion_id"] for n in (7001, 7002, 7003))
    named = client.post(f"/apps/api/suggestions/{first}/sent", json={"text": "On its way.", "session": session},
                        headers=headers)
    forged = client.post(f"/apps/api/suggestions/{second}/sent", json={"text": "On its way.", "session": "x.y.z"},
                         headers=headers)
    other = issue_session(zendesk_account.runtime, PanelIdentity("globex", "zendesk", "someone-else"))
    foreign = client.post(f"/apps/api/suggestions/{third}/sent", json={"text": "On its way.", "session": other},
                          headers=headers)
    assert [a.status_code for a in (named, forged, foreign)] == [201, 201, 201]
    with zendesk_account.runtime.db.tenant_session(zendesk_account.runtime.db.tenant_id("acme")) as s:
        actors = dict(s.execute(select(SignalRow.suggestion_id, SignalRow.actor)).all())
    assert actors == {first: "https://acme.zendesk.com/api/v2/users/555.json", second: None, third: None}
