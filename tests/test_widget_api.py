"""The in-app widget's server side (``/widget/v1``, ``deskloop widget``): answers from the
tenant's resolved tickets with the page context kept as the tenant allows, refusals (origin, key,
identity, another customer's session, sizes, rates), the learning signals, and tickets filed into
Deskloop's own store and through a helpdesk's client. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.app import create_app
from core.cli import main
from core.helpdesk import contract as helpdesks
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.training import train_tenant
from core.store.tables import SignalRow, TicketRow, WidgetSessionRow
from core.store.tickets import upsert_tickets
from core.widget.config import make_identity_secret, setup_widget, widget_config
from core.widget.keys import identity_hash
from tests import toydesk
from tests.factories import small_inbox

ORIGIN = "https://app.example.com"
CARD_QUESTION = "my new card has still not arrived, when will it come?"
CARD_REPLY = "cards arrive within 5 working days"
CONTEXT = {"url": "https://app.example.com/cards?token=s3cret#top", "route": "/cards", "title": "Your cards",
           "area": "cards", "app_state": {"plan": "pro", "email": "ada@example.com"},
           "errors": ["TypeError: x is undefined"],
           "elements": [{"role": "button", "text": "Track", "label": "Track delivery", "selector": "#track"}]}


def _app(settings, **rates):
    rates = {"rate_widget_key": "100000/minute", "rate_widget_ip": "100000/minute", **rates}
    return create_app(replace(settings, rate_auth_failures="100000/minute", **rates))


@pytest.fixture
def world(settings, db):
    """Tenant ``acme`` with resolved tickets and a widget (``email`` never kept from app state), no
    model yet: the refusals need none, and every question abstains."""
    app = _app(settings)
    runtime = app.extensions["deskloop"]
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    config, created = setup_widget(runtime, "acme", [ORIGIN, "http://localhost:3000"], deny_state=["email"])
    assert created
    yield app, config.public_key
    runtime.close()


@pytest.fixture
def trained(world):
    """The same, with a model trained on the tickets (seconds: only the tests that need answers)."""
    train_tenant(world[0].extensions["deskloop"], "acme")
    return world


def post(app, path, body, origin=ORIGIN, address="10.0.0.1"):
    headers = {"Origin": origin} if origin else {}
    return app.test_client().post(f"/widget/v1/{path}", json=body, headers=headers,
                                  environ_base={"REMOTE_ADDR": address})


def _stored_session(db, slug="acme"):
    with db.tenant_session(db.tenant_id(slug)) as session:
        return session.scalars(select(WidgetSessionRow).order_by(WidgetSessionRow.id)).all()


def _signals(db, slug="acme"):
    with db.tenant_session(db.tenant_id(slug)) as session:
        return session.scalars(select(SignalRow).order_by(SignalRow.id)).all()


def test_a_question_with_its_page_is_answered_from_resolved_tickets(trained, db):
    app, key = trained
    answer = post(app, "ask", {"key": key, "question": CARD_QUESTION, "context": CONTEXT})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert CARD_REPLY in body["answer"].lower() and body["abstained"] is False and body["offer_human"] is False
    assert body["session"].startswith("ws_")
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in answer.headers["Vary"]
    [row] = _stored_session(db)
    assert row.question == CARD_QUESTION and row.answer == body["answer"] and row.suggestion_id is not None
    assert row.token_hash != body["session"]  # only its hash is kept
    kept = row.page_context
    assert kept["url"] == "https://app.example.com/cards"  # query and fragment dropped
    assert kept["route"] == "/cards" and kept["area"] == "cards" and kept["title"] == "Your cards"
    assert kept["app_state"] == {"plan": "pro"}  # the denied key is not kept
    assert kept["errors"] == ["TypeError: x is undefined"]
    assert kept["elements"] == [{"role": "button", "text": "Track", "label": "Track delivery", "selector": "#track"}]


def test_a_question_without_context_is_answered_and_continues_its_session(trained, db):
    app, key = trained
    first = post(app, "ask", {"key": key, "question": CARD_QUESTION}).get_json()
    assert first["answer"] and _stored_session(db)[0].page_context is None
    again = post(app, "ask", {"key": key, "question": "how do I reset my password?", "session": first["session"]})
    assert again.status_code == 200 and again.get_json()["session"] == first["session"]
    assert "forgot password" in again.get_json()["answer"].lower()
    [row] = _stored_session(db)
    assert row.question == "how do I reset my password?" and [e["question"] for e in row.earlier] == [CARD_QUESTION]


def test_an_unfamiliar_question_abstains_and_offers_a_human(trained):
    app, key = trained
    body = post(app, "ask", {"key": key, "question": "Does your API support quantum telescope calibration?"}).get_json()
    assert body["answer"] is None and body["abstained"] is True and body["offer_human"] is True
    assert body["message"]


def test_a_tenant_without_a_model_abstains(settings, db):
    app = _app(settings)
    db.ensure_tenant("fresh")
    config, _ = setup_widget(app.extensions["deskloop"], "fresh", [ORIGIN])
    body = post(app, "ask", {"key": config.public_key, "question": CARD_QUESTION}).get_json()
    assert body == {"session": body["session"], "answer": None, "abstained": True, "offer_human": True,
                    "message": body["message"], "guide": None}
    app.extensions["deskloop"].close()


@pytest.mark.parametrize("origin", [None, "https://evil.example.com", "http://app.example.com", "null",
                                    "https://app.example.com.evil.io"])
def test_a_request_from_an_origin_the_tenant_does_not_allow_is_refused(world, db, origin):
    app, key = world
    refused = post(app, "ask", {"key": key, "question": CARD_QUESTION}, origin=origin)
    assert refused.status_code == 403 and "origin" in refused.get_json()["error"]["reason"]
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert _stored_session(db) == []


def test_the_origin_is_compared_as_a_browser_sends_it(world):
    app, key = world
    assert post(app, "ask", {"key": key, "question": CARD_QUESTION}, origin="http://localhost:3000").status_code == 200
    assert post(app, "ask", {"key": key, "question": CARD_QUESTION}, origin="https://APP.example.com:443"
                ).status_code == 200


def test_a_preflight_is_answered_for_an_allowed_origin_only(world):
    app, _ = world
    client = app.test_client()
    headers = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/widget/v1/ask", headers={"Origin": ORIGIN, **headers})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    for origin in ("https://evil.example.com", "null"):
        other = client.options("/widget/v1/ask", headers={"Origin": origin, **headers})
        assert "Access-Control-Allow-Origin" not in other.headers
    assert all(client.options(f"/widget/v1/{p}", headers={"Origin": ORIGIN, **headers})
               .headers.get("Access-Control-Allow-Origin") == ORIGIN for p in ("feedback", "ticket", "guide"))


def test_a_missing_or_unknown_key_is_refused(world):
    app, key = world
    missing = post(app, "ask", {"question": CARD_QUESTION})
    assert missing.status_code == 401 and missing.get_json()["error"]["field"] == "key"
    unknown = post(app, "ask", {"key": key[:-2] + "xx", "question": CARD_QUESTION})
    assert unknown.status_code == 404 and "key" in unknown.get_json()["error"]["reason"]
    assert post(app, "ask", {"key": ["not", "text"], "question": "x"}).status_code == 401
    assert app.test_client().post("/widget/v1/ask", data="not json", headers={"Origin": ORIGIN}).status_code == 401


def test_one_tenants_key_is_refused_from_another_tenants_origin(world, db):
    app, _ = world
    db.ensure_tenant("other")
    other, _ = setup_widget(app.extensions["deskloop"], "other", ["https://other.example.org"])
    refused = post(app, "ask", {"key": other.public_key, "question": CARD_QUESTION}, origin=ORIGIN)
    assert refused.status_code == 403


@pytest.fixture
def signed(world):
    app, key = world
    secret = make_identity_secret(app.extensions["deskloop"], "acme")
    return app, key, secret


def test_a_forged_or_missing_identity_is_refused_when_the_tenant_signs(signed, db):
    app, key, secret = signed
    ask = {"key": key, "question": CARD_QUESTION}
    assert post(app, "ask", ask).status_code == 403
    assert post(app, "ask", {**ask, "identity": {"user_id": "u-1"}}).status_code == 403
    forged = post(app, "ask", {**ask, "identity": {"user_id": "u-1", "user_hash": identity_hash("guess", "u-1")}})
    assert forged.status_code == 403 and forged.get_json()["error"]["field"] == "identity.user_hash"
    other_users = post(app, "ask", {**ask, "identity": {"user_id": "u-1", "user_hash": identity_hash(secret, "u-2")}})
    assert other_users.status_code == 403
    assert post(app, "ask", {**ask, "identity": {"user_id": "u-1", "user_hash": "é" * 64}}).status_code == 403
    assert _stored_session(db) == []
    good = post(app, "ask", {**ask, "identity": {"user_id": "u-1", "user_hash": identity_hash(secret, "u-1").upper()}})
    assert good.status_code == 200
    [row] = _stored_session(db)
    assert row.user_id == "u-1" and row.identity_verified


def test_one_customer_cannot_read_or_continue_anothers_session(signed, db):
    app, key, secret = signed

    def who(user):
        return {"user_id": user, "user_hash": identity_hash(secret, user)}

    session = post(app, "ask", {"key": key, "question": CARD_QUESTION, "identity": who("alice")}).get_json()["session"]
    as_bob = {"key": key, "session": session, "identity": who("bob")}
    assert post(app, "ask", {**as_bob, "question": "and my refund?"}).status_code == 403
    assert post(app, "feedback", {**as_bob, "helpful": False}).status_code == 403
    assert post(app, "ticket", {**as_bob, "email": "bob@example.com"}).status_code == 403
    assert post(app, "guide", {**as_bob, "event": "completed", "step": 2}).status_code == 403
    assert _signals(db) == [] and _stored_session(db)[0].ticket_external_id is None
    as_alice = {"key": key, "session": session, "identity": who("alice")}
    assert post(app, "feedback", {**as_alice, "helpful": True}).status_code == 201
    assert post(app, "feedback", {**as_alice, "session": "ws_" + "x" * 32, "helpful": True}).status_code == 404


def test_an_unsigned_tenant_still_binds_a_session_to_the_user_it_names(world):
    app, key = world
    session = post(app, "ask", {"key": key, "question": CARD_QUESTION, "identity": {"user_id": "alice"}}
                   ).get_json()["session"]
    refused = post(app, "feedback", {"key": key, "session": session, "helpful": True, "identity": {"user_id": "bob"}})
    assert refused.status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"question": "x" * 2001}, "question"),
    ({"question": ""}, "question"),
    ({"context": {**CONTEXT, "elements": [{"role": "button", "text": "b"}] * 201}}, "context.elements"),
    ({"context": {**CONTEXT, "app_state": {"blob": "x" * 4100}}}, "context.app_state"),
    ({"context": {**CONTEXT, "errors": ["e"] * 21}}, "context.errors"),
    ({"context": {**CONTEXT, "unknown": 1}}, "context.unknown"),
])
def test_oversize_or_malformed_input_is_refused_with_a_reason(world, db, change, field):
    app, key = world
    refused = post(app, "ask", {"key": key, "question": CARD_QUESTION, **change})
    assert refused.status_code == 400 and refused.get_json()["error"]["field"] == field
    assert refused.get_json()["error"]["reason"]
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN  # the widget can read why
    assert _stored_session(db) == []


def test_the_caps_themselves_are_accepted(world):
    app, key = world
    state = {"blob": "x" * (4096 - len('{"blob":""}'))}
    body = {"key": key, "question": "card " + "x" * 1995,
            "context": {"app_state": state, "elements": [{"role": "link", "text": "t"}] * 200}}
    assert post(app, "ask", body).status_code == 200


def test_requests_past_the_rate_per_address_get_429(settings, db):
    app = _app(settings, rate_widget_ip="3/minute")
    db.ensure_tenant("acme")
    config, _ = setup_widget(app.extensions["deskloop"], "acme", [ORIGIN])
    ask = {"key": config.public_key, "question": CARD_QUESTION}
    statuses = [post(app, "ask", ask).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = post(app, "ask", ask)
    assert limited.headers["Access-Control-Allow-Origin"] == ORIGIN and int(limited.headers["Retry-After"]) > 0
    assert post(app, "ask", ask, address="10.0.0.2").status_code == 200  # another customer
    app.extensions["deskloop"].close()


def test_requests_past_the_rate_per_key_get_429_from_any_address(settings, db):
    app = _app(settings, rate_widget_key="3/minute")
    db.ensure_tenant("acme")
    db.ensure_tenant("other")
    config, _ = setup_widget(app.extensions["deskloop"], "acme", [ORIGIN])
    other, _ = setup_widget(app.extensions["deskloop"], "other", [ORIGIN])
    statuses = [post(app, "ask", {"key": config.public_key, "question": "hi"}, address=f"10.0.1.{i}").status_code
                for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert post(app, "ask", {"key": other.public_key, "question": "hi"}, address="10.0.1.9").status_code == 200
    app.extensions["deskloop"].close()


def test_helpful_and_not_helpful_are_learning_signals_on_the_answer(trained, db):
    app, key = trained
    first = post(app, "ask", {"key": key, "question": CARD_QUESTION, "context": CONTEXT}).get_json()
    helpful = post(app, "feedback", {"key": key, "session": first["session"], "helpful": True})
    assert helpful.status_code == 201 and helpful.get_json() == {"recorded": True, "signal": "confirmed",
                                                                 "offer_ticket": False, "message": None}
    assert post(app, "feedback", {"key": key, "session": first["session"], "helpful": True}).get_json()[
        "recorded"] is False  # a double click counts once
    second = post(app, "ask", {"key": key, "question": "Where is my refund?"}).get_json()
    not_helpful = post(app, "feedback", {"key": key, "session": second["session"], "helpful": False})
    assert not_helpful.status_code == 201
    assert not_helpful.get_json()["signal"] == "not_helpful" and not_helpful.get_json()["offer_ticket"] is True
    rows = _signals(db)
    sessions = _stored_session(db)
    assert [(s.kind, s.weight, s.suggestion_id) for s in rows] == [
        ("confirmed", 1.0, sessions[0].suggestion_id), ("not_helpful", -1.0, sessions[1].suggestion_id)]
    assert rows[0].payload == {"widget_session": sessions[0].id, "route": "/cards", "area": "cards", "helpful": True}
    assert rows[0].actor == "widget" and sessions[0].helpful is True and sessions[1].helpful is False


def test_a_guide_completed_or_abandoned_is_a_signal(trained, db):
    app, key = trained
    session = post(app, "ask", {"key": key, "question": CARD_QUESTION}).get_json()["session"]
    done = post(app, "guide", {"key": key, "session": session, "event": "completed", "step": 3})
    assert done.status_code == 201 and done.get_json() == {"recorded": True, "signal": "confirmed"}
    other = post(app, "ask", {"key": key, "question": "How do I reset my password?"}).get_json()["session"]
    assert post(app, "guide", {"key": key, "session": other, "event": "abandoned", "step": 1}).status_code == 201
    assert post(app, "guide", {"key": key, "session": other, "event": "lost", "step": 1}).status_code == 400
    assert [(s.kind, s.weight, s.payload["guide"], s.payload["step"]) for s in _signals(db)] == [
        ("confirmed", 1.0, "completed", 3), ("not_helpful", -0.5, "abandoned", 1)]


def test_a_ticket_is_filed_in_deskloops_own_store_with_the_page_context(world, db):
    app, key = world
    session = post(app, "ask", {"key": key, "question": "Why was my export cut short?", "context": CONTEXT}
                   ).get_json()["session"]
    request = {"key": key, "session": session, "email": "ada@example.com", "name": "Ada Lovelace",
               "message": "The file stops at row 100."}
    filed = post(app, "ticket", request)
    assert filed.status_code == 201, filed.get_json()
    body = filed.get_json()
    assert body["filed"] is True and body["filed_in"] == "deskloop" and body["created"] is True
    with db.tenant_session(db.tenant_id("acme")) as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.source == "widget"))
    assert ticket.external_id == body["ticket"] and ticket.status == "new" and ticket.channel == "widget"
    assert ticket.requester_email == "ada@example.com" and ticket.requester_name == "Ada Lovelace"
    assert "row 100" in ticket.text and "export cut short" in ticket.text
    assert ticket.page_context["route"] == "/cards" and ticket.page_context["app_state"] == {"plan": "pro"}
    assert _stored_session(db)[0].ticket_id == ticket.id
    again = post(app, "ticket", request)
    assert again.status_code == 200 and again.get_json()["ticket"] == body["ticket"] and not again.get_json()["created"]
    assert post(app, "ticket", {**request, "email": "not an address"}).status_code == 400


@pytest.fixture
def toy_app(tmp_path, monkeypatch, settings, db):
    """A tenant connected to Toydesk (:mod:`tests.toydesk`, installed through an entry point), whose
    client can create tickets."""
    dist = tmp_path / "toydesk-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toydesk\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[deskloop.integrations]\ntoydesk = tests.toydesk:INTEGRATION\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    helpdesks.registered.cache_clear()
    forget_connections()
    toydesk.CREATED.clear()
    app = _app(settings)
    add_tenant(app.extensions["deskloop"], "toys", "toydesk", "toys.example",
               {"api_key": "toy-key-1", "webhook_secret": "toy-secret-9"}, {"write_back_tags": False})
    config, _ = setup_widget(app.extensions["deskloop"], "toys", [ORIGIN])
    yield app, config.public_key
    app.extensions["deskloop"].close()
    helpdesks.registered.cache_clear()
    forget_connections()
    toydesk.CREATED.clear()


def test_a_ticket_is_filed_through_the_tenants_helpdesk_client(toy_app, db):
    app, key = toy_app
    session = post(app, "ask", {"key": key, "question": "My export stops halfway", "context": CONTEXT}
                   ).get_json()["session"]
    filed = post(app, "ticket", {"key": key, "session": session, "email": "ada@example.com", "name": "Ada"})
    assert filed.status_code == 201 and filed.get_json()["filed_in"] == "toydesk"
    [created] = toydesk.CREATED
    assert filed.get_json()["ticket"] == created["id"] and created["email"] == "ada@example.com"
    assert created["subject"] == "My export stops halfway" and "My export stops halfway" in created["body"]
    assert created["context"]["route"] == "/cards" and created["context"]["elements"][0]["selector"] == "#track"
    with db.tenant_session(db.tenant_id("toys")) as s:
        assert s.scalar(select(TicketRow.id).where(TicketRow.source == "widget")) is None  # not duplicated here
    assert post(app, "ticket", {"key": key, "session": session}).get_json()["ticket"] == created["id"]
    assert len(toydesk.CREATED) == 1


def test_not_helpful_then_a_ticket_through_zenpy_to_the_local_zendesk(settings, db):
    """The whole path with a real client library: the answer did not help, the customer files a
    ticket, and it reaches the local Zendesk with the page context in a private note."""
    from tests.fake_api import serve
    from tests.integrations.zendesk.fake_zendesk import fake, make_app

    zendesk = make_app(tickets=1)
    with serve(zendesk) as url:
        forget_connections()
        app = _app(settings)
        runtime = app.extensions["deskloop"]
        add_tenant(runtime, "larkspur", "zendesk", "larkspur.zendesk.com",
                   {"email": "deskloop@larkspur.example", "api_token": "zd-token", "webhook_secret": "s"},
                   {"api_url": url, "write_back_tags": False})
        key = setup_widget(runtime, "larkspur", [ORIGIN], deny_state=["email"])[0].public_key
        session = post(app, "ask", {"key": key, "question": "My export stops halfway", "context": CONTEXT}
                       ).get_json()["session"]
        assert post(app, "feedback", {"key": key, "session": session, "helpful": False}).get_json()["offer_ticket"]
        filed = post(app, "ticket", {"key": key, "session": session, "email": "ada@example.com", "name": "Ada"})
        runtime.close()
        forget_connections()
    assert filed.status_code == 201 and filed.get_json()["filed_in"] == "zendesk"
    state = fake(zendesk)
    ticket_id = int(filed.get_json()["ticket"])
    assert state.created[ticket_id]["requester"] == {"email": "ada@example.com", "name": "Ada"}
    assert "My export stops halfway" in state.created[ticket_id]["comment"]["body"]
    [note] = state.notes[ticket_id]
    assert note["public"] is False and "Route: /cards" in note["body"] and "ada@example.com" not in note["body"]


def test_the_cli_sets_up_shows_and_rotates_the_widget(settings, db):
    db.ensure_tenant("acme")
    runner = CliRunner()
    made = runner.invoke(main, ["widget", "setup", "--tenant", "acme", "--origin", "https://app.example.com/",
                                "--origin", "http://localhost:3000", "--deny-state", "email"])
    assert made.exit_code == 0, made.output
    from core.runtime import Runtime

    runtime = Runtime(settings)
    key = widget_config(runtime, "acme").public_key
    assert key.startswith("wk_") and key in made.output
    assert f'data-deskloop-key="{key}"' in made.output and "<script async src=" in made.output
    assert "https://app.example.com, http://localhost:3000" in made.output
    shown = runner.invoke(main, ["widget", "show", "--tenant", "acme"])
    assert shown.exit_code == 0 and key in shown.output and "signed identity: off" in shown.output
    rotated = runner.invoke(main, ["widget", "rotate-key", "--tenant", "acme"])
    new_key = widget_config(runtime, "acme").public_key
    assert rotated.exit_code == 0 and new_key != key and new_key in rotated.output
    secret = runner.invoke(main, ["widget", "identity-secret", "--tenant", "acme"])
    assert secret.exit_code == 0 and len(secret.stdout.strip()) >= 40
    shown = runner.invoke(main, ["widget", "show", "--tenant", "acme"])
    assert "signed identity: required" in shown.output and secret.stdout.strip() not in shown.output
    again = runner.invoke(main, ["widget", "setup", "--tenant", "acme", "--origin", "https://new.example.com"])
    assert again.exit_code == 0 and widget_config(runtime, "acme").origins == ("https://new.example.com",)
    assert widget_config(runtime, "acme").public_key == new_key  # setup again keeps the key
    runtime.close()


@pytest.mark.parametrize("args, reason", [
    (["setup", "--tenant", "acme", "--origin", "app.example.com"], "must be http(s)://host"),
    (["setup", "--tenant", "acme", "--origin", "https://app.example.com/path"], "without a path"),
    (["setup", "--tenant", "acme", "--origin", "ftp://app.example.com"], "must be http(s)://host"),
    (["setup", "--tenant", "nobody", "--origin", "https://app.example.com"], "no tenant named"),
    (["show", "--tenant", "acme"], "has no widget yet"),
    (["rotate-key", "--tenant", "acme"], "has no widget yet"),
    (["identity-secret", "--tenant", "acme"], "has no widget yet"),
])
def test_the_cli_refuses_bad_input_with_exit_2(settings, db, args, reason):
    db.ensure_tenant("acme")
    refused = CliRunner().invoke(main, ["widget", *args])
    assert refused.exit_code == 2 and reason in refused.output, refused.output
    from core.runtime import Runtime

    runtime = Runtime(settings)
    with pytest.raises(Exception, match="has no widget yet"):
        widget_config(runtime, "acme")
    runtime.close()


def test_questions_and_identities_never_reach_a_log(signed, caplog):
    app, key, secret = signed
    caplog.set_level(logging.DEBUG)
    question = "Zyxwv card question from quasimodo-42"
    who = {"user_id": "user-quasimodo-42", "user_hash": identity_hash(secret, "user-quasimodo-42")}
    session = post(app, "ask", {"key": key, "question": question, "identity": who}).get_json()["session"]
    post(app, "ask", {"key": key, "question": question, "identity": {**who, "user_hash": "0" * 64}})
    post(app, "feedback", {"key": key, "session": session, "helpful": False, "identity": who})
    post(app, "ticket", {"key": key, "session": session, "email": "quasimodo@example.com", "identity": who})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the requests were logged, just not what they said
    for private in ("quasimodo", secret, session):
        assert private not in logged
