"""Autonomous replies and safe handoff, through zenpy against the local Zendesk (SQLite and
PostgreSQL): an autonomous intent's ticket gets one public reply (never two, whatever is
re-delivered or re-run), shadow posts nothing, every handoff trigger leaves an internal note routed
to the intent's group, and the loop guards hold (machine-written mail, a person already on it, the
rate cap, the kill switch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.app import create_app
from core.autonomy.handoff import note_is_complete
from core.autonomy.policy import Mode, forget_policies
from core.autonomy.settings import configure, set_mode, set_paused
from core.dispatch import drains
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.training import train_tenant
from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, SignalRow
from core.store.tickets import upsert_tickets
from tests.factories import small_inbox
from tests.fake_api import serve
from tests.integrations.zendesk.fake_zendesk import fake, make_app
from tests.test_webhooks import CREDENTIALS, acme, at, deliver, fixture

ACTOR = "cli:tester"
API_USER = "900000000001"  # the Zendesk user Deskloop's credentials act as
CARD = "My new card still has not arrived"


@pytest.fixture
def zendesk():
    helpdesk = make_app(tickets=200)
    with serve(helpdesk) as url:
        yield url, fake(helpdesk)


@pytest.fixture
def app(settings, db, zendesk):
    """Acme with the small inbox learned, connected to the local Zendesk; card_arrival autonomous
    (threshold low enough for the small inbox's confidence), its handoffs routed to Order Support."""
    url, _ = zendesk
    forget_policies()
    forget_connections()
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    train_tenant(runtime, "acme")
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False, "api_url": url, "api_user_id": API_USER})
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR, threshold=0.3)
    configure(runtime, "acme", {"groups": {"card_arrival": "Order Support"}, "status_after_reply": "solved_on_confirm"},
              ACTOR)
    yield app
    drains.wait_idle()
    drains.cancel_timers()
    runtime.close()
    forget_connections()
    forget_policies()


def _new_ticket(client, ticket_id: str, text: str, event_id: str | None = None, subject: str = "Card") -> dict:
    created = at(fixture("ticket.created"), datetime.now(UTC) - timedelta(minutes=5),
                 event_id or f"created-{ticket_id}")
    created["detail"].update(id=ticket_id, subject=subject, description=text, tags=[])
    assert deliver(client, created).status_code == 200
    return created


def _comment(client, ticket_id: str, body: str, author: str, event_id: str) -> None:
    """A comment on the ticket: ``author`` customer, agent (a person) or deskloop (our own reply echoed)."""
    name = "ticket.comment_added.opening_comment" if author == "customer" else "ticket.comment_added.agent_reply"
    payload = at(fixture(name, variant=True), datetime.now(UTC), event_id)
    payload["detail"]["id"] = ticket_id
    payload["event"]["comment"].update(body=body, id=f"c-{event_id}")
    if author == "deskloop":
        payload["event"]["comment"]["author"]["id"] = API_USER
        payload["detail"]["actor_id"] = API_USER
    assert deliver(client, payload).status_code == 200


def _reopen(client, ticket_id: str) -> None:
    reopened = at(fixture("ticket.status_changed.reopened", variant=True), datetime.now(UTC), f"reopen-{ticket_id}")
    reopened["detail"]["id"] = ticket_id
    assert deliver(client, reopened).status_code == 200


def _replies(db) -> list[AutonomyReplyRow]:
    with acme(db) as session:
        return list(session.scalars(select(AutonomyReplyRow).order_by(AutonomyReplyRow.id)))


def _handoffs(db) -> list[AutonomyHandoffRow]:
    with acme(db) as session:
        return list(session.scalars(select(AutonomyHandoffRow).order_by(AutonomyHandoffRow.id)))


def _public(state, ticket_id: int) -> list[dict]:
    return [c for c in state.notes.get(ticket_id, []) if c.get("public")]


def _private(state, ticket_id: int) -> list[dict]:
    return [c for c in state.notes.get(ticket_id, []) if not c.get("public")]


