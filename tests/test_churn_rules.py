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


def _facts(account: str, count: int, every: timedelta, hit: set[int] | None = None, **marks) -> list:
    """``count`` calm tickets of ``account``, one every ``every`` back from AS_OF, oldest first;
    the ones numbered in ``hit`` (0 is the newest) carry ``marks`` (e.g. ``frustrated=True``)."""
    from dataclasses import replace

    from core.insights.churn.facts import TicketFacts

    found = []
    for i in range(count):
        created = AS_OF - every * (i + 1)
        fact = TicketFacts(ticket_id=i + 1, external_id=f"{account}-{i}", account=account, created_at=created,
                           solved_at=created + timedelta(hours=5), status="solved", reopen_count=0, csat=None,
                           frustrated=False, tone=None, issue=None, cancellation=False, competitor=False,
                           downgrade_words=False, plan_rank=None, seats=None)
        found.append(replace(fact, **marks) if i in (hit or set()) else fact)
    return sorted(found, key=lambda f: f.created_at)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.floats(0, 1, allow_nan=False))
def test_a_shrunk_share_lies_between_the_tenant_rate_and_the_account_share(hits, extra, rate):
    from core.insights.churn.norms import shrunk_share

    total = hits + extra
    share = shrunk_share(hits, total, rate)
    own = hits / total if total else rate
    assert min(own, rate) - 1e-9 <= share <= max(own, rate) + 1e-9


def test_a_busy_account_as_frustrated_as_the_tenant_usually_is_not_flagged():
    from core.insights.churn.norms import TenantRates

    # 3 tickets a week for 18 weeks, one in five read as frustrated all along: the tenant's usual.
    busy = _facts("Busy", 54, timedelta(hours=56), hit=set(range(0, 54, 5)), frustrated=True)
    usual = TenantRates(frustrated=0.2)
    calm = account_features(busy, AS_OF, typical_hours=5.0, rates=usual)
    against_zero = account_features(busy, AS_OF, typical_hours=5.0)
    assert calm.values["frustrated_share"] <= BY_NAME["frustrated_share"].calm
    assert against_zero.values["frustrated_share"] > calm.values["frustrated_share"]
    # Twice the usual share in the recent weeks (beyond the worst one) is flagged, with its tickets.
    angry = _facts("Busy", 54, timedelta(hours=56), hit=set(range(0, 18, 2)) | set(range(18, 54, 5)),
                   frustrated=True)
    found = account_features(angry, AS_OF, typical_hours=5.0, rates=usual)
    assert found.values["frustrated_share"] > BY_NAME["frustrated_share"].calm
    assert rule_score(found.values) > rule_score(calm.values)
    assert found.evidence["frustrated_share"]


def test_cancellation_phrases_count_beyond_the_tenants_usual_rate():
    from core.insights.churn.norms import TenantRates

    usual = TenantRates(cancellation=0.05)
    # 20 recent tickets: one phrase is what the tenant's ordinary requests produce; four are not.
    once = account_features(_facts("A", 20, timedelta(days=2), hit={3}, cancellation=True), AS_OF, 5.0, usual)
    often = account_features(_facts("A", 20, timedelta(days=2), hit={1, 5, 9, 13}, cancellation=True),
                             AS_OF, 5.0, usual)
    assert once.values["cancellation"] <= BY_NAME["cancellation"].calm
    assert often.values["cancellation"] == 3.0
    assert len(often.evidence["cancellation"]) == 4


def test_trouble_that_began_rising_is_found_wherever_it_began():
    # Two tickets a week for 18 weeks (0 is the newest); the same six frustrated tickets either
    # spread over the 18 weeks or all in the latest weeks, from three or from nine weeks back.
    every = timedelta(hours=84)
    spread = account_features(_facts("A", 36, every, hit=set(range(0, 36, 6)), frustrated=True), AS_OF, 5.0)
    lately = account_features(_facts("A", 36, every, hit={0, 1, 2, 3, 4, 5}, frustrated=True), AS_OF, 5.0)
    earlier = account_features(_facts("A", 36, every, hit={1, 4, 7, 10, 13, 16}, frustrated=True), AS_OF, 5.0)
    calm = BY_NAME["rising_trouble"].calm
    assert spread.values["rising_trouble"] <= calm
    assert lately.values["rising_trouble"] > calm and earlier.values["rising_trouble"] > calm
    # The reason names the troubled tickets since the rise began, and only those.
    assert sorted(lately.evidence["rising_trouble"]) == [1, 2, 3, 4, 5, 6]
    assert set(earlier.evidence["rising_trouble"]) <= {2, 5, 8, 11, 14, 17}
    assert rule_score(lately.values) > rule_score(spread.values)


def test_a_ticket_with_more_kinds_of_trouble_raises_the_rise_more():
    from dataclasses import replace

    every = timedelta(hours=84)
    frustrated = _facts("A", 36, every, hit={0, 2, 4}, frustrated=True)
    # The same tickets, also answered in 30 hours where the tenant takes 5: two kinds of trouble each.
    slow_too = [replace(f, solved_at=f.created_at + timedelta(hours=30)) if f.frustrated else f for f in frustrated]
    once = account_features(frustrated, AS_OF, typical_hours=5.0)
    twice = account_features(slow_too, AS_OF, typical_hours=5.0)
    assert twice.values["rising_trouble"] > once.values["rising_trouble"] > BY_NAME["rising_trouble"].calm
    assert sorted(twice.evidence["rising_trouble"]) == sorted(once.evidence["rising_trouble"]) == [1, 3, 5]
