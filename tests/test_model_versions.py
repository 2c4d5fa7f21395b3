"""Model versions: a retrain is promoted only when it is not worse on the newest tickets; versions
are listed, rolled back, and a bad batch of corrections is caught by the promotion check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from core.cli import main
from core.learning.feedback import record_signal
from core.learning.training import registry_for
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from core.types import Signal
from tests.factories import NAMES, SMALL_INBOX, make_ticket


def _add_rounds(db, first_round: int, rounds: int) -> None:
    """``rounds`` more copies of the small inbox, newer than everything before, labelled right."""
    tenant_id = db.ensure_tenant("acme")
    start = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=first_round)
    tickets = []
    for r in range(first_round, first_round + rounds):
        for intent, (texts, reply) in SMALL_INBOX.items():
            for i, text in enumerate(texts):
                name = NAMES[(i + r) % len(NAMES)]
                tickets.append(make_ticket(f"{intent}-{r}-{i}", f"{text} (case {r})", intent,
                                           reply.format(name=name.split()[0]), name,
                                           start + timedelta(minutes=len(tickets))))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)


def _run(*args):
    return CliRunner().invoke(main, list(args))


def test_retrains_are_judged_on_the_newest_tickets_and_can_be_rolled_back(settings, db):
    _add_rounds(db, 0, 6)
    first = _run("train", "--tenant", "acme")
    assert first.exit_code == 0 and "first model" in first.output, first.output

    nothing_new = _run("train", "--tenant", "acme")
    assert nothing_new.exit_code == 0 and "kept the model in service" in nothing_new.output
    assert "only 0 labelled tickets" in nothing_new.output

    _add_rounds(db, 6, 4)
    better = _run("train", "--tenant", "acme")
    assert better.exit_code == 0 and "not worse than the one in service" in better.output, better.output

    listed = json.loads(_run("models", "--tenant", "acme", "--json").output)
    versions = [v["version"] for v in listed["versions"]]
    assert len(versions) == 2 and listed["current"] == versions[1]
    assert listed["versions"][1]["promotion"]["holdout"] == 30
    assert listed["versions"][0]["libraries"]["scikit-learn"] and listed["versions"][0]["sha256"]
    assert listed["refused"][0]["reason"].startswith("only 0 labelled tickets")

    rolled = _run("models", "rollback", "--tenant", "acme", versions[0])
    assert rolled.exit_code == 0 and registry_for(Runtime(settings), "acme").current_version() == versions[0]
    assert _run("models", "rollback", "--tenant", "acme", "19990101T000000-abcdef").exit_code == 2

    text = _run("models", "--tenant", "acme").output
    assert f"* {versions[0]}" in text and "refused" in text


def test_a_bad_batch_of_corrections_is_refused_and_revoking_it_lets_the_retrain_through(settings, db):
    _add_rounds(db, 0, 6)
    assert _run("train", "--tenant", "acme").exit_code == 0
    runtime = Runtime(settings)
    tenant_id = db.tenant_id("acme")
    from sqlalchemy import select

    from core.store.tables import TicketRow

    with db.tenant_session(tenant_id) as session:
        card_tickets = session.scalars(select(TicketRow.id).where(TicketRow.intent == "card_arrival")).all()
    bad = [record_signal(runtime, "acme", Signal(kind="intent_changed", ticket_id=ticket_id, actor="careless",
                                                 payload={"intent": "refund_status"}))[0] for ticket_id in card_tickets]
    _add_rounds(db, 6, 4)

    refused = _run("train", "--tenant", "acme")
    assert refused.exit_code == 0 and "worse than the one in service" in refused.output, refused.output
    assert len(registry_for(runtime, "acme").versions()) == 1

    for signal in bad:
        assert _run("signals", "revoke", "--tenant", "acme", str(signal.id)).exit_code == 0
    promoted = _run("train", "--tenant", "acme")
    assert "not worse" in promoted.output, promoted.output

    audit = json.loads(_run("signals", "--tenant", "acme", "--json", "--limit", "500").output)["signals"]
    assert len(audit) == len(bad) and all(s["revoked_at"] and s["trained_in"] is None for s in audit)
    assert _run("signals", "revoke", "--tenant", "acme", "999999").exit_code == 2
    runtime.close()


def test_signals_name_the_version_that_learned_them(settings, db):
    _add_rounds(db, 0, 6)
    assert _run("train", "--tenant", "acme").exit_code == 0
    runtime = Runtime(settings)
    with db.tenant_session(db.tenant_id("acme")) as session:
        from sqlalchemy import select

        from core.store.tables import TicketRow

        ticket_id = session.scalar(select(TicketRow.id).limit(1))
    signal, _ = record_signal(runtime, "acme", Signal(kind="tag_changed", ticket_id=ticket_id, actor="sam",
                                                      payload={"tags": ["vip"]}))
    listed = _run("signals", "--tenant", "acme")
    assert f"#{signal.id}" in listed.output and "tag_changed" in listed.output and "vip" in listed.output
    _add_rounds(db, 6, 4)
    assert _run("train", "--tenant", "acme").exit_code == 0
    audit = json.loads(_run("signals", "--tenant", "acme", "--json").output)["signals"]
    assert audit[0]["trained_in"] == registry_for(runtime, "acme").current_version()
    runtime.close()


def test_a_tenant_without_tickets_is_refused_not_crashed(settings, db):
    """The scheduler retrains every tenant, including one connected a moment ago: that is a refusal
    with a reason, never an exception in the worker."""
    from core.background.tasks import train_tenant as train_job

    db.ensure_tenant("fresh")
    Runtime(settings)
    result = train_job("fresh")
    assert result["promoted"] is False and result["reason"] == "no tickets to learn from yet"
    assert registry_for(Runtime(settings), "fresh").current_version() is None
    refused = _run("train", "--tenant", "fresh")
    assert "no tickets to learn from yet" in refused.output
