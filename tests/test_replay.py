"""``deskloop replay``: labelled tickets streamed through the whole loop, with learning curves."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from core.cli import main
from tests.factories import NAMES, SMALL_INBOX

#: Two more intents whose wording overlaps the small inbox's, so a model trained on a few
#: tickets confuses them and the curve has room to rise.
MORE = {
    "card_delivery_estimate": (
        ["How long will my new card take to arrive?", "When should I expect the card to be delivered?",
         "What is the delivery time for a card?", "How many days until my card comes?",
         "Estimated arrival of a new card?"],
        "Hi {name}, new cards are posted the next working day and usually arrive within 3 to 5 days.",
    ),
    "refund_request": (
        ["I want a refund for this order", "Please refund my purchase", "Can I get my money back for this?",
         "I would like to return this and be refunded", "Request a refund please"],
        "Hi {name}, I've started the refund; you'll get an email once the merchant confirms it.",
    ),
}


def _history(path, rounds: int, seed: int = 3) -> int:
    inbox = {**SMALL_INBOX, **MORE}
    rows = [(intent, text, reply) for intent, (texts, reply) in inbox.items() for text in texts]
    rnd = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lines = []
    for _ in range(rounds):
        batch = rows[:]
        rnd.shuffle(batch)
        for intent, text, reply in batch:
            name = rnd.choice(NAMES)
            n = len(lines)
            lines.append(json.dumps({
                "external_id": f"r-{n}", "intent": intent, "created_at": (start + timedelta(minutes=n)).isoformat(),
                "requester": {"name": name},
                "messages": [{"author_role": "customer", "body": f"{text} (order {1000 + n})", "author_name": name},
                             {"author_role": "agent", "body": reply.format(name=name.split()[0])}],
            }))
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_replay_prints_curves_that_rise_and_beat_a_frozen_model(settings, tmp_path, db):
    path = tmp_path / "history.jsonl"
    total = _history(path, rounds=8)  # 200 tickets, 5 intents
    result = CliRunner().invoke(main, ["replay", str(path), "--tenant", "replayed", "--block-size", "25", "--json"])
    assert result.exit_code == 0, result.output
    curves = json.loads(result.stdout)
    assert curves["block_size"] == 25 and len(curves["blocks"]) == total // 25
    assert set(curves["blocks"][0]) == {"n", "accuracy", "acceptance", "similarity", "abstain_rate"}
    assert curves["frozen_blocks"][0] == curves["blocks"][0]  # the same loop until the first block ends
    live, frozen = curves["blocks"], curves["frozen_blocks"]
    assert live[-1]["accuracy"] > live[0]["accuracy"]
    assert live[-1]["acceptance"] > live[0]["acceptance"]
    assert sum(b["accuracy"] for b in live[-3:]) >= sum(b["accuracy"] for b in frozen[-3:])
    assert 0 < curves["offline_cv_accuracy"] <= 1

    from sqlalchemy import func, select

    from core.store.tables import ReplayRunRow, SignalRow, TicketRow

    tenant_id = db.tenant_id("replayed")
    with db.tenant_session(tenant_id) as session:
        assert session.scalar(select(func.count(TicketRow.id))) == total
        kinds = dict(session.execute(select(SignalRow.kind, func.count(SignalRow.id)).group_by(SignalRow.kind)).all())
        stored = session.scalars(select(ReplayRunRow)).one()
    assert kinds["draft_sent"] > 0 and kinds["intent_changed"] > 0
    assert stored.result == curves

    listed = json.loads(CliRunner().invoke(main, ["models", "--tenant", "replayed", "--json"]).stdout)
    assert len(listed["versions"]) >= 2  # retrained as the history grew

    again = CliRunner().invoke(main, ["replay", str(path), "--tenant", "replayed"])
    assert again.exit_code == 2 and "already has tickets" in again.output


def test_replay_refuses_unlabelled_rows(settings, tmp_path):
    path = tmp_path / "unlabelled.jsonl"
    path.write_text(json.dumps({"external_id": "a", "messages": [{"author_role": "customer", "body": "hi"}]}) + "\n")
    result = CliRunner().invoke(main, ["replay", str(path), "--tenant", "x"])
    assert result.exit_code == 2 and "no label" in result.output
