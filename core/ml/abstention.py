"""When to say "needs a human": a rule learned from out-of-fold scores for a target precision.

Two signals, each measured on texts the model did not train on, say a ticket is one the model
can answer: the SVM's top decision value (how strongly one intent wins) and the cosine to the
nearest labelled ticket (has anyone asked this before?). A question about an intent the tenant
has never seen can still make one known intent win; it rarely also sits close to a known
example. Each signal is standardized with its out-of-fold mean and spread and the two are added.

Measured on Banking77 with 10 intents held out (three draws, 5-fold CV on the other 67), at 10%
abstention on known intents: the sum abstains on 76% of never-seen intents, the decision value
alone on 66%, the nearest-neighbour cosine alone on 68%, a calibrated max probability on 60-63%.

The threshold is the lowest combined score at which out-of-fold answers are still right at the
tenant's target precision, so the tenant sets the trade-off in its own terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Answers must be right this often. On Banking77 with 10 intents held out (three draws, 5-fold
#: out-of-fold scores) this abstains on 8.9% of known-intent questions and 70.5% of never-seen
#: ones; 0.95 gives 5.4% and 59%, 0.97 gives 13% and 81%.
DEFAULT_TARGET_PRECISION = 0.96


MIN_DECISION_SPREAD = 0.1
MIN_NEIGHBOUR_SPREAD = 0.05


def threshold_for_precision(score: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The smallest score above which answers are right at least ``target`` of the time."""
    order = np.argsort(-score)
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    meeting = np.nonzero(precision >= target)[0]
    if len(meeting) == 0:
        return float(score.max()) + 1.0  # never reached: abstain on everything
    if meeting[-1] == len(order) - 1:
        # Every out-of-fold answer met the target (small or easy data): there is no evidence of
        # where mistakes start, so allow one standard unit below the least typical example.
        return float(score.min()) - 1.0
    return float(score[order][meeting[-1]])


@dataclass(frozen=True)
class AbstentionRule:
    decision_mean: float
    decision_std: float
    neighbour_mean: float | None
    neighbour_std: float | None
    threshold: float
    target_precision: float

    def score(self, top_decision: float, closest_labelled: float | None) -> float:
        value = (top_decision - self.decision_mean) / self.decision_std
        if self.neighbour_mean is not None and closest_labelled is not None:
            value += (closest_labelled - self.neighbour_mean) / self.neighbour_std
        return float(value)

    def abstains(self, top_decision: float, closest_labelled: float | None) -> bool:
        return self.score(top_decision, closest_labelled) < self.threshold

    @classmethod
    def fit(cls, top_decision: np.ndarray, correct: np.ndarray, closest_labelled: np.ndarray | None,
            target_precision: float = DEFAULT_TARGET_PRECISION) -> AbstentionRule:
        """From out-of-fold top decision values, whether each answer was right, and (with an
        encoder) leave-one-out nearest-labelled cosines, all for the same texts."""
        # Floors on the spreads: a small or templated history (every ticket a near-copy of the
        # others) has almost no spread, and dividing by it would call any rewording a stranger.
        rule = cls(float(top_decision.mean()), max(float(top_decision.std()), MIN_DECISION_SPREAD),
                   None if closest_labelled is None else float(closest_labelled.mean()),
                   None if closest_labelled is None else max(float(closest_labelled.std()), MIN_NEIGHBOUR_SPREAD),
                   0.0, target_precision)
        combined = np.array([rule.score(d, n) for d, n in zip(
            top_decision, closest_labelled if closest_labelled is not None else [None] * len(top_decision),
            strict=True)])
        threshold = threshold_for_precision(combined, correct.astype(float), target_precision)
        return cls(rule.decision_mean, rule.decision_std, rule.neighbour_mean, rule.neighbour_std, threshold,
                   target_precision)