def test_an_autonomous_intent_is_answered_once_and_shadow_posts_nothing(app, db, zendesk):
    runtime, client = app.extensions["deskloop"], app.test_client()
    _, state = zendesk
    set_mode(runtime, "acme", "refund_status", Mode.SHADOW, ACTOR)
    created = _new_ticket(client, "11", CARD)
    _new_ticket(client, "12", "Where is my refund?")
    [reply] = _replies(db)
    assert reply.state == "posted" and reply.kind == "answer" and reply.intent == "card_arrival"
    [posted] = _public(state, 11)
    assert posted["body"] == reply.body and "5 working days" in posted["body"]
    assert "deskloop-auto" in state.tags[11] and state.changes[11]["status"] == "pending"
    assert state.notes.get(12) is None and 12 not in state.changes  # shadow: recorded, never posted
    # Re-delivered (same id, and another id as a helpdesk resending it), and the job run again: no second post.
    deliver(client, created)
    deliver(client, at(created, datetime.now(UTC), "resent-11"))
    from core.autonomy.shadow import record_shadow
    assert record_shadow(runtime, "acme", "zendesk", "11") == "already recorded; already posted"
    assert len(_public(state, 11)) == 1 and len(_replies(db)) == 1
    # Our own reply echoed back by Zendesk is not an agent touching the ticket.
    _comment(client, "11", posted["body"], "deskloop", "echo-11")
    assert _handoffs(db) == []


def test_a_confirmation_solves_and_teaches(app, db, zendesk):
    client = app.test_client()
    _, state = zendesk
    _new_ticket(client, "21", CARD)
    _comment(client, "21", "Thanks, that worked!", "customer", "answer-21")
    [reply] = _replies(db)
    assert reply.outcome == "confirmed" and reply.solved_at is not None
    assert state.changes[21]["status"] == "solved" and _handoffs(db) == []
    with acme(db) as session:
        signal = session.scalar(select(SignalRow.kind).where(SignalRow.source_event == "autonomy:answer-21"))
    assert signal == "confirmed"


@pytest.mark.parametrize("answer, reason", [
    ("That didn't help, the card is still not here.", "negative_answer"),
    ("Can I speak to a real person please?", "asked_for_person"),
])
def test_a_negative_answer_or_a_request_for_a_person_hands_off(app, db, zendesk, answer, reason):
    client = app.test_client()
    _, state = zendesk
    _new_ticket(client, "31", CARD)
    _comment(client, "31", answer, "customer", "answer-31")
    [handoff] = _handoffs(db)
    assert handoff.reason == reason and handoff.state == "done" and handoff.group_name == "Order Support"
    [note] = _private(state, 31)
    assert note_is_complete(note["body"]) and "answered on its own" in note["body"]
    assert state.changes[31]["status"] == "open" and state.changes[31]["group_id"] == state.groups.ids["Order Support"]
    with acme(db) as session:
        kinds = set(session.scalars(select(SignalRow.kind)))
    assert "escalated" in kinds
    # The same answer delivered again hands off once.
    _comment(client, "31", answer, "customer", "answer-31")
    assert len(_handoffs(db)) == 1 and len(_private(state, 31)) == 1


def test_a_reopen_and_an_agent_touching_the_ticket_hand_off(app, db, zendesk):
    client = app.test_client()
    _, state = zendesk
    _new_ticket(client, "41", CARD)
    _reopen(client, "41")
    _new_ticket(client, "42", "When will my card be delivered?")
    _comment(client, "42", "Let me check this for you.", "agent", "agent-42")
    by_ticket = {h.reason: h for h in _handoffs(db)}
    assert set(by_ticket) == {"reopened", "agent_took_over"}
    assert by_ticket["agent_took_over"].group_name is None  # the agent keeps it: not re-routed
    assert "group_id" not in state.changes.get(42, {}) or state.changes[42].get("group_id") is None
    outcomes = {r.ticket_id: r.outcome for r in _replies(db)}
    assert sorted(outcomes.values()) == ["corrected", "reopened"]


