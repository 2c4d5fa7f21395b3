"""Tag aliases: merges rewrite history and later imports; suggestions change nothing unless confirmed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import core.commands.taxonomy as taxonomy_cli
from core.cli import main
from core.store.tables import TicketRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def labels(db, tenant: str) -> dict[str, tuple[list[str], str | None]]:
    with db.tenant_session(db.tenant_id(tenant)) as session:
        return {r.external_id: (r.tags, r.intent)
                for r in session.execute(select(TicketRow.external_id, TicketRow.tags, TicketRow.intent))}


def seed(db, tenant: str, tickets) -> None:
    tenant_id = db.ensure_tenant(tenant)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets, {})


def test_merge_rewrites_existing_tickets_and_maps_later_imports(db, tmp_path):
    seed(db, "acme", [make_ticket("1", "charged twice", "payments", tags=["payments", "urgent"]),
                      make_ticket("2", "invoice wrong", "billing", tags=["billing"]),
                      make_ticket("3", "card lost", "lost_card", tags=["card"])])
    result = run("taxonomy", "merge", "payments", "billing", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "merged 'payments' into 'billing': 1 tickets changed" in result.output
    assert labels(db, "acme") == {"1": (["billing", "urgent"], "billing"), "2": (["billing"], "billing"),
                                  "3": (["card"], "lost_card")}

    path = tmp_path / "later.jsonl"
    path.write_text(json.dumps({"external_id": "4", "tags": ["Payments"], "intent": "payments",
                                "messages": [{"author_role": "customer", "body": "refund my fee"}]}) + "\n")
    assert run("import", str(path), "--tenant", "acme").exit_code == 0
    assert labels(db, "acme")["4"] == (["billing"], "billing")

    listing = run("taxonomy", "list", "--tenant", "acme")
    assert "payments" in listing.output and "billing" in listing.output


def test_chains_resolve_and_cycles_are_refused(db):
    seed(db, "acme", [make_ticket("1", "a", tags=["pay"]), make_ticket("2", "b", tags=["payments"])])
    assert run("taxonomy", "merge", "pay", "payments", "--tenant", "acme").exit_code == 0
    assert run("taxonomy", "merge", "payments", "billing", "--tenant", "acme").exit_code == 0
    assert {tags[0] for tags, _ in labels(db, "acme").values()} == {"billing"}

    refused = run("taxonomy", "merge", "billing", "pay", "--tenant", "acme")
    assert refused.exit_code == 2
    assert "cycle" in refused.output
    same = run("taxonomy", "merge", "billing", "Billing", "--tenant", "acme")
    assert same.exit_code == 2
    assert {tags[0] for tags, _ in labels(db, "acme").values()} == {"billing"}


def _inbox():
    """Near-identical billing tickets split between two tags, plus unrelated topics and an orthogonal tag."""
    tickets = []
    for i in range(12):
        tag = "billing" if i % 2 else "payments"
        extra = ["urgent"] if i % 3 == 0 else []
        tickets.append(make_ticket(f"b{i}", f"I was charged twice for my subscription this month, invoice {1000 + i}",
                                   tags=[tag, *extra]))
    for i in range(8):
        tickets.append(make_ticket(f"l{i}", f"I cannot log in to my account, the password reset link is broken {i}",
                                   tags=["login", *(["urgent"] if i % 2 else [])]))
    for i in range(8):
        tickets.append(make_ticket(f"r{i}", f"Where is the refund for my returned order number {500 + i}",
                                   tags=["refund"]))
    return tickets


def test_suggest_finds_the_planted_pair_and_changes_nothing_by_itself(db):
    seed(db, "acme", _inbox())
    before = labels(db, "acme")
    shown = run("taxonomy", "suggest", "--tenant", "acme")
    assert shown.exit_code == 0, shown.output
    assert "payments" in shown.output and "billing" in shown.output
    assert "refund" not in shown.output and "login" not in shown.output and "urgent" not in shown.output
    no_tty = run("taxonomy", "suggest", "--tenant", "acme", "--apply")
    assert "nothing applied" in no_tty.output
    assert labels(db, "acme") == before


@pytest.mark.parametrize(("answer", "merged"), [("n\n", False), ("y\n", True)])
def test_suggest_applies_only_what_is_confirmed(db, monkeypatch, answer, merged):
    seed(db, "acme", _inbox())
    monkeypatch.setattr(taxonomy_cli, "_interactive", lambda: True)
    result = run("taxonomy", "suggest", "--tenant", "acme", "--apply", input=answer)
    assert result.exit_code == 0, result.output
    names = {tag for tags, _ in labels(db, "acme").values() for tag in tags}
    assert ("payments" in names) is not merged and "billing" in names


def test_suggest_with_yes_applies_every_pair_shown(db):
    seed(db, "acme", _inbox())
    result = run("taxonomy", "suggest", "--tenant", "acme", "--apply", "--yes")
    assert "merged 'payments' into 'billing'" in result.output or "merged 'billing' into 'payments'" in result.output
    names = {tag for tags, _ in labels(db, "acme").values() for tag in tags}
    assert len(names & {"payments", "billing"}) == 1
    assert {"login", "refund", "urgent"} <= names
