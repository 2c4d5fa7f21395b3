"""When to say "needs a human", and why: a novelty check and a precision rule, both learned from
out-of-fold observations of the tenant's own labelled questions.

Two different things make an answer unsafe, and the agent should be told which:

``unfamiliar``
    Nobody has asked this before. The novelty check reads how far the question sits from the
    intent the model would answer with: the linear model's decision value (how far inside that
    intent's region of the linear model it falls) and the cosine to the nearest labelled example
    *of that intent*, each standardized with that intent's out-of-fold mean and spread and
    added. Its threshold is set so that a share ``novelty_budget`` of the tenant's own
    out-of-fold known questions would be wrongly called unfamiliar; it does not depend on how
    accurate the model is, so a tenant whose known intents are all answered above the target
    precision still abstains on a never-seen intent (the precision rule then has no threshold).
``low_confidence``
    The precision rule: the linear model's top decision value plus the cosine to the nearest
    labelled ticket, thresholded at the lowest score where out-of-fold answers are still right
    at the tenant's target precision. Beside the novelty check its threshold is fitted on the
    answers that check lets through, so the precision it promises is that of the answers
    actually given (and it rarely needs to add anything); a caller that cannot observe novelty
    (:meth:`AbstentionRule.abstains` with two values) gets the rule fitted on every answer.
``ambiguous``
    A precision abstention on a familiar question where two intents share the probability and,
    together, are right at the target precision (calibrated on the out-of-fold precision
    abstentions): the agent is shown both and picks one. An unfamiliar question is never called
    ambiguous, even when two known intents share it: measured on 20-intent Banking77 subsets,
    up to a fifth of never-seen questions would have been, and the agent would have been
    offered two wrong intents. The novelty check comes first.

Measured with ``bench/novelty.py`` (the real :class:`core.ml.model.TicketModel`; held-out
intents' questions as probes; the figures and per-draw table are in its docstring). Other
observations were measured and left out: the cosine to the nearest labelled example of any
intent, the mean of the three nearest of the predicted intent, the cosine to the predicted
intent's centroid, k-nearest-neighbour agreement with the predicted intent, the n-gram (TF-IDF)
nearest-example cosine and vocabulary coverage of the predicted intent, agreement of the n-gram
and sentence parts of the linear model, local density ratios, Mahalanobis distances (shared
within-intent covariance) on the sentence and layer-4-to-6 vectors, and a logistic regression or
boosted trees trained on leave-intent-out "pseudo-novel" questions. None separated never-seen
from known questions better than these two (area under the ROC curve 0.95 on 20-intent Banking77
subsets, 0.92 with 67 known intents); equal weights after standardizing were as good as learned
ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, cast

import numpy as np

#: Answers must be right this often. On Banking77 with 10 intents held out (three draws, 5-fold
#: out-of-fold scores, ``bench/banking77_intents.py``) the precision rule alone abstains on 7.9% of
#: known-intent questions and 68% of never-seen ones. Before the novelty check it judged the
#: linear model's answer rather than the served one (with the nearest-example term) and abstained
#: on 8.9% and 70.5%; 0.95 then gave 5.4% and 59%, 0.97 gave 13% and 81%.
DEFAULT_TARGET_PRECISION = 0.96

#: The share of known questions the novelty check may wrongly call unfamiliar (tenant setting
#: ``novelty_budget``). Its flags include most wrong answers, so beside it the precision rule
#: rarely adds any, and together they abstain on about this share of known questions. Measured
#: with ``bench/novelty.py`` (known abstained / never-seen abstained, mean over draws; Banking77
#: with 10 intents held out | 20-intent Banking77 subsets with 5 held out | the simulated demo
#: history with 10 held out): 0.08 gives 0.077/0.694 | 0.069/0.828 | 0.106/0.712; 0.09 gives
#: 0.086/0.722 | 0.083/0.850 | 0.108/0.727; 0.10 gives 0.096/0.754 | 0.088/0.866 | 0.110/0.740
#: (demo 0.103/0.777 once models stopped reading greetings and repeated subjects). 0.05 gives
#: 0.075/0.674 | 0.041/0.724 | 0.096/0.673: the precision rule then adds 3 to 4 points of known
#: questions of its own, so the total moves less than the budget while never-seen questions lose
#: 8 to 14 points. 0.10 is the operating point of the product's target (at most a tenth of known
#: questions sent to a human).
DEFAULT_NOVELTY_BUDGET = 0.10

#: Why a suggestion abstains (see the module docstring).
AbstainReason = Literal["unfamiliar", "ambiguous", "low_confidence"]
UNFAMILIAR: Final = "unfamiliar"
AMBIGUOUS: Final = "ambiguous"
LOW_CONFIDENCE: Final = "low_confidence"
REASONS = (UNFAMILIAR, AMBIGUOUS, LOW_CONFIDENCE)

#: Floors on the spreads: a small or templated history (every ticket a near-copy of the others)
#: has almost no spread, and dividing by it would call any rewording a stranger.
MIN_DECISION_SPREAD = 0.1
MIN_NEIGHBOUR_SPREAD = 0.05

#: Fewer out-of-fold precision abstentions than this cannot say when a pair of intents is right
#: often enough; the calibrated probabilities are taken at their word instead.
MIN_AMBIGUOUS_EVIDENCE = 20
#: The runner-up must hold at least this share of the top intent's probability for the two to be
#: "close" (otherwise the top intent alone is merely weak: ``low_confidence``).
MIN_RUNNER_UP_SHARE = 0.25
#: The novelty check standardizes each observation with the predicted intent's own out-of-fold
#: mean and spread (some intents are worded more alike than others), each estimate shrunk toward
#: the tenant-wide one as if it had this many more rows at the tenant-wide value. Measured with
#: ``bench/novelty.py`` at budget 0.09, tenant-wide figures alone abstained on 1 to 3 points fewer
#: never-seen questions (0.709 | 0.843 | 0.694); 5 to 50 rows gave the same in exploration.
INTENT_PRIOR_ROWS = 20


@dataclass(frozen=True)
class Observation:
    """What the rule reads about one question; training measures each the same way, out of fold.

    Attributes:
        top_decision: the linear model's top decision value.
        closest_labelled: cosine to the nearest labelled (reference) example; ``None`` without one.
        closest_of_intent: cosine to the nearest labelled example of the predicted intent;
            ``None`` skips the novelty check (models trained before it existed).
        probabilities: calibrated probabilities of the two most likely intents, best first
            (one value with a single candidate); ``None`` never calls an abstention ambiguous.
        intent: the predicted intent (``None``: judged by tenant-wide figures).
    """

    top_decision: float
    closest_labelled: float | None
    closest_of_intent: float | None = None
    probabilities: tuple[float, ...] | None = None
    intent: str | None = None


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


def threshold_for_budget(score: np.ndarray, budget: float) -> float:
    """The score below which a new question like these is flagged with probability at most
    ``budget``: the k-th lowest of ``n`` scores with k = floor(budget * (n + 1)) (a conformal
    quantile, honest on a handful of examples too). With too few scores for even one (k = 0),
    one standard unit below the lowest, as :func:`threshold_for_precision` does."""
    ordered = np.sort(score)
    k = int(np.floor(budget * (len(ordered) + 1)))
    if k == 0:
        return float(ordered[0]) - 1.0
    return float(ordered[min(k, len(ordered)) - 1])


@dataclass(frozen=True)
class AbstentionRule:
    decision_mean: float
    decision_std: float
    neighbour_mean: float | None
    neighbour_std: float | None
    threshold: float
    target_precision: float
    #: The novelty check (``None`` in models trained before it existed: precision rule only).
    #: ``threshold`` is the precision rule's on its own (what a caller that cannot observe novelty
    #: gets); ``answered_threshold`` the one fitted on the answers the novelty check lets through.
    answered_threshold: float | None = None
    intent_neighbour_mean: float | None = None
    intent_neighbour_std: float | None = None
    novelty_threshold: float | None = None
    novelty_budget: float | None = None
    #: Per predicted intent: (decision mean, spread, nearest-example-of-intent mean, spread),
    #: shrunk toward the tenant-wide figures (see :data:`INTENT_PRIOR_ROWS`).
    intent_stats: dict[str, tuple[float, float, float, float]] | None = None
    #: A precision abstention is ``ambiguous`` when the two top intents are close and their
    #: probabilities add up to at least this (``None``: never).
    ambiguity_threshold: float | None = None

    def score(self, top_decision: float, closest_labelled: float | None) -> float:
        """The precision rule's score (higher: more likely right)."""
        value = (top_decision - self.decision_mean) / self.decision_std
        if self.neighbour_mean is not None and closest_labelled is not None:
            value += (closest_labelled - self.neighbour_mean) / cast(float, self.neighbour_std)  # set with the mean
        return float(value)

    def familiarity(self, top_decision: float, closest_of_intent: float, intent: str | None = None) -> float:
        """The novelty check's score (higher: more like the known questions of that intent)."""
        stats = self.intent_stats.get(intent) if self.intent_stats is not None and intent is not None else None
        # The intent-neighbour figures are set whenever the novelty check is (see fit).
        decision_mean, decision_std, neighbour_mean, neighbour_std = stats or (
            self.decision_mean, self.decision_std, cast(float, self.intent_neighbour_mean),
            cast(float, self.intent_neighbour_std))
        return float((top_decision - decision_mean) / decision_std
                     + (closest_of_intent - neighbour_mean) / neighbour_std)

    def checks_novelty(self, observed: Observation) -> bool:
        return self.novelty_threshold is not None and observed.closest_of_intent is not None

    def unfamiliar(self, observed: Observation) -> bool:
        if self.novelty_threshold is None or observed.closest_of_intent is None:  # not checks_novelty
            return False
        familiarity = self.familiarity(observed.top_decision, observed.closest_of_intent, observed.intent)
        return familiarity < self.novelty_threshold

    def decide(self, observed: Observation) -> AbstainReason | None:
        """Why to abstain (one of :data:`REASONS`), or ``None`` to answer: the novelty check
        first, then the precision rule, whose abstentions are ambiguous when a close pair of
        intents is trustworthy together (the agent can pick one) and low confidence otherwise."""
        if self.unfamiliar(observed):
            return UNFAMILIAR
        # answered_threshold is fitted whenever the novelty check is.
        threshold = cast(float, self.answered_threshold) if self.checks_novelty(observed) else self.threshold
        if self.score(observed.top_decision, observed.closest_labelled) >= threshold:
            return None
        return AMBIGUOUS if self.ambiguous(observed.probabilities) else LOW_CONFIDENCE

    def ambiguous(self, probabilities: tuple[float, ...] | None) -> bool:
        """Whether the two most likely intents are close and together right often enough."""
        if self.ambiguity_threshold is None or probabilities is None or len(probabilities) < 2:
            return False
        first, second = probabilities[:2]
        return second >= MIN_RUNNER_UP_SHARE * first and first + second >= self.ambiguity_threshold

    @classmethod
    def fit(cls, top_decision: np.ndarray, correct: np.ndarray, closest_labelled: np.ndarray | None,
            target_precision: float = DEFAULT_TARGET_PRECISION, closest_of_intent: np.ndarray | None = None,
            probabilities: np.ndarray | None = None, pair_correct: np.ndarray | None = None,
            novelty_budget: float = DEFAULT_NOVELTY_BUDGET, predicted: np.ndarray | None = None) -> AbstentionRule:
        """From out-of-fold observations of the same labelled texts: the top decision value,
        whether the answer was right and (with a reference set) the leave-one-out cosine to the
        nearest labelled example. ``closest_of_intent`` (leave-one-out cosine to the nearest
        example of the predicted intent) adds the novelty check, judged per ``predicted`` intent
        (one name per row) when given; ``probabilities`` (n x 2: the two most likely intents'
        calibrated probabilities) and ``pair_correct`` (the truth is one of those two) let a
        precision abstention be called ambiguous."""
        decision_mean = float(top_decision.mean())
        decision_std = max(float(top_decision.std()), MIN_DECISION_SPREAD)
        neighbour_mean = neighbour_std = None
        if closest_labelled is not None:
            neighbour_mean = float(closest_labelled.mean())
            neighbour_std = max(float(closest_labelled.std()), MIN_NEIGHBOUR_SPREAD)
        rule = cls(decision_mean, decision_std, neighbour_mean, neighbour_std, 0.0, target_precision)
        unfamiliar = np.zeros(len(top_decision), dtype=bool)
        if closest_of_intent is not None:
            rule = replace(rule, intent_neighbour_mean=float(closest_of_intent.mean()),
                           intent_neighbour_std=max(float(closest_of_intent.std()), MIN_NEIGHBOUR_SPREAD),
                           novelty_budget=float(novelty_budget))
            if predicted is not None:
                stats, familiarity = _intent_stats(rule, top_decision, closest_of_intent, predicted)
                rule = replace(rule, intent_stats=stats)
            else:
                familiarity = np.array([rule.familiarity(d, n) for d, n in zip(top_decision, closest_of_intent,
                                                                                 strict=True)])
            rule = replace(rule, novelty_threshold=threshold_for_budget(familiarity, novelty_budget))
            unfamiliar = familiarity < rule.novelty_threshold
        combined = np.array([rule.score(d, n) for d, n in zip(
            top_decision, closest_labelled if closest_labelled is not None else [None] * len(top_decision),
            strict=True)])
        correct = correct.astype(float)
        rule = replace(rule, threshold=threshold_for_precision(combined, correct, target_precision))
        abstained = combined < rule.threshold
        if closest_of_intent is not None:  # the precision promised is that of the answers actually given
            answered = ~unfamiliar
            rule = replace(rule, answered_threshold=threshold_for_precision(combined[answered], correct[answered],
                                                                            target_precision))
            abstained = ~unfamiliar & (combined < rule.answered_threshold)
        if probabilities is not None and pair_correct is not None:
            rule = replace(rule, ambiguity_threshold=_ambiguity_threshold(probabilities, pair_correct, abstained,
                                                                          target_precision))
        return rule


