"""``deskloop simulate --accounts`` writes a history and its outcomes that ``deskloop import`` and
``deskloop import-outcomes`` take as they are; ``deskloop insights churn`` ranks the accounts with
their reasons and ticket ids, writes every ranked account to ``--csv``, and says when outcomes are
too few to learn from."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from core.cli import main
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
