"""Abstention reads novelty, not only ambiguity: a question about an intent the tenant has never
labelled is called ``unfamiliar`` even where every known intent is answered perfectly, known
questions are called so about as often as the tenant's ``novelty_budget`` allows, and every
abstention says why."""

from __future__ import annotations

import numpy as np
import pytest

from core.ml.abstention import (
    AMBIGUOUS,
    LOW_CONFIDENCE,
    REASONS,
    UNFAMILIAR,
    AbstentionRule,
    Observation,
    threshold_for_budget,
)
from core.ml.encoder import DIMENSION, LAYERS
from core.ml.model import TicketModel, TrainingTicket
from core.ml.similarity import SimilarityIndex, nearest_per_label

WIDTH = DIMENSION * len(LAYERS)


def _unit_blocks(matrix: np.ndarray) -> np.ndarray:
    """Each 384-wide block at unit length, as the encoder's vectors are."""
    blocks = matrix.reshape(len(matrix), len(LAYERS), DIMENSION)
    return (blocks / np.linalg.norm(blocks, axis=2, keepdims=True)).reshape(len(matrix), WIDTH).astype(np.float32)


def _cluster(rng, centre: np.ndarray, words: list[str], n: int) -> tuple[list[str], np.ndarray]:
    texts = [" ".join(rng.choice(words, 6)) for _ in range(n)]
    return texts, _unit_blocks(centre + rng.normal(scale=0.045, size=(n, WIDTH)))


@pytest.fixture(scope="module")
def clusters():
    """Four well-separated intents (an SVM gets every one right), and a fifth never labelled that
    shares half its words and some of its meaning with the first. Per intent: (train, probes)."""
    rng = np.random.default_rng(0)
    centres = [rng.normal(size=WIDTH) / np.sqrt(WIDTH) for _ in range(5)]
    centres[4] = (centres[0] + centres[4]) / np.sqrt(2)
    vocabularies = [[f"w{c}x{i}" for i in range(8)] for c in range(5)]
    vocabularies[4] = vocabularies[0][:4] + vocabularies[4][:4]
    data = {}
    for c, (centre, words) in enumerate(zip(centres, vocabularies, strict=True)):
        texts, vectors = _cluster(rng, centre, words, 100)
        data[f"intent_{c}"] = (texts[:60], vectors[:60]), (texts[60:], vectors[60:])
    return data


@pytest.fixture(scope="module")
def model(clusters) -> TicketModel:
    texts, labels, vectors = [], [], []
    for intent, ((train_texts, train_vectors), _) in list(clusters.items())[:4]:
        texts += train_texts
        labels += [intent] * len(train_texts)
        vectors.append(train_vectors)
    tickets = [TrainingTicket(i, str(i), t, label, [], None, None)
               for i, (t, label) in enumerate(zip(texts, labels, strict=True))]
    return TicketModel.fit(tickets, vectors=np.vstack(vectors), novelty_budget=0.05)


def _reasons(model: TicketModel, texts: list[str], vectors: np.ndarray) -> list[str | None]:
    """What a suggestion would say, computed the way a suggestion computes it."""
    return [model.intent_judgement(t, v).abstain_reason for t, v in zip(texts, vectors, strict=True)]


def test_a_perfectly_separable_tenant_still_abstains_on_a_new_intent_as_unfamiliar(model, clusters):
    assert model.metrics["cv_accuracy"] == 1.0  # every out-of-fold answer right: no evidence for a precision threshold
    texts, vectors = clusters["intent_4"][1]
    reasons = _reasons(model, texts, vectors)
    assert np.mean([r == UNFAMILIAR for r in reasons]) >= 0.9, reasons


def test_known_questions_are_called_unfamiliar_about_as_often_as_the_budget_allows(model, clusters):
    known = [r for intent, (_, (texts, vectors)) in list(clusters.items())[:4]
             for r in _reasons(model, texts, vectors)]
    assert np.mean([r is not None for r in known]) <= 0.12  # budget 0.05, on 160 probes
    assert model.metrics["novelty_budget"] == 0.05 and model.metrics["novelty_threshold"] is not None


