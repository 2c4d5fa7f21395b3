"""Accounts ranked by churn risk, and one account's timeline: what the CLI and the API answer.

The score is the learned one when the tenant's outcomes allow it (:func:`.learned.learn`), else
the rules; either way each account comes with its strongest reasons and the tickets behind them.
Account names are customer data: they are answered to whoever may read the tenant, never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from core.insights.churn.facts import TicketFacts, by_account, load_facts
from core.insights.churn.features import (
    BASELINE,
    RECENT,
    AccountFeatures,
    tenant_features,
    tenant_rates,
    typical_resolution,
)
from core.insights.churn.features import account_features as features_of
from core.insights.churn.learned import Evaluation, ScoreModel, learn
from core.insights.churn.outcomes import load_outcomes
from core.insights.churn.rules import Reason, reasons
from core.runtime import Runtime


@dataclass(frozen=True)
class RankedAccount:
    account: str
    score: float
    tickets: int
    reasons: list[Reason]


@dataclass(frozen=True)
class Ranking:
    as_of: datetime
    method: Literal["rules", "learned"]
    note: str
    evaluation: Evaluation | None
    total: int
    accounts: list[RankedAccount]


@dataclass(frozen=True)
class TimelineTicket:
    ticket_id: int
    external_id: str
    created_at: datetime
    solved_at: datetime | None
    status: str | None
    frustrated: bool
    tone: float | None
    csat: int | None
    reopen_count: int
    reasons: list[str]  # the features this ticket stands behind


@dataclass(frozen=True)
class Timeline:
    account: str
    as_of: datetime
    method: Literal["rules", "learned"]
    score: float
    reasons: list[Reason]
    tickets: list[TimelineTicket] = field(default_factory=list)


def _scored(runtime: Runtime, slug: str, as_of: datetime | None) -> tuple[list[TicketFacts], ScoreModel, datetime]:
    as_of = as_of or datetime.now(UTC)
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.tenant_session(tenant_id) as session:
        outcomes = [o for o in load_outcomes(session) if o.on <= as_of]
        earliest = min([as_of, *(o.on for o in outcomes)])
        facts = load_facts(session, since=earliest - RECENT - BASELINE)
    return facts, learn(facts, outcomes), as_of


def _ranked(model: ScoreModel, features: AccountFeatures, score: float) -> RankedAccount:
    return RankedAccount(features.account, round(score, 2), features.tickets,
                         reasons(features, model.strengths(features)))


def rank_accounts(runtime: Runtime, slug: str, top: int = 50, as_of: datetime | None = None) -> Ranking:
    """The ``top`` accounts most at risk at ``as_of`` (default now), highest score first; every
    account is scored in one call, and only those answered are explained."""
    facts, model, as_of = _scored(runtime, slug, as_of)
    found = list(tenant_features(facts, as_of).values())
    scored = sorted(zip(model.scores(found), found, strict=True), key=lambda pair: (-round(pair[0], 2),
                                                                                    pair[1].account))
    return Ranking(as_of, model.method, model.note, model.evaluation, len(scored),
                   [_ranked(model, features, score) for score, features in scored[:top]])


def account_timeline(runtime: Runtime, slug: str, account: str, as_of: datetime | None = None) -> Timeline | None:
    """One account's tickets in the scoring windows, with its score and reasons (None: no such
    account has a ticket there)."""
    facts, model, as_of = _scored(runtime, slug, as_of)
    mine = by_account(facts).get(account)
    if not mine:
        return None
    features = features_of(mine, as_of, typical_resolution(facts, as_of), tenant_rates(facts, as_of))
    features.account = account
    if not features.tickets:
        return None
    ranked = _ranked(model, features, model.score(features))
    behind: dict[int, list[str]] = {}
    for name, ids in features.evidence.items():
        for ticket_id in ids:
            behind.setdefault(ticket_id, []).append(name)
    window = [f for f in mine if as_of - RECENT - BASELINE <= f.created_at < as_of]
    tickets = [TimelineTicket(f.ticket_id, f.external_id, f.created_at, f.solved_at, f.status, f.frustrated, f.tone,
                              f.csat, f.reopen_count, sorted(behind.get(f.ticket_id, []))) for f in window]
    return Timeline(account, as_of, model.method, ranked.score, ranked.reasons, tickets)
