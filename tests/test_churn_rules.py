"""The churn rules: monotone in every feature (a worse value never lowers a score), persistent
trouble above one loud week, and reasons that name the stored tickets behind them (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.insights.churn.facts import facts_from_ticket
from core.insights.churn.features import BY_NAME, FEATURE_NAMES, account_features
from core.insights.churn.learned import _classifier, one_thread
from core.insights.churn.ranking import rank_accounts
from core.insights.churn.rules import TOTAL_WEIGHT, rule_score
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket

AS_OF = datetime(2026, 5, 4, tzinfo=UTC)


def _value(name: str):
    feature = BY_NAME[name]
    span = feature.alarming - feature.calm
    return st.floats(feature.calm - 2 * span - 1, feature.alarming + 2 * span + 1, allow_nan=False)


values = st.fixed_dictionaries({name: _value(name) for name in FEATURE_NAMES})


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from(FEATURE_NAMES), st.floats(0, 50, allow_nan=False))
def test_worsening_any_one_feature_never_lowers_the_rule_score(found, name, worse_by):
    worse = dict(found, **{name: found[name] + worse_by})
    assert rule_score(worse) >= rule_score(found) - 1e-9
    assert 0 <= rule_score(found) <= 100 + 1e-9


def test_each_feature_moves_the_score_between_calm_and_alarming():
    calm = {name: BY_NAME[name].calm for name in FEATURE_NAMES}
    assert rule_score(calm) == 0
    for name in FEATURE_NAMES:
        alarmed = dict(calm, **{name: BY_NAME[name].alarming})
        assert abs(rule_score(alarmed) - 100 * BY_NAME[name].weight / TOTAL_WEIGHT) < 1e-9


@cache
def _fitted(seed: int):
    """A model fitted on noisy data where two features matter (a few models, many probes)."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(1.0, 1.0, size=(200, len(FEATURE_NAMES) + 1))
    y = (x[:, 0] + x[:, 3] + rng.normal(0, 1, 200)) > 2.5
    with one_thread():
        return _classifier().fit(x, y)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(range(len(FEATURE_NAMES) + 1)), st.floats(0.1, 20, allow_nan=False))
def test_the_learned_score_is_monotone_too(seed, column, worse_by):
    model = _fitted(seed % 3)
    probe = np.random.default_rng(seed).gamma(1.0, 1.0, size=(1, len(FEATURE_NAMES) + 1))
    worse = probe.copy()
    worse[0, column] += worse_by
    with one_thread():
        assert model.predict_proba(worse)[0, 1] >= model.predict_proba(probe)[0, 1] - 1e-9


def _week_of_tickets(prefix: str, start: datetime, count: int, text: str, organization: str, **fields):
    return [make_ticket(f"{prefix}-{i}", text, organization=organization, created=start + timedelta(hours=20 * i),
                        **fields) for i in range(count)]


def _account_history(organization: str, loud_weeks: list[int]) -> list:
    """Two calm tickets a week for 18 weeks; in each of ``loud_weeks`` (counted back from AS_OF)
    two frustrated ones instead."""
    tickets = []
    for week in range(18):
        start = AS_OF - timedelta(weeks=week + 1)
        loud = week in loud_weeks
        text = ("This is the third time I ask, still broken. Unacceptable." if loud
                else "How do I export last month's invoices?")
        tickets += _week_of_tickets(f"{organization}-{week}", start, 2, text, organization,
                                    status="solved", solved_at=start + timedelta(hours=5))
    return tickets


def test_trouble_that_persists_scores_above_one_loud_week():
    def score(loud_weeks):
        facts = [facts_from_ticket(t, i) for i, t in enumerate(_account_history("Acme", loud_weeks), start=1)]
        found = account_features([f for f in facts if f is not None], AS_OF, typical_hours=5.0)
        return rule_score(found.values)

    assert score([0, 1, 2, 3, 4]) > score([2]) > score([])


def test_reasons_name_the_stored_tickets_behind_them(settings, db):
    tenant_id = db.ensure_tenant("acme")
    calm = _account_history("Calm Co", [])
    leaving = _account_history("Leaving Ltd", [])
    leaving += [make_ticket("bye-1", "We are thinking about cancelling our subscription, this is useless.",
                            organization="Leaving Ltd", created=AS_OF - timedelta(days=3)),
                make_ticket("bye-2", "We are considering switching to another provider.",
                            organization="Leaving Ltd", created=AS_OF - timedelta(days=2))]
    loner = [make_ticket("solo-1", "Please cancel my account.", requester="Grace Hopper",
                         created=AS_OF - timedelta(days=1))]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, calm + leaving + loner)
    runtime = Runtime(settings)
    try:
        ranking = rank_accounts(runtime, "acme", as_of=AS_OF)
        stored = _stored_ids(runtime, tenant_id)
    finally:
        runtime.close()
    assert ranking.method == "rules" and "no outcomes" in ranking.note
    first = ranking.accounts[0]
    assert first.account == "Leaving Ltd"
    by_feature = {r.feature: r for r in first.reasons}
    assert by_feature["cancellation"].ticket_ids == [stored["bye-1"]]
    assert by_feature["competitor"].ticket_ids == [stored["bye-2"]]
    # A requester without an organization is an account of their own, by email.
    assert "grace.hopper@example.com" in {a.account for a in ranking.accounts}
    assert ranking.accounts[-1].account == "Calm Co" and ranking.accounts[-1].reasons == []


def _stored_ids(runtime: Runtime, tenant_id: int) -> dict[str, int]:
    from sqlalchemy import select

    from core.store.tables import TicketRow

    with runtime.db.tenant_session(tenant_id) as session:
        return dict(session.execute(select(TicketRow.external_id, TicketRow.id)).all())
