"""The ``guide`` of an ``/widget/v1/ask`` answer: the answer's steps matched to the elements the
customer's own page sent, the route another session saw a missing step's element on (never its
selector), names customers taught by completing guides, and no guide for an answer without
steps. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from core.store.tickets import upsert_tickets
from core.widget.config import setup_widget
from tests.factories import make_ticket
from tests.test_widget_api import (  # noqa: F401 (fixtures)
    CARD_QUESTION,
    CONTEXT,
    ORIGIN,
    _signals,
    post,
    trained,
    world,
)

ELSEWHERE = {"url": "https://app.example.com/home/4711", "route": "/home/4711",
             "elements": [{"role": "link", "text": "Cards", "selector": "#bob-cards"},
                          {"role": "button", "text": "Bob's private button", "selector": "#bob-only"}]}


def _ask(app, key, context=CONTEXT, question=CARD_QUESTION, **extra):
    response = post(app, "ask", {"key": key, "question": question, "context": context, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_answers_steps_are_matched_to_the_customers_own_page(trained):
    app, key = trained
    body = _ask(app, key)
    assert "Cards > Track" in body["answer"]
    assert body["guide"] == {"first_missing": 0, "steps": [
        {"text": "Cards", "names": ["Cards"], "selector": None, "on_page": False, "page": None},
        {"text": "Track", "names": ["Track"], "selector": "#track", "on_page": True, "page": None}]}

    on_home = {**CONTEXT, "elements": [{"role": "link", "text": "My Cards", "selector": "#cards"},
                                       {"role": "button", "label": "track", "selector": "#t"}]}
    assert [(s["selector"], s["on_page"]) for s in _ask(app, key, on_home)["guide"]["steps"]] == [
        ("#cards", True), ("#t", True)]
    assert _ask(app, key, on_home)["guide"]["first_missing"] is None


def test_a_missing_steps_page_is_the_route_another_session_saw_it_on_never_its_selector(trained, db):
    app, key = trained
    db.ensure_tenant("globex")  # another tenant's pages are never looked at
    other, _ = setup_widget(app.extensions["deskloop"], "globex", [ORIGIN])
    _ask(app, other.public_key, {**ELSEWHERE, "route": "/globex"}, question="when will my card be delivered?")
    assert _ask(app, key)["guide"]["steps"][0]["page"] is None
    _ask(app, key, ELSEWHERE, question="when will my card be delivered?")  # another customer's page
    body = _ask(app, key)
    cards, track = body["guide"]["steps"]
    assert cards == {"text": "Cards", "names": ["Cards"], "selector": None, "on_page": False, "page": "/home/:id"}
    assert track["selector"] == "#track" and track["page"] is None
    assert "bob" not in str(body).lower() and "4711" not in str(body)


def test_an_answer_without_steps_or_no_answer_has_no_guide(trained):
    app, key = trained
    refund = _ask(app, key, question="where is my refund?")
    assert refund["answer"] and "refund" in refund["answer"].lower() and refund["guide"] is None
    unknown = _ask(app, key, question="Why does the quantum flux capacitor hum at night?")
    assert unknown["abstained"] is True and unknown["guide"] is None


def test_names_the_tenants_replies_state_twice_find_a_steps_element(trained, db):
    app, key = trained
    replies = ["Hi Ada, open Cards (also called Wallet) to see them.",
               "Hi Grace, your cards are under Cards, also called Wallet.",
               "Hi Alan, click Track (or Parcel of Alan) for the status."]
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket(f"named-{i}", "where are my cards?", reply=reply)
                                            for i, reply in enumerate(replies)])
    page = {**CONTEXT, "elements": [{"role": "link", "text": "Wallet", "selector": "#wallet"},
                                    {"role": "button", "text": "Parcel of Alan", "selector": "#alan"}]}
    cards, track = _ask(app, key, page)["guide"]["steps"]
    assert cards == {"text": "Cards", "names": ["Cards", "Wallet"], "selector": "#wallet", "on_page": True,
                     "page": None}
    assert track["names"] == ["Track"] and track["selector"] is None  # stated by one reply only


def _complete(app, key, clicked, **who):
    session = _ask(app, key, **who)["session"]
    done = post(app, "guide", {"key": key, "session": session, "event": "completed", "step": 1, "clicked": clicked,
                               **who})
    assert done.status_code == 201, done.get_json()


def test_names_customers_clicked_to_complete_guides_are_learned_once_two_customers_taught_them(trained, db):
    app, key = trained
    wallet_page = {**CONTEXT, "elements": [{"role": "link", "text": "Wallet", "selector": "#wallet"}]}
    ada = {"identity": {"user_id": "u-ada"}}
    _complete(app, key, [{"step": 0, "text": "Wallet"}, {"step": 1, "text": "Track"}], **ada)
    _complete(app, key, [{"step": 0, "text": "Wallet"}], **ada)
    assert _ask(app, key, wallet_page)["guide"]["steps"][0]["selector"] is None  # one customer is not enough
    _complete(app, key, [{"step": 0, "text": "Wallet"}, {"step": 1, "text": "Ada's card 4111"}])
    step = _ask(app, key, wallet_page)["guide"]["steps"][0]
    assert step == {"text": "Cards", "names": ["Cards", "Wallet"], "selector": "#wallet", "on_page": True,
                    "page": None}
    # What is kept: the step's other name, never a name with digits (an account's own), nor the step's own name.
    assert [s.payload.get("aliases") for s in _signals(db) if s.kind == "confirmed"] == [
        [["Cards", "Wallet"]]] * 3


def test_a_guides_clicks_are_bounded(trained):
    app, key = trained
    session = _ask(app, key)["session"]
    base = {"key": key, "session": session, "event": "completed", "step": 1}
    too_many = post(app, "guide", {**base, "clicked": [{"step": 0, "text": "x"}] * 11})
    assert too_many.status_code == 400 and "clicked" in str(too_many.get_json())
    too_long = post(app, "guide", {**base, "clicked": [{"step": 0, "text": "x" * 201}]})
    assert too_long.status_code == 400
    assert post(app, "guide", {**base, "clicked": [{"step": 99, "text": "Wallet"}]}).status_code == 400