def test_observe_reads_the_nearest_example_of_the_predicted_intent_from_the_shared_cosines(model, clusters):
    texts, vectors = clusters["intent_1"][1]
    ngrams = model.ngram_row(texts[0])
    reference = model.index.reference_cosines(model.similarity_query(texts[0], vectors[0], ngrams))
    probabilities, top = model.intents.probabilities(texts[0], vectors[0], ngrams=ngrams, reference_cosines=reference)
    observed = model.observe(probabilities, top, reference)
    of_intent = model.intents.neighbour_labels == np.searchsorted(model.intents.classes, "intent_1")
    assert next(iter(probabilities)) == "intent_1"
    assert observed.closest_of_intent == pytest.approx(float(reference[of_intent].max()))
    assert observed.closest_labelled == pytest.approx(float(reference.max()))
    assert observed.probabilities == tuple(list(probabilities.values())[:2]) and observed.top_decision == top
    assert observed.intent == "intent_1" and set(model.abstention.intent_stats) == set(model.intents.classes)


def test_each_abstention_names_its_reason():
    rng = np.random.default_rng(1)
    n = 400
    decision = rng.normal(1.0, 0.3, n)
    closest = rng.normal(0.85, 0.05, n)
    of_intent = closest - np.abs(rng.normal(0, 0.01, n))
    correct = decision + rng.normal(0, 0.2, n) > 0.6  # weak answers are the wrong ones
    mass = rng.uniform(0.5, 1.0, n)  # the top two intents' probabilities, calibrated: the pair is right that often
    probabilities = np.column_stack([0.55 * mass, 0.45 * mass])
    rule = AbstentionRule.fit(decision, correct, closest, 0.96, closest_of_intent=of_intent,
                              probabilities=probabilities, pair_correct=rng.random(n) < mass, novelty_budget=0.05)
    typical = Observation(1.2, 0.87, 0.86, (0.9, 0.05))
    assert rule.decide(typical) is None
    assert rule.decide(Observation(0.9, 0.3, 0.2, (0.9, 0.05))) == UNFAMILIAR
    assert rule.decide(Observation(0.9, 0.3, 0.2, (0.5, 0.49))) == UNFAMILIAR  # never "one of two wrong intents"
    weak = Observation(0.35, 0.85, 0.85, (0.5, 0.49))  # familiar wording, two intents share it
    assert rule.decide(weak) == AMBIGUOUS
    assert rule.decide(Observation(0.35, 0.85, 0.85, (0.4, 0.3))) == LOW_CONFIDENCE  # the pair is not enough
    assert rule.decide(Observation(0.35, 0.85, 0.85, (0.8, 0.05))) == LOW_CONFIDENCE  # no close runner-up
    assert {rule.decide(typical), rule.decide(weak)} <= {None, *REASONS}


def test_a_rule_saved_before_the_novelty_check_decides_by_precision_alone():
    old = AbstentionRule(decision_mean=1.0, decision_std=0.3, neighbour_mean=0.8, neighbour_std=0.1,
                         threshold=-1.0, target_precision=0.96)
    assert old.decide(Observation(1.0, 0.05, 0.0, (0.5, 0.5))) == LOW_CONFIDENCE
    assert old.decide(Observation(1.0, 0.8, 0.0, (0.5, 0.5))) is None  # no novelty check to fail


def test_the_budget_threshold_is_a_conformal_quantile():
    scores = np.arange(100, dtype=float)
    assert threshold_for_budget(scores, 0.05) == 4.0  # k = floor(0.05 * 101) = 5: below the 5th lowest
    assert (scores < threshold_for_budget(scores, 0.05)).mean() == 0.04
    assert threshold_for_budget(np.array([3.0, 5.0, 9.0]), 0.09) == 2.0  # too few for any: a unit below the lowest


def test_nearest_per_label_leaves_each_row_out():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(30, 8)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    labels = rng.integers(0, 4, 30)
    positions = np.array([0, 7, 29])
    got = nearest_per_label(matrix, labels, positions, 5, chunk=2)
    for row, position in zip(got, positions, strict=True):
        sims = matrix @ matrix[position]
        sims[position] = -np.inf
        for label in range(5):
            expected = max(float(sims[labels == label].max()), 0.0) if (labels == label).any() else 0.0
            assert row[label] == pytest.approx(expected, abs=1e-6)


