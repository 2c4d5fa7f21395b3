"""``bench/widget_deflection.py`` in its ``--quick`` mode: the figures it reads back from the store
agree with what its simulated customers did, they add up, a session never files twice, and the
"within a day" window is a day. Runs on SQLite and PostgreSQL (the bench's ``--database-url``)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bench import widget_deflection as bench
from core.app import create_app
from core.clock import aware_utc
from core.store.tables import TicketRow, WidgetSessionRow
from core.store.tickets import upsert_tickets
from core.types import Message, Person, Ticket


@pytest.fixture
def quick(settings, db):
    """The quick bench run on the test's database; yields (app, args, its one seed's result)."""
    args = bench.parse(["--quick"])
    app = create_app(bench.bench_settings(settings, args.encoder))
    [result] = bench.simulate(app, args)
    yield app, args, result
    app.extensions["deskloop"].close()


def test_the_figures_read_from_the_store_add_up_and_match_what_the_customers_did(quick, db):
    _, args, result = quick
    figures, tally = bench.derived(result["figures"]), result["tally"]
    assert {k: figures[k] for k in tally} == tally  # the store holds what the simulation did, no more, no less
    assert figures["asked"] > 30 and 0 < figures["answered"] <= figures["asked"]
    assert figures["asked"] == figures["answered"] + figures["unknown"]
    assert figures["helpful"] <= figures["right"] <= figures["answered"]
    assert figures["not_helpful"] == figures["answered"] - figures["right"]  # every wrong answer says so
    assert figures["guides_completed"] + figures["guides_abandoned"] == figures["guides_offered"]
    assert figures["tickets_after_not_helpful"] <= figures["not_helpful"]
    assert figures["tickets_after_unknown"] <= figures["unknown"]
    assert figures["tickets_after_right"] <= figures["right"]
    assert figures["filed_twice"] == 0
    assert figures["answered_then_ticket_within_a_day"] == (figures["tickets_after_not_helpful"]
                                                           + figures["tickets_after_right"])
    assert figures["deflected"] + figures["tickets"] == figures["asked"]
    tenant_id = db.tenant_id("deflection-0")
    with db.tenant_session(tenant_id) as session:
        widget_tickets = session.scalar(select(func.count(TicketRow.id)).where(TicketRow.source == "widget"))
        emails = session.scalar(select(func.count(TicketRow.id)).where(TicketRow.source == "email",
                                                                       TicketRow.status == "new"))
        filed_sessions = session.scalar(select(func.count(WidgetSessionRow.id)).where(
            WidgetSessionRow.ticket_external_id.is_not(None)))
    assert widget_tickets == filed_sessions == figures["tickets_after_not_helpful"] + figures["tickets_after_unknown"]
    assert emails == figures["tickets_after_right"]
    printed = bench.table([result], args)
    assert f"questions asked{' ' * 25}{figures['asked']:>10.1f}" in printed and "answered right" in printed


def _email(db, tenant_id, customer, at):
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [Ticket(
            source="email", external_id=f"late-{customer}-{at.timestamp()}", status="new",
            messages=[Message(author_role="customer", body="Still stuck.", created_at=at)],
            requester=Person(external_id=customer), created_at=at, updated_at=at)])


def test_an_email_counts_against_an_answer_only_within_a_day(quick, db):
    app, _, result = quick
    tenant_id = db.tenant_id("deflection-0")
    with db.tenant_session(tenant_id) as session:
        quiet = session.scalars(select(WidgetSessionRow).where(
            WidgetSessionRow.abstained.is_(False), WidgetSessionRow.ticket_external_id.is_(None))).all()
        emailed = set(session.scalars(select(TicketRow.requester_external_id).where(TicketRow.source == "email")))
    row = next(r for r in quiet if r.user_id not in emailed)
    world = bench.World(app, "deflection-0", tenant_id, "", "")
    before = bench.measured(world)["answered_then_ticket_within_a_day"]
    assert before == result["figures"]["answered_then_ticket_within_a_day"]
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) + timedelta(hours=25))
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) - timedelta(hours=1))
    assert bench.measured(world)["answered_then_ticket_within_a_day"] == before
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) + timedelta(hours=23))
    assert bench.measured(world)["answered_then_ticket_within_a_day"] == before + 1


class _Always(random.Random):
    """A draw below every probability: the customer abandons whenever lost."""

    def random(self) -> float:
        return 0.0


def test_the_simulated_customer_follows_a_guide_as_documented():
    found = {"text": "Click Export", "selector": "#export", "on_page": True, "page": None}
    elsewhere = {"text": "Pick your display currency", "selector": "#display-currency", "on_page": False,
                 "page": "/settings/preferences"}
    missing_there = {**elsewhere, "selector": "#no-such-thing"}
    nowhere = {"text": "Open Danger zone", "selector": None, "on_page": False, "page": None}
    assert bench.follow_guide(None, True, _Always()) is None
    assert bench.follow_guide({"steps": []}, True, _Always()) is None
    assert bench.follow_guide({"steps": [found, elsewhere]}, True, _Always()) == ("completed", 1)
    assert bench.follow_guide({"steps": [found, missing_there]}, True, _Always()) == ("abandoned", 1)
    assert bench.follow_guide({"steps": [nowhere, found]}, True, _Always()) == ("abandoned", 0)
    assert bench.follow_guide({"steps": [found, nowhere]}, True, random.Random(0)) in {("completed", 1),
                                                                                      ("abandoned", 1)}
    assert bench.follow_guide({"steps": [found, elsewhere]}, False, _Always()) == ("abandoned", 0)


def test_the_command_prints_a_table_or_json_and_refuses_bad_options(capsys):
    with pytest.raises(SystemExit) as refused:
        bench.parse(["--seeds", "0"])
    assert refused.value.code == 2 and "--seeds" in capsys.readouterr().err
    assert bench.main(["--quick", "--json", "--sessions", "8"]) == 0
    printed = json.loads(capsys.readouterr().out)
    [seed] = printed["seeds"]
    assert seed["figures"]["asked"] == 8 and printed["customer"]["p_helpful"] == bench.P_HELPFUL