def test_an_unsure_suggestion_is_handed_off_with_what_it_would_have_said(app, db, zendesk, monkeypatch):
    runtime, client = app.extensions["deskloop"], app.test_client()
    _, state = zendesk
    from core.autonomy import shadow

    real = shadow.suggest_for_ticket  # the small inbox's calibrated model is 100% sure of its own texts
    monkeypatch.setattr(shadow, "suggest_for_ticket",
                        lambda *a: real(*a).model_copy(update={"confidence": 0.62}))
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR, threshold=0.8)
    _new_ticket(client, "51", CARD)
    assert _replies(db) == [] and _public(state, 51) == []
    [handoff] = _handoffs(db)
    assert handoff.reason == "below_threshold" and note_is_complete(handoff.note)
    assert "would have answered" in handoff.note and "confidence 62% (autonomous replies need 80%)" in handoff.note
    [note] = _private(state, 51)
    assert note["body"] == handoff.note and state.changes[51]["status"] == "open"


def test_loop_guards(app, db, zendesk):
    runtime, client = app.extensions["deskloop"], app.test_client()
    _, state = zendesk
    _new_ticket(client, "61", "Automatic reply: I am out of the office until Monday", subject="Automatic reply: Card")
    assert _replies(db) == [] and _handoffs(db) == []  # an auto-reply is never answered
    configure(runtime, "acme", {"rate_per_hour": 1}, ACTOR)
    _new_ticket(client, "62", CARD)
    _new_ticket(client, "63", "I am still waiting for my card")
    assert [r.ticket_id for r in _replies(db)] and len(_public(state, 62)) == 1 and _public(state, 63) == []
    assert [h.reason for h in _handoffs(db)] == ["rate_cap"]
    configure(runtime, "acme", {"rate_per_hour": 30}, ACTOR)
    set_paused(runtime, "acme", True, ACTOR)
    _new_ticket(client, "64", CARD)
    assert _public(state, 64) == [] and len(_replies(db)) == 1  # the kill switch: shadow only


def test_a_helpdesk_refusal_is_never_retried_and_hands_off(app, db, zendesk):
    client = app.test_client()
    _, state = zendesk
    state.faults.add("/api/v2/tickets/71.json", 503, times=1)
    _new_ticket(client, "71", CARD)
    [reply] = _replies(db)
    assert reply.state == "failed" and reply.posted_at is None
    [handoff] = _handoffs(db)
    assert handoff.reason == "reply_failed" and handoff.state == "done"
    assert _public(state, 71) == []


def test_a_claim_left_by_a_dead_process_is_handed_off_not_posted_again(app, db, zendesk, monkeypatch):
    runtime = app.extensions["deskloop"]
    _, state = zendesk
    from core.autonomy import responder

    calls = []
    monkeypatch.setattr(responder, "_settle", lambda *a, **k: calls.append(a))  # the process "dies" after posting
    _new_ticket(app.test_client(), "81", CARD)
    monkeypatch.undo()
    [reply] = _replies(db)
    assert reply.state == "claimed" and len(_public(state, 81)) == 1
    from core.autonomy.shadow import record_shadow
    with db.transaction(db.tenant_id("acme")) as session:  # the claim is older than any run could take
        session.execute(AutonomyReplyRow.__table__.update().values(created_at=datetime.now(UTC) - timedelta(hours=1)))
    result = responder.answer_new_ticket(
        runtime, "acme", responder.ticket_facts(runtime, db.tenant_id("acme"), reply.ticket_id),
        _suggestion_for(runtime, reply))
    assert result.startswith("handed off: reply_unknown")
    assert len(_public(state, 81)) == 1 and _replies(db)[0].state == "unknown"
    assert record_shadow(runtime, "acme", "zendesk", "81") == "already recorded; already handed off"


def _suggestion_for(runtime, reply):
    from core.suggesting.suggest import suggest_for_ticket

    return suggest_for_ticket(runtime, "acme", reply.ticket_id)