def test_an_index_saved_before_reference_intents_gives_no_novelty_observation():
    index = SimilarityIndex.build(np.eye(3, dtype=np.float32), [1, 2, 3], ["a", "b", "a"], [True] * 3)
    cosines = index.reference_cosines(np.array([1.0, 0.0, 0.2], np.float32))
    assert index.closest_of_intent(cosines, "a") == pytest.approx(float(cosines[[0, 2]].max()))
    index.reference_by_intent = None
    assert index.closest_of_intent(cosines, "a") is None


def test_a_caller_that_cannot_observe_novelty_gets_the_precision_rule_fitted_on_every_answer():
    """Until a caller passes the nearest example of the predicted intent, abstaining is what it was."""
    rng = np.random.default_rng(4)
    decision, closest = rng.normal(1.0, 0.3, 300), rng.normal(0.85, 0.05, 300)
    correct = decision + rng.normal(0, 0.2, 300) > 0.6
    alone = AbstentionRule.fit(decision, correct, closest, 0.96)
    both = AbstentionRule.fit(decision, correct, closest, 0.96, closest_of_intent=closest, novelty_budget=0.05)
    assert both.threshold == alone.threshold and both.answered_threshold is not None
    assert alone.novelty_threshold is None and alone.answered_threshold is None
    for d, n in zip(decision[:50], closest[:50], strict=True):
        assert both.decide(Observation(d, n)) == alone.decide(Observation(d, n))


def test_per_intent_figures_judge_each_calibration_row_without_it():
    from core.ml.abstention import INTENT_PRIOR_ROWS, _shrunk

    values = np.array([0.2, 0.5, 0.9, 0.4])
    (centre, spread), (each_centre, each_spread) = _shrunk(values, 0.6, 0.3, 0.01)
    prior = np.full(INTENT_PRIOR_ROWS, 0.6)
    assert centre == pytest.approx(np.r_[values, prior].mean())
    for i in range(len(values)):
        rest = np.delete(values, i)
        expected = (rest.sum() + INTENT_PRIOR_ROWS * 0.6) / (len(rest) + INTENT_PRIOR_ROWS)
        variance = (((rest - expected) ** 2).sum() + INTENT_PRIOR_ROWS * 0.09) / (len(rest) + INTENT_PRIOR_ROWS)
        assert each_centre[i] == pytest.approx(expected) and each_spread[i] == pytest.approx(np.sqrt(variance))


@pytest.mark.parametrize(("reason", "between", "expected"), [
    ("unfamiliar", [], "this question looks new"),
    ("ambiguous", ["card_arrival", "card_delivery_estimate"], "either card arrival or card delivery estimate"),
    ("low_confidence", [], "not sure enough"),
])
def test_the_panel_tells_the_agent_why_there_is_no_draft(reason, between, expected):
    from core.types import Suggestion
    from core.web.panel_api import abstain_message

    shown = Suggestion(intent="card_arrival", confidence=0.4, abstained=True, abstain_reason=reason,
                       ambiguous_between=between)
    assert expected in abstain_message(shown)
    assert not any(other in abstain_message(shown) for other in ("looks new", "either", "not sure enough")
                   if other not in expected)


def test_a_suggestion_served_ambiguous_names_the_two_intents_best_first(model, clusters, monkeypatch):
    """Through :func:`core.suggesting.suggest.build_suggestion`: an abstention the rule calls ambiguous
    carries the two most likely intents; an answer or another reason carries none."""
    from dataclasses import replace

    from core.ml.registry import StoredModel
    from core.suggesting.suggest import build_suggestion

    texts, vectors = clusters["intent_0"][1]
    monkeypatch.setattr("core.ml.abstention.MIN_RUNNER_UP_SHARE", 0.0)  # any runner-up counts as close
    always_ambiguous = replace(model.abstention, novelty_threshold=None, threshold=1e9, answered_threshold=1e9,
                               ambiguity_threshold=0.0)
    served = replace_abstention(model, always_ambiguous)
    made = build_suggestion(served, StoredModel("v", None, {}), texts[0], vector=vectors[0])
    assert made.abstained and made.abstain_reason == AMBIGUOUS and made.draft is None
    assert made.ambiguous_between[0] == made.intent and len(made.ambiguous_between) == 2
    answered = build_suggestion(model, StoredModel("v", None, {}), texts[0], vector=vectors[0])
    assert answered.abstain_reason is None and answered.ambiguous_between == []


def replace_abstention(model: TicketModel, rule: AbstentionRule) -> TicketModel:
    import copy

    clone = copy.copy(model)
    clone.abstention = rule
    return clone
