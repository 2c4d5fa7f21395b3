"""The score learned from a tenant's outcomes (accounts that churned or renewed, and when).

Each outcome becomes one example: the account's features at the outcome's date (only tickets
before it) and whether it churned. The model is scikit-learn's HistGradientBoostingClassifier with
a monotonic constraint on every feature, so, like the rules, a worse feature never lowers the
score. It is checked the way it will be used: fitted on the outcomes before a cut date and measured
(AUC) on the later ones, next to the rules measured on the same later outcomes. Only then is it
refitted on every outcome to score today's accounts. With too few outcomes (or too few of either
kind) the rules stay in use, and :attr:`ScoreModel.note` says why.

Besides the features, the model reads the rule score itself (one more monotone column): with the
few dozen churns a tenant can supply, it starts from the rules' judgement and learns where the
tenant's outcomes disagree with it, instead of rediscovering every weight from scratch.

Fitting and predicting run on one thread (:func:`one_thread`): the data are a few hundred rows, and
OpenMP's threads waiting on each other on a busy two-core machine made a 0.1 s fit take 15 s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from core.insights.churn.facts import TicketFacts
from core.insights.churn.features import BY_NAME, FEATURE_NAMES, AccountFeatures, tenant_features
from core.insights.churn.rules import rule_score

#: Outcomes needed before the cut to learn from, and of each kind (churned, renewed).
MIN_TRAIN, MIN_TRAIN_EACH = 30, 8
#: Later outcomes needed to measure the learned score, and of each kind.
MIN_TEST, MIN_TEST_EACH = 10, 3
#: Share of the outcomes (the latest) kept for measuring when no cut date is given.
TEST_SHARE = 0.3


@dataclass(frozen=True)
class Outcome:
    account: str
    churned: bool
    on: datetime


@dataclass(frozen=True)
class Evaluation:
    cut: datetime
    trained_on: int
    evaluated_on: int
    auc: float  # of the learned score on the outcomes from the cut on
    rules_auc: float  # of the rule score on the same outcomes


@dataclass
class ScoreModel:
    method: Literal["rules", "learned"]
    note: str
    evaluation: Evaluation | None = None
    model: Any = None

    def score(self, features: AccountFeatures) -> float:
        """0 to 100: the rule score, or the learned churn probability in percent."""
        return self.scores([features])[0]

    def scores(self, features: Sequence[AccountFeatures]) -> list[float]:
        """:meth:`score` of many accounts at once (one prediction call for them all)."""
        if self.model is None or not features:
            return [rule_score(f.values) for f in features]
        with one_thread():
            return [100.0 * float(p) for p in self.model.predict_proba(_rows(features))[:, 1]]

    def strengths(self, features: AccountFeatures) -> dict[str, float] | None:
        """How much each feature raises the learned score over the same account with that feature
        calm (None for the rules, whose contributions are their own reasons)."""
        if self.model is None:
            return None
        base = features.vector()
        rows = [_row(base)]
        for i, name in enumerate(FEATURE_NAMES):
            calmer = list(base)
            calmer[i] = min(base[i], BY_NAME[name].calm)
            rows.append(_row(calmer))
        with one_thread():
            probabilities = self.model.predict_proba(np.array(rows))[:, 1]
        return {name: float(probabilities[0] - probabilities[i + 1]) for i, name in enumerate(FEATURE_NAMES)}


def _row(values: list[float]) -> list[float]:
    """The model's columns: the features (in :data:`FEATURE_NAMES` order) and the rule score."""
    return [*values, rule_score(dict(zip(FEATURE_NAMES, values, strict=True)))]


def _rows(features: Sequence[AccountFeatures]) -> np.ndarray:
    return np.array([_row(f.vector()) for f in features])


def one_thread():
    """A context in which scikit-learn's native code uses one thread."""
    return threadpool_limits(1)


def _classifier() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_depth=3, min_samples_leaf=8,
                                          l2_regularization=1.0, monotonic_cst=[1] * (len(FEATURE_NAMES) + 1),
                                          random_state=0)


def labelled(facts: Sequence[TicketFacts], outcomes: Sequence[Outcome]) -> list[tuple[Outcome, AccountFeatures]]:
    """Each outcome with its account's features at the outcome's date, oldest first."""
    on_date: dict[datetime, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        on_date[outcome.on].append(outcome)
    pairs = []
    for moment in sorted(on_date):
        found = tenant_features(facts, moment, [o.account for o in on_date[moment]])
        pairs += [(o, found[o.account]) for o in on_date[moment]]
    return pairs


def _enough(churned: int, total: int, least: int, each: int) -> bool:
    return total >= least and churned >= each and total - churned >= each


def _auc(labels: list[bool], scores: list[float]) -> float:
    return float(roc_auc_score(np.array(labels, dtype=int), np.array(scores)))


def default_cut(outcomes: Sequence[Outcome]) -> datetime:
    """The date that leaves the latest :data:`TEST_SHARE` of the outcomes for measuring."""
    dates = sorted(o.on for o in outcomes)
    return dates[min(len(dates) - 1, int(len(dates) * (1 - TEST_SHARE)))]


def fit_before_score_later(before: Sequence[tuple[Outcome, AccountFeatures]],
                           later: Sequence[tuple[Outcome, AccountFeatures]]) -> list[float]:
    """Fit on the ``before`` examples and score the ``later`` ones (churn probabilities)."""
    with one_thread():
        trial = _classifier().fit(_rows([f for _, f in before]), [o.churned for o, _ in before])
        return [float(p) for p in trial.predict_proba(_rows([f for _, f in later]))[:, 1]]


def learn(facts: Sequence[TicketFacts], outcomes: Sequence[Outcome], cut: datetime | None = None) -> ScoreModel:
    """The learned score when the outcomes allow it, measured on the later ones; else the rules."""
    if not outcomes:
        return ScoreModel("rules", "no outcomes imported: the documented rule score")
    pairs = labelled(facts, outcomes)
    cut = cut or default_cut(outcomes)
    before = [(o, f) for o, f in pairs if o.on < cut]
    later = [(o, f) for o, f in pairs if o.on >= cut]
    churned_before = sum(o.churned for o, _ in before)
    if not _enough(churned_before, len(before), MIN_TRAIN, MIN_TRAIN_EACH):
        return ScoreModel("rules", f"too few outcomes to learn from ({len(before)} before {cut.date()}, "
                                   f"{churned_before} churned; needs {MIN_TRAIN}, with {MIN_TRAIN_EACH} of each "
                                   "kind): the documented rule score")
    churned_later = sum(o.churned for o, _ in later)
    if not _enough(churned_later, len(later), MIN_TEST, MIN_TEST_EACH):
        return ScoreModel("rules", f"too few later outcomes to measure a learned score ({len(later)} from "
                                   f"{cut.date()}, {churned_later} churned; needs {MIN_TEST}, with {MIN_TEST_EACH} "
                                   "of each kind): the documented rule score")
    learned_scores = fit_before_score_later(before, later)
    labels = [o.churned for o, _ in later]
    evaluation = Evaluation(cut, len(before), len(later), _auc(labels, learned_scores),
                            _auc(labels, [rule_score(f.values) for _, f in later]))
    with one_thread():
        final = _classifier().fit(_rows([f for _, f in pairs]), [o.churned for o, _ in pairs])
    return ScoreModel("learned", f"learned from {len(pairs)} outcomes; fitted on the {len(before)} before "
                                 f"{cut.date()}, its AUC on the {len(later)} later ones is {evaluation.auc:.3f} "
                                 f"(rules: {evaluation.rules_auc:.3f})", evaluation, final)