def test_a_language_not_enabled_gets_the_holding_message_in_it_and_a_person(app, db, zendesk):
    runtime, client = app.extensions["deskloop"], app.test_client()
    _, state = zendesk
    _new_ticket(client, "91", "Meine neue Karte ist immer noch nicht angekommen. Wann wird sie geliefert?",
                subject="Karte")
    [holding] = _replies(db)
    assert holding.kind == "holding" and holding.language == "de" and holding.state == "posted"
    [posted] = _public(state, 91)
    assert posted["body"] == holding.body and "Team" in posted["body"]  # the shipped German holding message
    [handoff] = _handoffs(db)
    assert handoff.reason == "language" and handoff.language == "de" and note_is_complete(handoff.note)
    configure(runtime, "acme", {"languages": ["en", "de"], "holding_templates": {"fr": "Merci, un agent arrive."}},
              ACTOR)
    _new_ticket(client, "92", "Ma nouvelle carte n'est toujours pas arrivée, quand sera-t-elle livrée ?",
                subject="Carte")
    [french] = _public(state, 92)
    assert french["body"] == "Merci, un agent arrive."  # the tenant's own template


def test_a_reply_posted_whose_tag_then_fails_counts_as_posted(app, db, zendesk):
    client = app.test_client()
    _, state = zendesk
    state.faults.add("/api/v2/tickets/101/tags.json", 400, times=1)
    _new_ticket(client, "101", CARD)
    [reply] = _replies(db)
    assert reply.state == "posted" and reply.external_message_id and len(_public(state, 101)) == 1
    assert _handoffs(db) == []  # the customer has the answer: nothing to hand off


def test_a_handoff_the_helpdesk_refused_is_tried_again_when_the_job_runs_again(app, db, zendesk, monkeypatch):
    runtime, client = app.extensions["deskloop"], app.test_client()
    _, state = zendesk
    from core.autonomy import shadow
    from core.autonomy.shadow import record_shadow

    real = shadow.suggest_for_ticket
    monkeypatch.setattr(shadow, "suggest_for_ticket", lambda *a: real(*a).model_copy(update={"confidence": 0.5}))
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR, threshold=0.8)
    state.faults.add("/api/v2/tickets/111.json", 503, times=1)  # the note's PUT is refused once
    _new_ticket(client, "111", CARD)  # the job fails: the outbox queues it again later
    [handoff] = _handoffs(db)
    assert handoff.state == "failed" and "503" in handoff.error and _private(state, 111) == []
    assert record_shadow(runtime, "acme", "zendesk", "111") == "already recorded; handed off: below_threshold"
    [handoff] = _handoffs(db)
    assert handoff.state == "done" and len(_private(state, 111)) == 1 and _public(state, 111) == []
    assert record_shadow(runtime, "acme", "zendesk", "111") == "already recorded; already handed off"
    assert len(_private(state, 111)) == 1


def test_a_reply_sent_from_a_panel_is_a_person_taking_over(app, db, zendesk):
    """The Intercom inbox app's Send posts through the API, and Intercom marks what an app posts, so
    its echo looks like Deskloop's own: the send itself hands the ticket to the person."""
    from core.panel.suggestions import record_sent

    client = app.test_client()
    runtime = app.extensions["deskloop"]
    _new_ticket(client, "43", CARD)
    [answered] = [r for r in _replies(db) if r.state == "posted"]
    signal, created = record_sent(runtime, "acme", "zendesk-panel", answered.suggestion_id,
                                  "I have looked at your card order myself.", actor="agent-7")
    assert created and signal.ticket_id == answered.ticket_id
    [handoff] = _handoffs(db)
    assert handoff.reason == "agent_took_over" and handoff.ticket_id == answered.ticket_id
    _comment(client, "43", "I have looked at your card order myself.", "agent", "agent-43")
    _comment(client, "43", "Thanks, that worked!", "customer", "customer-43")
    assert len(_handoffs(db)) == 1  # the echo and the customer's answer find it with a person
    assert {r.outcome for r in _replies(db)} == {"corrected"}
