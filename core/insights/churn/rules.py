"""The documented rule score: used whenever a tenant has too few outcomes to learn from.

Each feature (:data:`core.insights.churn.features.FEATURES`) adds nothing at or below its
``calm`` value, its full ``weight`` at or above its ``alarming`` value, and a straight line between;
the score is the sum as a share of all weights, 0 to 100. Every contribution is non-decreasing in
its feature, so a worse value of any one feature never lowers an account's score (the tests check
this property), and the reasons are simply the largest contributions.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.insights.churn.features import BY_NAME, FEATURES, AccountFeatures, Feature

TOTAL_WEIGHT = sum(f.weight for f in FEATURES)
#: Reasons shown per account.
TOP_REASONS = 3


@dataclass(frozen=True)
class Reason:
    feature: str
    description: str
    value: float
    contribution: float  # points of the 0-100 score
    ticket_ids: list[int]


def contribution(feature: Feature, value: float) -> float:
    """Points of the 0-100 score this value of ``feature`` adds."""
    span = feature.alarming - feature.calm
    share = min(1.0, max(0.0, (value - feature.calm) / span))
    return 100.0 * feature.weight * share / TOTAL_WEIGHT


def rule_score(values: dict[str, float]) -> float:
    return sum(contribution(f, values[f.name]) for f in FEATURES)


def reasons(features: AccountFeatures, strengths: dict[str, float] | None = None,
            top: int = TOP_REASONS) -> list[Reason]:
    """The strongest reasons, each with the tickets behind it. ``strengths`` ranks them instead of
    the rule contributions (the learned model's own attribution); a feature with no tickets behind
    it or no strength is not a reason."""
    ranked = []
    for name, value in features.values.items():
        points = contribution(BY_NAME[name], value)
        strength = points if strengths is None else strengths.get(name, 0.0)
        ids = features.evidence.get(name, [])
        if strength > 0 and points > 0 and ids:
            ranked.append((strength, Reason(name, BY_NAME[name].reason, round(value, 3), round(points, 2), ids)))
    ranked.sort(key=lambda pair: -pair[0])
    return [reason for _, reason in ranked[:top]]
