"""``bench/widget_deflection.py`` in its ``--quick`` mode: the figures it reads back from the store
agree with what its simulated customers did, they add up, a session never files twice, and the
"within a day" window is a day. Runs on SQLite and PostgreSQL, as the bench does (``--database-url``)."""

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


def test_the_store_figures_add_up_match_the_customers_and_count_a_day(quick, db):
    _, args, result = quick
    for kind in ("all", *bench.KINDS):
        figures, tally = bench.derived(result[kind]["figures"]), result[kind]["tally"]
        assert {k: figures[k] for k in tally} == tally  # the store holds what the simulation did, no more, no less
    figures = bench.derived(result["all"]["figures"])
    parts = [bench.derived(result[kind]["figures"]) for kind in bench.KINDS]
    assert all(parts[0][k] + parts[1][k] == figures[k] for k in figures)  # the kinds split every session
    assert min(part["asked"] for part in parts) > 0
    assert figures["asked"] > 30 and 0 < figures["answered"] <= figures["asked"]
    assert figures["asked"] == figures["answered"] + figures["unknown"]
    assert figures["helpful"] <= figures["right"] <= figures["answered"]
    assert figures["not_helpful"] == figures["answered"] - figures["right"]  # every wrong answer says so
    assert figures["guides_completed"] + figures["guides_abandoned"] == figures["guides_offered"]
    assert figures["guides_completed"] > 0 and figures["guides_abandoned"] > 0  # the guide path ran
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
    [asked_line] = [line for line in printed.splitlines() if line.strip().startswith("questions asked")]
    assert asked_line.split()[2] == f"{figures['asked']:.1f}" and "answered right" in printed
    an_email_counts_against_an_answer_only_within_a_day(quick, db)


def _email(db, tenant_id, customer, at):
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [Ticket(
            source="email", external_id=f"late-{customer}-{at.timestamp()}", status="new",
            messages=[Message(author_role="customer", body="Still stuck.", created_at=at)],
            requester=Person(external_id=customer), created_at=at, updated_at=at)])


def an_email_counts_against_an_answer_only_within_a_day(quick, db):
    """After the checks above (the quick run takes a minute: one run serves both)."""
    app, _, result = quick
    tenant_id = db.tenant_id("deflection-0")
    with db.tenant_session(tenant_id) as session:
        quiet = session.scalars(select(WidgetSessionRow).where(
            WidgetSessionRow.abstained.is_(False), WidgetSessionRow.ticket_external_id.is_(None))).all()
        emailed = set(session.scalars(select(TicketRow.requester_external_id).where(TicketRow.source == "email")))
    row = next(r for r in quiet if r.user_id not in emailed)
    world = bench.World(app, "deflection-0", tenant_id, "", "")
    before = bench.measured(world)["answered_then_ticket_within_a_day"]
    assert before == result["all"]["figures"]["answered_then_ticket_within_a_day"]
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) + timedelta(hours=25))
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) - timedelta(hours=1))
    assert bench.measured(world)["answered_then_ticket_within_a_day"] == before
    _email(db, tenant_id, row.user_id, aware_utc(row.created_at) + timedelta(hours=23))
    assert bench.measured(world)["answered_then_ticket_within_a_day"] == before + 1


class _Draws(random.Random):
    """Draws that always give ``value``: below every probability (0) or above it (0.99)."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


LOST, GOES_ON = _Draws(0.0), _Draws(0.99)


def _step(text, selector=None, page=None, names=None):
    return {"text": text, "names": names or [text], "selector": selector, "on_page": selector is not None,
            "page": page}


def test_the_simulated_customer_follows_a_guide_as_documented():
    export, csv = _step("Export", "#export"), _step("CSV")
    assert bench.follow_guide(None, "analytics", True, LOST) is None
    assert bench.follow_guide({"steps": []}, "analytics", True, LOST) is None
    # clicking Export shows its menu, where CSV is; without that click CSV is nowhere
    assert bench.follow_guide({"steps": [export, csv]}, "analytics", True, LOST) == ("completed", 1, [])
    assert bench.follow_guide({"steps": [csv]}, "analytics", True, LOST) == ("abandoned", 0, [])
    assert bench.follow_guide({"steps": [csv]}, "analytics", True, GOES_ON) == ("completed", 0, [])
    # a link leads to its page: Settings, then the Preferences tab there
    settings = {"steps": [_step("Settings", "#nav-settings"), _step("Preferences")]}
    assert bench.follow_guide(settings, "analytics", True, LOST) == ("completed", 1, [])
    # a step naming another page: the customer goes there and finds it under a longer name
    elsewhere = _step("currency", page="/settings/preferences")
    assert bench.follow_guide({"steps": [elsewhere]}, "dashboard", True, LOST) == (
        "completed", 0, [{"step": 0, "text": "Display currency"}])
    missing_there = _step("Danger zone", page="/settings/preferences")
    assert bench.follow_guide({"steps": [missing_there]}, "dashboard", True, LOST) == ("abandoned", 0, [])
    # a wrong answer's guide is abandoned at once
    assert bench.follow_guide({"steps": [export, csv]}, "analytics", False, GOES_ON) == ("abandoned", 0, [])


def test_the_command_prints_a_table_or_json_and_refuses_bad_options(capsys):
    with pytest.raises(SystemExit) as refused:
        bench.parse(["--seeds", "0"])
    assert refused.value.code == 2 and "--seeds" in capsys.readouterr().err
    assert bench.main(["--quick", "--json", "--sessions", "8"]) == 0
    printed = json.loads(capsys.readouterr().out)
    [seed] = printed["seeds"]
    assert seed["all"]["figures"]["asked"] == 8 and printed["customer"]["p_helpful"] == bench.P_HELPFUL
    assert seed["all"]["figures"]["deflected"] == 8 - seed["all"]["figures"]["tickets"]
