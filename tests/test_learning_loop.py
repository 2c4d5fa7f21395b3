"""The learning loop end to end over the API: a signal goes in, the next suggestion changes; a
revoked signal stops counting; outcomes promote and demote replies; training reads the signals."""

from __future__ import annotations

import pytest

from core.learning import live
from core.learning.training import load_training_tickets, train_tenant
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import small_inbox

API = "/api/v1/tenants/acme"


@pytest.fixture(autouse=True)
def _fresh_memory():
    live.forget()
    yield
    live.forget()



@pytest.fixture
def client(app, db):
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    train_tenant(app.extensions["deskloop"], "acme")
    return authorized_client(app)


def _suggest(client, text: str, name: str | None = None) -> dict:
    response = client.post(f"{API}/suggest", json={"text": text, "customer_name": name})
    assert response.status_code == 200, response.json
    return response.json


def _signal(client, **body) -> dict:
    response = client.post(f"{API}/signals", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_a_corrected_intent_changes_the_next_suggestion_for_a_near_identical_ticket(client):
    first = _suggest(client, "My new card still has not arrived at home")
    assert first["intent"] == "card_arrival" and first["learned_from"] == []
    signal = _signal(client, kind="intent_changed", suggestion_id=first["id"], actor="sam",
                     payload={"intent": "refund_status"})
    assert signal["weight"] == 1.0

    again = _suggest(client, "My new card still has not arrived at home!")
    assert again["intent"] == "refund_status" and signal["id"] in again["learned_from"]
    assert not again["abstained"] and "refund" in again["draft"].lower()
    # A different question is not touched by the correction.
    assert _suggest(client, "How do I reset my password?")["intent"] == "password_reset"

    revoked = client.post(f"{API}/signals/{signal['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert _suggest(client, "My new card still has not arrived at home!")["intent"] == "card_arrival"


def test_an_edited_reply_becomes_the_preferred_answer_for_its_intent(client):
    first = _suggest(client, "Where is my refund?", "Grace Hopper")
    sent = "Hi Grace, refunds now arrive within 2 working days; see Payments > Refunds for the status."
    signal = _signal(client, kind="draft_edited", suggestion_id=first["id"], actor="sam", payload={"sent": sent})
    assert signal["kind"] == "draft_edited" and 0 < signal["payload"]["similarity"] < 1

    other = _suggest(client, "The refund for my order has not shown up", "Alan Turing")
    assert other["intent"] == "refund_status"
    assert other["draft"].startswith("Hi Alan, refunds now arrive within 2 working days")
    assert "Grace" not in other["draft"]
    assert other["draft_source"] == f"signal:{signal['id']}" and signal["id"] in other["learned_from"]


def test_negative_outcomes_demote_the_reply_that_was_used(client):
    first = _suggest(client, "How do I reset my password?")
    used = first["draft_source"]
    assert used.startswith("ticket:")
    _signal(client, kind="not_helpful", suggestion_id=first["id"], actor="customer")
    after = _suggest(client, "How do I reset my password?")
    assert after["draft_source"] != used and after["draft"]

    signals = client.get(f"{API}/signals").json["signals"]
    assert signals[0]["kind"] == "not_helpful" and signals[0]["weight"] == -1.0
    assert "demotes" in signals[0]["change"] and signals[0]["trained_in"] is None


def test_bad_signals_get_a_reason_and_store_nothing(client):
    first = _suggest(client, "Where is my refund?")
    for body, field in (
        ({"kind": "intent_changed", "suggestion_id": first["id"], "payload": {}}, "payload.intent"),
        ({"kind": "tag_changed", "suggestion_id": first["id"], "payload": {"tags": "billing"}}, "payload.tags"),
        ({"kind": "csat", "suggestion_id": first["id"], "payload": {}}, "payload.rating"),
    ):
        response = client.post(f"{API}/signals", json=body)
        assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get(f"{API}/signals").json["signals"] == []
    assert client.post(f"{API}/signals/999999/revoke").status_code == 404


def test_an_escalation_keeps_what_the_ai_knew(client):
    first = _suggest(client, "Where is my refund?")
    signal = _signal(client, kind="escalated", suggestion_id=first["id"], payload={"group": "billing tier 2"})
    context = signal["payload"]["context"]
    assert context["intent"] == "refund_status" and context["draft"] == first["draft"]
    assert context["text"] == "Where is my refund?"


def test_a_signal_about_a_ticket_alone_is_stored_while_a_memory_is_loaded(client):
    """A signal naming only a ticket has no suggestion to read a customer's name from."""
    _suggest(client, "Where is my refund?")  # loads the tenant's memory in this process
    ticket = client.get(f"{API}/tickets?limit=1").json["tickets"][0]["id"]
    assert _signal(client, kind="reopened", ticket_id=ticket)["kind"] == "reopened"


def test_training_reads_labels_from_signals_and_ignores_revoked_ones(client, app, db):
    runtime = app.extensions["deskloop"]
    tickets = client.get(f"{API}/tickets?limit=50").json["tickets"]
    target = next(t for t in tickets if t["external_id"] == "card_arrival-0")
    suggestion = client.post(f"{API}/tickets/{target['id']}/suggestion").json
    relabel = _signal(client, kind="intent_changed", suggestion_id=suggestion["id"],
                      payload={"intent": "card_delivery"})
    retag = _signal(client, kind="tag_changed", ticket_id=target["id"], payload={"tags": ["cards", "delivery"]})
    tenant_id = db.tenant_id("acme")

    by_id = {t.ticket_id: t for t in load_training_tickets(runtime, tenant_id)[0]}
    assert by_id[target["id"]].intent == "card_delivery" and by_id[target["id"]].tags == ["cards", "delivery"]

    client.post(f"{API}/signals/{relabel['id']}/revoke")
    taught, max_signal_id = load_training_tickets(runtime, tenant_id)
    assert {t.ticket_id: t for t in taught}[target["id"]].intent == "card_arrival"
    assert max_signal_id == retag["id"]


def test_a_confirmed_answer_labels_a_ticket_no_agent_labelled_and_never_overrides_one(client, app, db):
    """An autonomous answer the customer confirmed is a right intent for a ticket no agent
    touched: without it, tickets resolved autonomously would never teach their intent."""
    from tests.factories import make_ticket

    runtime = app.extensions["deskloop"]
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket("auto-1", "My new card still has not arrived at home"),
                                            make_ticket("auto-2", "My card never arrived in the post")])
    tickets = {t["external_id"]: t for t in client.get(f"{API}/tickets?limit=100").json["tickets"]}
    first, second = tickets["auto-1"]["id"], tickets["auto-2"]["id"]
    answered = client.post(f"{API}/tickets/{first}/suggestion").json
    assert answered["intent"] == "card_arrival"
    before = {t.ticket_id: t for t in load_training_tickets(runtime, tenant_id)[0]}
    assert before[first].intent is None

    _signal(client, kind="confirmed", suggestion_id=answered["id"], actor="customer")
    other = client.post(f"{API}/tickets/{second}/suggestion").json
    _signal(client, kind="intent_changed", suggestion_id=other["id"], payload={"intent": "card_delivery"})
    _signal(client, kind="confirmed", suggestion_id=other["id"], actor="customer")
    after = {t.ticket_id: t for t in load_training_tickets(runtime, tenant_id)[0]}
    assert after[first].intent == "card_arrival"  # the confirmed answer's intent
    assert after[second].intent == "card_delivery"  # the agent's correction stands

    not_helpful = client.post(f"{API}/tickets/{first}/suggestion").json
    _signal(client, kind="not_helpful", suggestion_id=not_helpful["id"], actor="customer")
    assert {t.ticket_id: t for t in load_training_tickets(runtime, tenant_id)[0]}[first].intent == "card_arrival"
