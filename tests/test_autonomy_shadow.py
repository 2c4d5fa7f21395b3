"""Shadow mode live: a new ticket of an intent in shadow gets the reply Deskloop would have sent,
stored once and never posted; the agent's reply judges it (the backtest's rule); a reopen or a bad
rating turns it wrong; the API and the CLI report precision with its Wilson lower bound and
recommend an intent only on enough evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.app import create_app
from core.autonomy.judging import wilson_lower
from core.autonomy.policy import Mode, forget_policies
from core.autonomy.settings import set_mode, set_target_precision
from core.autonomy.shadow import record_outcome, record_shadow
from core.autonomy.shadow_report import MIN_COMPARED
from core.cli import main
from core.dispatch import drains
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.training import train_tenant
from core.store.tables import AutonomyShadowRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import make_ticket, small_inbox
from tests.test_webhooks import CREDENTIALS, acme, at, deliver, fixture

ACTOR = "cli:tester"


@pytest.fixture
def app(settings, db):
    """Acme with the small inbox learned, connected to Zendesk with write-back off (shadow mode
    must not need it)."""
    forget_policies()
    forget_connections()
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    train_tenant(runtime, "acme")
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", CREDENTIALS, {"write_back_tags": False})
    yield app
    drains.wait_idle()
    drains.cancel_timers()
    runtime.close()
    forget_connections()
    forget_policies()


def _new_ticket(client, ticket_id: str, text: str, event_id: str | None = None) -> dict:
    created = at(fixture("ticket.created"), datetime.now(UTC) - timedelta(hours=1), event_id or f"created-{ticket_id}")
    created["detail"].update(id=ticket_id, subject="Card", description=text, tags=[])
    assert deliver(client, created).status_code == 200
    return created


def _agent_reply(client, ticket_id: str, body: str) -> None:
    reply = at(fixture("ticket.comment_added.agent_reply", variant=True), datetime.now(UTC), f"reply-{ticket_id}")
    reply["detail"]["id"] = ticket_id
    reply["event"]["comment"]["body"] = body
    assert deliver(client, reply).status_code == 200


def _shadow_rows(db) -> list[AutonomyShadowRow]:
    with acme(db) as session:
        return list(session.scalars(select(AutonomyShadowRow).order_by(AutonomyShadowRow.id)))


def test_a_ticket_of_an_intent_in_shadow_gets_one_stored_reply_and_one_off_gets_none(app, db):
    runtime, client = app.extensions["deskloop"], app.test_client()
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    set_mode(runtime, "acme", "refund_status", Mode.OFF, ACTOR)
    created = _new_ticket(client, "901", "My new card still has not arrived")
    _new_ticket(client, "902", "Where is my refund?")
    with acme(db) as session:  # both arrived; only the intent in shadow has a reply stored
        assert {"901", "902"} <= set(session.scalars(select(TicketRow.external_id)))
    [row] = _shadow_rows(db)
    assert row.intent == "card_arrival" and row.mode == "shadow" and not row.abstained
    assert row.draft and "5 working days" in row.draft and row.model_version and 0 < row.confidence <= 1
    assert row.compared_at is None and row.right is None
    # The event delivered again (another id too, as a helpdesk resending it would) adds no row.
    assert deliver(client, created).status_code == 200
    assert deliver(client, at(created, datetime.now(UTC), "resent-901")).status_code == 200
    assert len(_shadow_rows(db)) == 1


def test_the_agents_reply_judges_the_shadow_reply_and_a_reopen_turns_it_wrong(app, db):
    runtime, client = app.extensions["deskloop"], app.test_client()
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    _new_ticket(client, "911", "My new card still has not arrived")
    _new_ticket(client, "912", "When will my card be delivered?")
    first, second = _shadow_rows(db)
    _agent_reply(client, "911", first.draft)  # the agent sent what Deskloop would have
    _agent_reply(client, "912", "We have blocked your card for your safety; please call us.")
    first, second = _shadow_rows(db)
    assert first.similarity == 1.0 and first.intent_right and first.right is True
    assert second.similarity < 0.8 and second.right is False
    reopened = at(fixture("ticket.status_changed.reopened", variant=True), datetime.now(UTC), "reopen-911")
    reopened["detail"]["id"] = "911"
    assert deliver(client, reopened).status_code == 200
    first, _ = _shadow_rows(db)
    assert first.reopened and first.right is False


def test_a_bad_rating_turns_a_right_reply_wrong_and_a_good_one_does_not(app, db):
    runtime, client = app.extensions["deskloop"], app.test_client()
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    _new_ticket(client, "921", "I am still waiting for my card")
    [row] = _shadow_rows(db)
    assert row.mode == "shadow"
    _agent_reply(client, "921", row.draft)
    assert not record_outcome(runtime, "acme", "zendesk", "921", csat_score=5)
    assert _shadow_rows(db)[0].right is True
    assert record_outcome(runtime, "acme", "zendesk", "921", csat_score=1)
    [row] = _shadow_rows(db)
    assert row.bad_csat and row.right is False


def test_a_shadow_job_that_runs_late_catches_up_with_the_agents_reply(app, db):
    """With a queue, the job can run after the agent already answered (and the customer came back)."""
    runtime, client = app.extensions["deskloop"], app.test_client()
    _new_ticket(client, "931", "How long does card delivery take?")  # no intent in shadow yet: not queued
    _agent_reply(client, "931", "Hi, cards arrive within 5 working days. You can track delivery under Cards > Track.")
    assert _shadow_rows(db) == []
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    assert record_shadow(runtime, "acme", "zendesk", "931").startswith("shadow reply recorded")
    [row] = _shadow_rows(db)
    assert row.compared_at is not None and row.similarity > 0.8 and row.right is True
    reopened = at(fixture("ticket.status_changed.reopened", variant=True), datetime.now(UTC), "reopen-931")
    reopened["detail"]["id"] = "931"
    assert deliver(client, reopened).status_code == 200
    assert _shadow_rows(db)[0].right is False
    assert record_shadow(runtime, "acme", "zendesk", "931") == "already recorded"


def _evidence(db, counts: dict[str, tuple[int, int]]) -> None:
    """Shadow rows per intent: (compared, right), on tickets of their own."""
    tenant_id = db.tenant_id("acme")
    tickets = [make_ticket(f"s-{intent}-{i}", "a question", created=datetime.now(UTC))
               for intent, (n, _) in counts.items() for i in range(n)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
        ids = {e: i for e, i in session.execute(select(TicketRow.external_id, TicketRow.id))}
        for intent, (n, right) in counts.items():
            for i in range(n):
                session.add(AutonomyShadowRow(
                    tenant_id=tenant_id, ticket_id=ids[f"s-{intent}-{i}"], intent=intent, mode="shadow",
                    confidence=0.9, abstained=False, draft="Hi, here is the answer.", model_version="v1",
                    compared_at=datetime.now(UTC), similarity=1.0 if i < right else 0.3, intent_right=True,
                    reopened=False, bad_csat=False, right=i < right))


def test_the_api_reports_precision_its_bound_and_recommends_only_on_enough_evidence(app, db):
    runtime = app.extensions["deskloop"]
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    set_target_precision(runtime, "acme", 0.9, ACTOR)
    _evidence(db, {"card_arrival": (40, 40), "refund_status": (40, 30), "password_reset": (MIN_COMPARED - 1,
                                                                                           MIN_COMPARED - 1)})
    answer = authorized_client(app, scopes=("read",), tenant="acme").get("/api/v1/tenants/acme/autonomy/shadow")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["target_precision"] == 0.9 and body["min_compared"] == MIN_COMPARED
    rows = {r["intent"]: r for r in body["intents"]}
    card, refund, password = rows["card_arrival"], rows["refund_status"], rows["password_reset"]
    assert card["mode"] == "shadow" and refund["mode"] == "off"
    assert card["compared"] == 40 and card["right"] == 40 and card["precision"] == 1.0
    assert card["precision_lower_bound"] == pytest.approx(wilson_lower(40, 40), abs=1e-4)
    assert card["precision_lower_bound"] >= 0.9
    assert card["recommend_autonomous"] is True
    assert refund["precision"] == 0.75 and refund["recommend_autonomous"] is False
    # Every reply right, but too few of them: a bound over a handful of tickets is not evidence.
    assert password["precision"] == 1.0 and password["recommend_autonomous"] is False


def test_another_tenants_token_and_a_token_without_read_are_refused(app, db):
    db.ensure_tenant("globex")
    _evidence(db, {"card_arrival": (3, 3)})
    outsider = authorized_client(app, scopes=("read",), tenant="globex")
    assert outsider.get("/api/v1/tenants/acme/autonomy/shadow").status_code == 404
    assert outsider.get("/api/v1/tenants/globex/autonomy/shadow").get_json()["intents"] == []
    assert authorized_client(app, scopes=("suggest",)).get("/api/v1/tenants/acme/autonomy/shadow").status_code == 403
    assert app.test_client().get("/api/v1/tenants/acme/autonomy/shadow").status_code == 401
    assert authorized_client(app, scopes=("read",)).get("/api/v1/tenants/nobody/autonomy/shadow").status_code == 404
    # The rows themselves are in Acme's scope only.
    with db.tenant_session(db.tenant_id("globex")) as session:
        assert session.scalars(select(AutonomyShadowRow)).all() == []


def test_the_cli_prints_the_same_and_refuses_an_unknown_tenant(app, db, settings, monkeypatch):
    runtime = app.extensions["deskloop"]
    set_target_precision(runtime, "acme", 0.9, ACTOR)
    _evidence(db, {"card_arrival": (40, 40), "refund_status": (40, 30)})
    runner = CliRunner()
    text = runner.invoke(main, ["autonomy", "shadow", "--tenant", "acme"], catch_exceptions=False)
    assert text.exit_code == 0, text.output
    lines = {line.split()[0]: line for line in text.output.splitlines()[2:]}
    assert lines["card_arrival"].rstrip().endswith("yes") and lines["refund_status"].rstrip().endswith("no")
    as_json = runner.invoke(main, ["autonomy", "shadow", "--tenant", "acme", "--json"], catch_exceptions=False)
    rows = {r["intent"]: r for r in json.loads(as_json.output)["intents"]}
    assert rows["card_arrival"]["recommend_autonomous"] and rows["refund_status"]["precision"] == 0.75
    unknown = runner.invoke(main, ["autonomy", "shadow", "--tenant", "nobody"], catch_exceptions=False)
    assert unknown.exit_code == 2 and "nobody" in unknown.output