def _intent_stats(rule: AbstentionRule, top_decision: np.ndarray, closest_of_intent: np.ndarray,
                  predicted: np.ndarray) -> tuple[dict[str, tuple[float, float, float, float]], np.ndarray]:
    """Each predicted intent's (decision mean, spread, nearest-example mean, spread), shrunk
    toward the tenant-wide figures by :data:`INTENT_PRIOR_ROWS` rows, spreads floored as theirs;
    and each row's familiarity judged by its intent's figures estimated *without* that row. The
    threshold is a quantile of those: figures that had seen the row would make every row look
    typical, and new questions would be called unfamiliar more often than the budget allows."""
    stats, familiarity = {}, np.zeros(len(predicted))
    for intent in np.unique(predicted):
        rows = predicted == intent
        decision, decision_each = _shrunk(top_decision[rows], rule.decision_mean, rule.decision_std,
                                          MIN_DECISION_SPREAD)
        neighbour, neighbour_each = _shrunk(closest_of_intent[rows], cast(float, rule.intent_neighbour_mean),
                                            cast(float, rule.intent_neighbour_std), MIN_NEIGHBOUR_SPREAD)
        stats[str(intent)] = (*decision, *neighbour)
        familiarity[rows] = ((top_decision[rows] - decision_each[0]) / decision_each[1]
                             + (closest_of_intent[rows] - neighbour_each[0]) / neighbour_each[1])
    return stats, familiarity


