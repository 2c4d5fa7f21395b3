"""The demo history: seeded, believable, importable; and the demo tenant end to end."""

import json
from collections import Counter
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.cli import main
from core.demo.build import build_demo
from core.demo.simulate import load_queries, write_history
from core.runtime import Runtime
from core.store.tables import SignalRow, SuggestionRow, TicketRow

END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "history.jsonl"
    write_history(path, seed=7, end=END)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_same_seed_gives_the_same_history(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_history(a, count=300, seed=3, end=END)
    write_history(b, count=300, seed=3, end=END)
    write_history(c, count=300, seed=4, end=END)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_one_ticket_per_query_spread_over_eight_weeks(history):
    assert len(history) == len(load_queries())
    created = [datetime.fromisoformat(t["created_at"]) for t in history]
    span = max(created) - min(created)
    assert 50 <= span.days <= 56
    assert max(created).date() < END
    assert len({t["intent"] for t in history}) == 77


def test_weekday_and_office_hour_rhythm(history):
    created = [datetime.fromisoformat(t["created_at"]) for t in history]
    per_weekday = Counter(c.weekday() for c in created)
    assert min(per_weekday[d] for d in range(5)) > 2 * max(per_weekday[5], per_weekday[6])
    per_hour = Counter(c.hour for c in created)
    assert per_hour[10] > 4 * per_hour[3]


def test_requesters_organizations_reopens_and_csat(history):
    requesters = Counter(t["requester"]["email"] for t in history)
    assert requesters.most_common(1)[0][1] > 5  # people write more than once
    organizations = Counter(t["organization"] for t in history)
    assert organizations.most_common(1)[0][1] > 5 * organizations.most_common()[-1][1]  # big and small accounts
    solved = [t for t in history if t["status"] == "solved"]
    assert 0.8 < len(solved) / len(history) < 1
    reopened = [t for t in solved if t.get("reopen_count")]
    assert 0.02 < len(reopened) / len(solved) < 0.1
    rated = [t for t in solved if "csat" in t]
    assert 0.3 < len(rated) / len(solved) < 0.5
    rated_reopened = [t for t in rated if t.get("reopen_count")]
    assert sum(t["csat"]["score"] for t in rated_reopened) / max(1, len(rated_reopened)) < 3
    assert any(t.get("page_context") for t in history)
    # Every solved ticket carries the agent reply written for its intent, greeting its own customer.
    for t in solved[:200]:
        public_agent = [m for m in t["messages"] if m["author_role"] == "agent" and m["public"]]
        assert public_agent and t["requester"]["name"].split()[0] in public_agent[0]["body"]


def test_simulate_command_writes_jsonl_that_imports(settings, db, tmp_path):
    out = tmp_path / "sim.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["simulate", "--out", str(out), "--tickets", "400", "--end", "2026-11-20"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["import", str(out), "--tenant", "sim"])
    assert result.exit_code == 0, result.output
    with db.tenant_session(db.tenant_id("sim")) as session:
        assert session.scalar(select(func.count(TicketRow.id))) == 400


def test_the_demo_tenant_is_imported_trained_and_has_a_first_signal(settings, db):
    runtime = Runtime(settings)
    lines = build_demo(runtime, "demo", end=END, count=1500)
    assert any("trained model" in line for line in lines)
    tenant_id = db.tenant_id("demo")
    with db.tenant_session(tenant_id) as session:
        assert session.scalar(select(func.count(TicketRow.id))) == 1500
        assert session.scalar(select(func.count(SuggestionRow.id))) >= 1
        signal = session.scalars(select(SignalRow)).one()
    assert signal.kind == "draft_edited" and 0.5 < signal.payload["similarity"] < 1
