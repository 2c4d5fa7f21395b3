"""``deskloop import-outcomes``: bad files exit 2 naming file, line and field with nothing written
(and no account name in the message); good ones are stored once; enough outcomes switch the score
to the learned one, measured on the later outcomes, and too few keep the rules and say so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.cli import main
from core.insights.churn.facts import facts_from_ticket, load_facts
from core.insights.churn.features import tenant_features
from core.insights.churn.ranking import rank_accounts
from core.runtime import Runtime
from core.store.tables import AccountOutcomeRow
from tests.churn_support import AS_OF, outcomes_file, store_accounts


def _stored(db) -> int:
    tenant_id = db.tenant_id("acme")
    with db.tenant_session(tenant_id) as session:
        return session.scalar(select(func.count(AccountOutcomeRow.id)))


def _run(*args):
    return CliRunner().invoke(main, ["import-outcomes", *args], catch_exceptions=False)


def test_outcomes_are_imported_once_and_again_replace(settings, db, tmp_path):
    history = store_accounts(db)
    path = outcomes_file(tmp_path / "accounts.csv", history)
    first = _run(str(path), "--tenant", "acme")
    assert first.exit_code == 0, first.output
    churned = sum(1 for _, o, _ in history.outcomes if o == "churned")
    assert f"imported {len(history.outcomes)} outcome(s) ({churned} churned)" in first.output
    assert _run(str(path), "--tenant", "acme").exit_code == 0
    assert _stored(db) == len(history.outcomes)


@pytest.mark.parametrize(("row", "field", "reason"), [
    (("Nobody Inc 999", "churned", "2026-03-01"), "account", "no ticket of the tenant belongs"),
    ((None, "churned", "2026-02-30"), "date", "is not a date"),
    ((None, "churned", "01/03/2026"), "date", "is not a date"),
    ((None, "churned", "2099-01-01"), "date", "in the future"),
    ((None, "lost", "2026-03-01"), "outcome", "'lost' is not an outcome"),
    ((None, "renewed", None), "account", "repeats the account and date of line 2"),
])
def test_a_bad_row_exits_2_naming_file_line_and_field_and_writes_nothing(settings, db, tmp_path, caplog, row,
                                                                           field, reason):
    history = store_accounts(db)
    account, _, on = history.outcomes[0]
    good = [history.outcomes[0], history.outcomes[1]]
    bad = (row[0] or account, row[1], row[2] or on.isoformat())
    path = tmp_path / "accounts.csv"
    lines = ["account,outcome,date", *(f'"{a}",{o},{d.isoformat()}' for a, o, d in good),
             f'"{bad[0]}",{bad[1]},{bad[2]}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(str(path), "--tenant", "acme")
    assert result.exit_code == 2
    assert f"{path}, line 4, field '{field}'" in result.output and reason in result.output
    assert _stored(db) == 0
    assert account not in result.output and account not in caplog.text  # customer data stays out of messages


def test_a_header_without_the_columns_and_an_unknown_tenant_exit_2(settings, db, tmp_path):
    store_accounts(db)
    path = tmp_path / "accounts.csv"
    path.write_text("customer,outcome,when\nX,churned,2026-01-01\n", encoding="utf-8")
    result = _run(str(path), "--tenant", "acme")
    assert result.exit_code == 2 and "line 1, field 'account'" in result.output
    assert _run(str(path), "--tenant", "nobody").exit_code == 2
    assert _stored(db) == 0


def test_enough_outcomes_switch_to_the_learned_score_measured_on_later_ones(settings, db, tmp_path):
    history = store_accounts(db)
    assert _run(str(outcomes_file(tmp_path / "a.csv", history)), "--tenant", "acme").exit_code == 0
    runtime = Runtime(settings)
    try:
        ranking = rank_accounts(runtime, "acme", as_of=AS_OF)
    finally:
        runtime.close()
    assert ranking.method == "learned", ranking.note
    evaluation = ranking.evaluation
    assert evaluation is not None and evaluation.trained_on + evaluation.evaluated_on == len(history.outcomes)
    assert 0.5 < evaluation.auc <= 1 and f"{evaluation.auc:.3f}" in ranking.note
    assert all(0 <= a.score <= 100 for a in ranking.accounts)


def test_too_few_outcomes_keep_the_rules_and_say_why(settings, db, tmp_path):
    history = store_accounts(db)
    few = outcomes_file(tmp_path / "few.csv", history, history.outcomes[:12])
    assert _run(str(few), "--tenant", "acme").exit_code == 0
    runtime = Runtime(settings)
    try:
        ranking = rank_accounts(runtime, "acme", as_of=AS_OF)
    finally:
        runtime.close()
    assert ranking.method == "rules" and ranking.evaluation is None
    assert "too few outcomes to learn from" in ranking.note


def test_stored_tickets_give_the_features_the_simulation_does(settings, db):
    """The bench scores simulated tickets in memory; the product reads them back from the store."""
    history = store_accounts(db)
    runtime = Runtime(settings)
    try:
        with runtime.db.tenant_session(db.tenant_id("acme")) as session:
            stored = load_facts(session, since=AS_OF - timedelta(weeks=18))
    finally:
        runtime.close()
    memory = [f for i, t in enumerate(history.tickets) if (f := facts_from_ticket(t, i))]
    from_store = tenant_features(stored, AS_OF)
    in_memory = tenant_features(memory, AS_OF)
    assert from_store.keys() == in_memory.keys() and len(from_store) > 50
    for account, features in from_store.items():
        assert features.values == pytest.approx(in_memory[account].values), account