def _shrunk(values: np.ndarray, mean: float, std: float, floor: float):
    """(centre, spread) of ``values`` as if :data:`INTENT_PRIOR_ROWS` more had mean ``mean`` and
    spread ``std``; and the same per value, estimated without it (arrays)."""
    prior = INTENT_PRIOR_ROWS

    def estimate(count, total, squares):
        centre = (total + prior * mean) / (count + prior)
        variance = (squares - 2 * centre * total + count * centre ** 2 + prior * std ** 2) / (count + prior)
        return centre, np.maximum(np.sqrt(np.maximum(variance, 0.0)), floor)

    total, squares = values.sum(), (values ** 2).sum()
    centre, spread = estimate(len(values), total, squares)
    return (float(centre), float(spread)), estimate(len(values) - 1, total - values, squares - values ** 2)


def _ambiguity_threshold(probabilities: np.ndarray, pair_correct: np.ndarray, abstained: np.ndarray,
                         target_precision: float) -> float:
    """The least probability mass of the top two intents at which, among out-of-fold precision
    abstentions whose runner-up is close, the truth is one of the two at the target precision."""
    close = abstained & (probabilities[:, 1] >= MIN_RUNNER_UP_SHARE * probabilities[:, 0])
    if close.sum() < MIN_AMBIGUOUS_EVIDENCE:
        return target_precision  # calibrated probabilities: the pair is right this often
    mass = probabilities[close].sum(axis=1)
    threshold = threshold_for_precision(mass, pair_correct[close].astype(float), target_precision)
    return max(threshold, float(mass.min()))  # never below the evidence (no pair seen so uncertain)
