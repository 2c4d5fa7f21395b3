"""``deskloop simulate --accounts`` writes a history and its outcomes that ``deskloop import`` and
``deskloop import-outcomes`` take as they are; ``deskloop insights churn`` ranks the accounts with
their reasons and ticket ids, writes every ranked account to ``--csv``, and says when outcomes are
too few to learn from."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time

from click.testing import CliRunner

from core.cli import main
from core.demo.accounts import AccountSimulator, simulate_accounts
from tests.churn_support import recent_end


def _ok(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_simulated_accounts_are_imported_ranked_and_learned_from(settings, db, tmp_path):
    history = tmp_path / "history.jsonl"
    written = _ok("simulate", "--accounts", "60", "--weeks", "24", "--seed", "5", "--strength", "0.9",
                  "--end", recent_end().isoformat(), "--out", str(history))
    outcomes = tmp_path / "history.outcomes.csv"
    assert "60 accounts" in written and outcomes.is_file()
    _ok("import", str(history), "--tenant", "acme")

    ranked = _ok("insights", "churn", "--tenant", "acme", "--top", "3", "--csv", str(tmp_path / "ranked.csv"))
    assert "no outcomes imported: the documented rule score" in ranked
    assert ranked.count("tickets ") >= 1 and "  1. " in ranked and "  4. " not in ranked
    with (tmp_path / "ranked.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 55 and rows[0]["rank"] == "1" and rows[0]["method"] == "rules"
    assert float(rows[0]["score"]) >= float(rows[-1]["score"])

    _ok("import-outcomes", str(outcomes), "--tenant", "acme")
    again = _ok("insights", "churn", "--tenant", "acme", "--top", "3")
    # 60 accounts hold 9 churners: too few to learn from and measure on (the rules stay, and it says so).
    assert "too few" in again and "the documented rule score" in again and "learned from" not in again


def test_simulate_refuses_too_short_an_account_history(tmp_path):
    result = CliRunner().invoke(main, ["simulate", "--accounts", "30", "--weeks", "8", "--out",
                                       str(tmp_path / "h.jsonl")])
    assert result.exit_code == 2 and "--weeks" in result.output


def test_the_same_seed_gives_the_same_accounts_and_strength_scales_the_churners():
    first = simulate_accounts(seed=3, strength=0.5, accounts=40, weeks=24, end=date(2026, 5, 4))
    again = simulate_accounts(seed=3, strength=0.5, accounts=40, weeks=24, end=date(2026, 5, 4))
    assert [t.model_dump() for t in first.tickets] == [t.model_dump() for t in again.tickets]
    assert first.outcomes == again.outcomes
    simulator = AccountSimulator(seed=3, strength=0.8, accounts=40, weeks=24, end=date(2026, 5, 4))
    churner = next(a for a in simulator.accounts if a.kind == "churner")
    assert churner.onset is not None
    assert simulator.degradation(churner, churner.onset) == 0.0
    churned = datetime.combine(churner.outcome_on, time(0), UTC)
    assert simulator.degradation(churner, churned) == 0.8
    assert all(simulator.degradation(a, churned) == 0.0 for a in simulator.accounts if a.kind != "churner")
