"""``deskloop evaluate``: the figures are computed from the file, and bad input exits with code 2."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from core.cli import main
from core.learning.training import train_tenant
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.factories import small_inbox

ROWS = [
    ("my card has not come yet", "card_arrival"),
    ("the card I ordered never arrived", "card_arrival"),
    ("refund still not in my account", "refund_status"),
    ("forgot my password, help", "password_reset"),
    ("I forgot the password to log in", "password_reset"),
    ("where is my refund", "card_arrival"),  # mislabelled on purpose: counts as wrong
    ("how do I change my address", "change_address"),  # a label the tenant has never seen
    ("which currencies can I hold", "multi_currency"),  # another unseen label
]


@pytest.fixture
def trained(settings, db):
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    train_tenant(Runtime(settings), "acme")


def _write(path, rows, header=("text", "category")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_evaluate_prints_the_figures(trained, tmp_path):
    path = _write(tmp_path / "labelled.csv", ROWS)
    result = CliRunner().invoke(main, ["evaluate", str(path), "--tenant", "acme", "--text-field", "text",
                                       "--label-field", "category", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["n"] == 8 and figures["known_n"] == 6 and figures["unknown_n"] == 2
    assert figures["accuracy"] == pytest.approx(5 / 6, abs=1e-4)  # the mislabelled row is the one miss
    assert 0 < figures["macro_f1"] <= 1
    assert 0 <= figures["abstain_rate"] <= 1 and 0 <= figures["unknown_abstain_rate"] <= 1
    for prefix in ("abstain_rate", "unknown_abstain_rate"):  # every abstention has exactly one reason
        by_reason = [figures[f"{prefix}_{reason}"] for reason in ("unfamiliar", "ambiguous", "low_confidence")]
        assert sum(by_reason) == pytest.approx(figures[prefix], abs=1e-3)
    assert figures["novelty_budget"] == pytest.approx(0.10)
    assert figures["p99_ms"] >= figures["p50_ms"] > 0
    for key in ("accuracy_answered", "target_precision", "model_version"):
        assert key in figures


@pytest.mark.parametrize(("rows", "header", "message"), [
    ([("my card", "")], ("text", "category"), "no label"),
    ([("my card",)], ("text",), "category"),
    ([], ("text", "category"), "no rows"),
])
def test_bad_files_exit_2_naming_the_problem(trained, tmp_path, rows, header, message):
    path = _write(tmp_path / "bad.csv", rows, header)
    result = CliRunner().invoke(main, ["evaluate", str(path), "--tenant", "acme", "--label-field", "category"])
    assert result.exit_code == 2
    assert str(path) in result.output and message in result.output.lower()


def test_unknown_tenant_and_missing_file_exit_2(trained, tmp_path):
    path = _write(tmp_path / "labelled.csv", ROWS)
    unknown = CliRunner().invoke(main, ["evaluate", str(path), "--tenant", "nobody", "--label-field", "category"])
    assert unknown.exit_code == 2
    missing = CliRunner().invoke(main, ["evaluate", str(tmp_path / "nope.csv"), "--tenant", "acme"])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_abstention_settings_reach_the_next_model_and_bad_values_exit_2(trained, settings):
    runner = CliRunner()
    for bad in ("0.5", "0", "-0.1", "nan", "inf"):
        refused = runner.invoke(main, ["abstention", "--tenant", "acme", "--novelty-budget", bad])
        assert refused.exit_code == 2 and "novelty_budget must be above 0.0 and below 0.5" in refused.output
    refused = runner.invoke(main, ["abstention", "--tenant", "acme", "--target-precision", "1.2"])
    assert refused.exit_code == 2 and "target_precision" in refused.output
    shown = runner.invoke(main, ["abstention", "--tenant", "acme"])
    assert shown.exit_code == 0 and "0.1 (default)" in shown.output and "0.96 (default)" in shown.output

    changed = runner.invoke(main, ["abstention", "--tenant", "acme", "--novelty-budget", "0.05"])
    assert changed.exit_code == 0 and "novelty_budget   0.05" in changed.output
    model = train_tenant(Runtime(settings), "acme", force=True)
    assert model.metadata["novelty_budget"] == 0.05 and model.metadata["metrics"]["novelty_budget"] == 0.05
    assert runner.invoke(main, ["abstention", "--tenant", "nobody"]).exit_code == 2
