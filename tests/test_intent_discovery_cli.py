"""`deskloop intents discover|list|accept|rename|merge|split` on a history with no labels at all,
then training from the accepted intents; bad input exits 2 and changes nothing."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.demo.helpdesk_shaped import generate_helpdesk_history
from core.runtime import Runtime
from core.store.tables import IntentProposalRow, TicketRow

END = date(2026, 11, 1)


def _run(*args):
    return CliRunner().invoke(main, list(args))


def _proposals(settings) -> list[tuple[str, str, int]]:
    runtime = Runtime(settings)
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.tenant_session(tenant_id) as session:
        rows = [(p.key, p.status, len(p.ticket_ids)) for p in session.scalars(select(IntentProposalRow)
                                                                                .order_by(IntentProposalRow.key))]
    runtime.close()
    return rows


def test_discovered_intents_are_proposed_curated_and_learned(settings, db, tmp_path):
    tickets, _ = generate_helpdesk_history(count=700, seed=5, end=END)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(t.model_dump_json(exclude_none=True) + "\n" for t in tickets))
    assert _run("import", str(path), "--tenant", "acme").exit_code == 0

    found = _run("intents", "discover", "--tenant", "acme", "--json")
    assert found.exit_code == 0, found.output
    intents = json.loads(found.output)["intents"]
    assert len(intents) >= 5
    first = intents[0]
    assert set(first) >= {"key", "label", "size", "examples", "external_ids", "reply", "status"}
    assert first["status"] == "proposed" and first["size"] == len(first["external_ids"]) >= 5
    assert first["label"].strip() and first["examples"]
    assert any(i["reply"] for i in intents), "the reply that resolved most of an intent's tickets"
    runtime = Runtime(settings)
    with runtime.db.tenant_session(runtime.db.tenant_id("acme")) as session:
        known = set(session.scalars(select(TicketRow.external_id)))
    runtime.close()
    assert set(first["external_ids"]) <= known
    sizes = sorted(i["size"] for i in intents)
    assert sizes == [i["size"] for i in sorted(intents, key=lambda i: i["size"])]

    before = _proposals(settings)
    keys = [i["key"] for i in intents]
    for bad in (["intents", "accept", "--tenant", "acme", "no-such-intent"],
                ["intents", "accept", "--tenant", "acme"],
                ["intents", "rename", "--tenant", "acme", keys[0], "   "],
                ["intents", "rename", "--tenant", "acme", keys[0], keys[1]],
                ["intents", "merge", "--tenant", "acme", keys[0]],
                ["intents", "split", "--tenant", "acme", keys[0], "--parts", "1"],
                ["intents", "discover", "--tenant", "nobody"]):
        refused = _run(*bad)
        assert refused.exit_code == 2, (bad, refused.output)
    assert _proposals(settings) == before, "refused commands change nothing"

    renamed = _run("intents", "rename", "--tenant", "acme", keys[0], "Card not arrived")
    assert renamed.exit_code == 0 and "card_not_arrived" in renamed.output
    merged = _run("intents", "merge", "--tenant", "acme", keys[1], keys[2])
    assert merged.exit_code == 0, merged.output
    split = _run("intents", "split", "--tenant", "acme", "card_not_arrived", "--parts", "2")
    assert split.exit_code == 0, split.output
    after = {key: (status, size) for key, status, size in _proposals(settings)}
    assert "card_not_arrived" not in after and keys[2] not in after
    assert after[keys[1]][1] == intents[1]["size"] + intents[2]["size"]

    accepted = _run("intents", "accept", "--tenant", "acme", "--all")
    assert accepted.exit_code == 0 and "learns intents from discovered" in accepted.output
    trained = _run("train", "--tenant", "acme")
    assert trained.exit_code == 0 and " intents, cross-validated accuracy" in trained.output, trained.output
    shown = json.loads(_run("suggest", "--tenant", "acme", "--text", tickets[0].messages[0].body, "--json").output)
    assert shown["intent_model"] == "trained" and shown["intent"] in after
