"""Everything one tenant's suggestions need, trained together and stored as one versioned artifact."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy.special import softmax

from core.ml.abstention import (
    DEFAULT_NOVELTY_BUDGET,
    DEFAULT_TARGET_PRECISION,
    AbstainReason,
    AbstentionRule,
    Observation,
)
from core.ml.encoder import SentenceEncoding, sentence_part
from core.ml.intent import IntentClassifier
from core.ml.ngrams import NgramRows, text_features
from core.ml.page_context import ContextKey, with_context
from core.ml.retrieval import DEFAULT_DRAFT_PRECISION, DraftRule
from core.ml.similarity import SimilarityIndex, nearest_others, nearest_per_label
from core.ml.tags import TagModel, word_block_width
from core.text.vocabulary import Vocabulary


@dataclass(frozen=True)
class IntentJudgement:
    """What the intent model says about a question: the most likely intents with calibrated
    probabilities (best first) and the abstention reason (``None``: it answers)."""

    probabilities: dict[str, float]
    abstain_reason: AbstainReason | None

    @property
    def intent(self) -> str:
        return next(iter(self.probabilities))


@dataclass(frozen=True)
class TrainingTicket:
    """The slice of a stored ticket that training reads."""

    ticket_id: int
    external_id: str
    text: str
    intent: str | None
    tags: list[str]
    reply: str | None  # the first public agent reply, cleaned, when the ticket was resolved
    requester_name: str | None
    agent_name: str | None = None  # who wrote that reply
    #: Where the customer asked (a :func:`core.ml.page_context.stored_key`), when the ticket had a page context.
    context: str | None = None


@dataclass
class Resolution:
    """How a resolved ticket was answered: the evidence a draft is built from."""

    ticket_id: int
    external_id: str
    intent: str | None
    reply: str
    requester_name: str | None
    #: The page it was asked on (a stored :class:`core.ml.page_context.ContextKey`); models saved
    #: before contexts existed load with ``None``.
    context: str | None = None


#: A noisy source's target is lowered at most this far (times 0.85): labels less consistent than
#: that cannot say how often answers are right, and abstaining more is the honest outcome.
MIN_LABEL_CONSISTENCY = 0.85

#: How many labelled tickets estimate the nearest-neighbour spread for abstention (enough for a
#: stable mean and spread; bounds training time at 100,000 tickets).
NEIGHBOUR_SAMPLE = 3000

#: The intent model learns from at most this many of the newest labelled tickets per intent: past
#: a few hundred examples an intent gains little, while training time and memory keep growing
#: (a 100,000-ticket tenant would otherwise copy 100,000 x 1,152 sentence-vector values into the
#: SVM's sparse input), and the newest tickets say best how customers ask today.
TRAIN_PER_INTENT = 400

#: The newest labelled tickets per intent that out-of-fold scores (temperature, abstention) are
#: computed on, and that "how close is the nearest labelled example?" compares with at serving
#: time. Banking77 (at most 187 per intent) is used whole.
REFERENCE_PER_INTENT = 200


@dataclass
class TicketModel:
    """``intents`` and ``abstention`` are ``None`` while the tenant has no intent labels (a
    history straight from a helpdesk): the model then answers with similar resolved tickets, a
    draft where :attr:`draft_rule` trusts the closest one, and tags from :attr:`tag_model`."""

    intents: IntentClassifier | None
    abstention: AbstentionRule | None
    tags_by_intent: dict[str, dict[str, float]]
    index: SimilarityIndex
    resolutions: dict[int, Resolution]  # by ticket id
    vocabulary: Vocabulary
    encoder_name: str | None  # sentence encoder the model was trained with (None: n-grams only)
    metrics: dict[str, Any] = field(default_factory=dict)  # figures, and the tag model's under "tags"
    #: Which tags agents put on tickets, learned from the text (see :mod:`core.ml.tags`); models
    #: trained before it existed load with ``None`` and score tags as P(tag | intent).
    tag_model: TagModel | None = None
    #: The n-gram features when there is no intent model to hold them.
    ngram_features: NgramRows | None = None
    #: When a draft may come from the closest resolved ticket without an intent (day one).
    draft_rule: DraftRule | None = None
    #: Where the intent labels came from (a :class:`core.labelling.sources.LabelSource` spec).
    label_source: str = "intent"
    #: The intent model read page-context words (:func:`core.ml.page_context.with_context`) on the
    #: tickets that had one. Only then does a question's context reach it: a model that never saw
    #: those words would only read noise in their character n-grams.
    context_aware: bool = False

    @property
    def has_intents(self) -> bool:
        return self.intents is not None

    @property
    def ngrams(self) -> NgramRows:
        # Without an intent model, the model keeps its own n-gram features.
        return self.intents._ngram_rows if self.intents is not None else cast(NgramRows, self.ngram_features)

    def ngram_row(self, text: str):
        return self.ngrams.row(text)

    @classmethod
    def fit(cls, tickets: list[TrainingTicket], target_precision: float = DEFAULT_TARGET_PRECISION,
            encoder: SentenceEncoding | None = None, vectors: np.ndarray | None = None,
            tag_options: dict | None = None, draft_precision: float = DEFAULT_DRAFT_PRECISION,
            noisy_labels: bool = False, novelty_budget: float = DEFAULT_NOVELTY_BUDGET) -> TicketModel:
        """Train every part from ``tickets``; ``encoder`` adds sentence vectors (see :mod:`core.ml.encoder`),
        or pass ``vectors`` already encoded by it (one row per ticket). Tickets without an intent
        still teach similarity, drafts and tags; with fewer than two intents there is no intent
        model. ``tag_options`` go to :func:`fit_tag_model` (excluded tags, target precision);
        ``draft_precision`` is how often a day-one draft's source reply must agree with the reply
        the ticket really got (see :mod:`core.ml.retrieval`). ``noisy_labels``: intents come from
        a field agents fill rather than a curated intent (see :func:`_abstention_rule`).
        ``novelty_budget``: the share of known questions the novelty check may wrongly call
        unfamiliar (see :mod:`core.ml.abstention`)."""
        texts = [t.text for t in tickets]
        # The intent model alone reads the page context, as words after the text: sentence vectors,
        # similar tickets and tags stay on what the customer wrote (a page is not a paraphrase).
        context_aware = any(t.context for t in tickets)
        intent_texts = [with_context(t.text, ContextKey.parse(t.context)) for t in tickets] if context_aware \
            else texts
        if encoder is not None and vectors is None:
            vectors = encoder.encode(texts)
        labelled_rows = np.asarray([i for i, t in enumerate(tickets) if t.intent], dtype=np.int64)
        labelled = [tickets[i] for i in labelled_rows]
        intents = abstention = ngram_features = None
        train_rows = reference_rows = np.zeros(0, np.int64)
        if len({t.intent for t in labelled}) >= 2:
            labels = [t.intent for t in labelled]
            train_rows = labelled_rows[newest_per_label(labels, TRAIN_PER_INTENT)]
            train_labels = [tickets[i].intent for i in train_rows]
            reference_in_train = newest_per_label(train_labels, REFERENCE_PER_INTENT)
            reference_rows = train_rows[reference_in_train]
            intents = IntentClassifier.fit([intent_texts[i] for i in train_rows], train_labels,
                                           vectors[train_rows] if vectors is not None else None,
                                           out_of_fold_rows=reference_in_train)
        else:
            labelled = []
            ngram_features = NgramRows(text_features().fit(texts)) if texts else None
        ngrams = intents._ngram_rows if intents is not None else ngram_features

        tags_by_intent: dict[str, dict[str, float]] = {}
        counts: dict[str, Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        for t in labelled:
            totals[t.intent] += 1
            counts[t.intent].update(t.tags)
        for intent, tag_counts in counts.items():
            tags_by_intent[intent] = {tag: n / totals[intent] for tag, n in tag_counts.items()}

        ngram_matrix = cast(NgramRows, ngrams).transform(texts) if texts else None  # made whenever there is text
        index_features = sentence_part(vectors) if vectors is not None else ngram_matrix
        index = SimilarityIndex.build(index_features, [t.ticket_id for t in tickets],
                                      [t.intent if intents is not None else None for t in tickets],
                                      [bool(t.reply) for t in tickets], reference_rows=reference_rows)
        if intents is not None:
            abstention = _abstention_rule(intents, index, target_precision, noisy_labels, novelty_budget)
            intents.out_of_fold = None  # only needed to fit the rule; not worth storing
        resolutions = {t.ticket_id: Resolution(t.ticket_id, t.external_id, t.intent, t.reply, t.requester_name,
                                               t.context)
                       for t in tickets if t.reply}
        draft_rule = None
        if intents is None:
            draft_rule = DraftRule.fit(index.matrix, index.resolved_rows,
                                       [tickets[i].reply for i in index.resolved_rows], draft_precision)
        tag_model = fit_tag_model(ngrams, ngram_matrix, vectors, [t.tags for t in tickets], tag_options or {})
        vocabulary = Vocabulary.learn(texts, [tag for t in tickets for tag in t.tags],
                                      [t.requester_name for t in tickets], [t.agent_name for t in tickets])
        metrics: dict[str, Any] = {
            "cv_accuracy": intents.cv_accuracy if intents is not None else None,
            "abstention_threshold": abstention.threshold if abstention is not None else None,
            "target_precision": target_precision,
            "novelty_budget": novelty_budget if abstention is not None else None,
            "novelty_threshold": abstention.novelty_threshold if abstention is not None else None,
            "answered_threshold": abstention.answered_threshold if abstention is not None else None,
            "ambiguity_threshold": abstention.ambiguity_threshold if abstention is not None else None,
            "temperature": intents.temperature if intents is not None else None,
            "n_labelled": len(labelled),
            "n_trained_on": len(train_rows),
            "n_intents": len(intents.classes) if intents is not None else 0,
            "n_resolved": len(resolutions),
            "n_tags_learned": len(tag_model.tags) if tag_model is not None else 0,
            "draft_min_similarity": draft_rule.min_similarity if draft_rule is not None else None,
        }
        if tag_model is not None:
            metrics["tags"] = {k: tag_model.metrics[k] for k in ("micro_precision", "micro_recall", "micro_f1",
                                                                 "macro_f1") if k in tag_model.metrics}
        return cls(intents, abstention, tags_by_intent, index, resolutions, vocabulary,
                   encoder.name if encoder is not None else None, metrics, tag_model, ngram_features, draft_rule,
                   context_aware=context_aware and intents is not None)

    def cluster_vectors(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        """Unit-length dense rows for clustering: sentence vectors, or reduced n-grams without them."""
        if vectors is not None:
            return sentence_part(vectors)
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        ngrams = self.ngrams.transform(texts)
        components = max(1, min(100, ngrams.shape[1] - 1, len(texts) - 1))
        return normalize(TruncatedSVD(components, random_state=0).fit_transform(ngrams))

    def similarity_query(self, text: str, vector: np.ndarray | None, ngrams=None):
        """The query row for :attr:`index`: the sentence vector, or n-grams without an encoder
        (``ngrams`` is the text's :meth:`IntentClassifier.ngram_row` when already made)."""
        if vector is not None:
            return sentence_part(vector.reshape(1, -1))
        return self.ngram_row(text) if ngrams is None else ngrams

    def intent_judgement(self, text: str, vector: np.ndarray | None, ngrams=None, query=None,
                         context: ContextKey | None = None) -> IntentJudgement:
        """The intents a suggestion would propose for ``text`` and whether (and why) it would
        abstain, exactly as :func:`core.suggesting.suggest.build_suggestion` decides it (benchmarks and
        evaluation read this so their figures are the served ones). Needs an intent model.
        ``context``: where the question was asked; read only by a :attr:`context_aware` model."""
        intents, abstention = cast(IntentClassifier, self.intents), cast(AbstentionRule, self.abstention)
        ngrams = self.ngram_row(text) if ngrams is None else ngrams
        query = self.similarity_query(text, vector, ngrams) if query is None else query
        if context is not None and getattr(self, "context_aware", False):
            text = with_context(text, context)
            ngrams = self.ngram_row(text)
        reference = self.index.reference_cosines(query)  # read twice: nearest examples per intent, abstention
        shared = reference if intents.neighbour_weight and len(reference) else None
        probabilities, top_decision = intents.probabilities(text, vector, ngrams=ngrams, reference_cosines=shared)
        reason = abstention.decide(self.observe(probabilities, top_decision, reference))
        return IntentJudgement(probabilities, reason)

    def observe(self, probabilities: dict[str, float], top_decision: float,
                reference_cosines: np.ndarray) -> Observation:
        """What the abstention rule reads about a question, from what a suggestion has already
        computed: :meth:`IntentClassifier.probabilities` (best first) with its top decision value,
        and the query's :meth:`SimilarityIndex.reference_cosines`. No new scan of the reference set."""
        predicted = next(iter(probabilities))
        closest = float(reference_cosines.max()) if len(reference_cosines) else 0.0
        of_intent = self.index.closest_of_intent(reference_cosines, predicted) if len(reference_cosines) else None
        return Observation(float(top_decision), closest, of_intent, tuple(list(probabilities.values())[:2]), predicted)

    def tag_scores(self, intent_probabilities: dict[str, float], minimum: float = 0.3) -> list[tuple[str, float]]:
        """P(tag | text) as the sum over intents of P(intent | text) * P(tag | intent)."""
        scores: Counter = Counter()
        for intent, p in intent_probabilities.items():
            for tag, share in self.tags_by_intent.get(intent, {}).items():
                scores[tag] += p * share  # type: ignore[assignment]  # a Counter adds floats; typeshed says int
        return [(tag, round(float(s), 4)) for tag, s in scores.most_common() if s >= minimum]


def fit_tag_model(ngrams: NgramRows | None, ngram_matrix, vectors: np.ndarray | None, tag_lists: list[list[str]],
                  options: dict) -> TagModel | None:
    """The multi-label tag model (see :mod:`core.ml.tags`), or ``None`` when no tag has enough
    tickets. ``options``: ``excluded`` tags and the tags' ``target_precision``."""
    if ngram_matrix is None or ngrams is None:
        return None
    excluded = set(options.get("excluded", ()))
    # Only tickets an agent tagged teach tags: an untagged ticket (not yet triaged, or a team that
    # tags some channels only) says nothing about which tags would have been right.
    rows = np.asarray([i for i, tags in enumerate(tag_lists) if any(t not in excluded for t in tags)], np.int64)
    if len(rows) == 0:
        return None
    return TagModel.fit(ngram_matrix[rows], [tag_lists[i] for i in rows], None if vectors is None else vectors[rows],
                        word_columns=word_block_width(ngrams.union),
                        target_precision=options.get("target_precision", 0.9), excluded=options.get("excluded", ()))


#: Two reference tickets at least this close (cosine) ask the same question and deserve one label.
NEAR_DUPLICATE = 0.9
#: Fewer near-duplicate pairs than this say nothing about the labels' consistency.
MIN_NEAR_PAIRS = 30


def label_consistency(index: SimilarityIndex, truth: np.ndarray, chunk: int = 512) -> float | None:
    """How often a label is right, estimated without any model: among pairs of near-identical
    reference tickets (each with its nearest other one), the share with the same label is about
    q squared when each label is right with probability q (two wrong labels rarely agree), so q
    is its square root. ``None`` with too few such pairs."""
    reference = index.reference
    if reference is None or reference.shape[0] < 2:
        return None
    nearest, closest = nearest_others(reference, np.arange(reference.shape[0]), chunk)
    pairs = closest >= NEAR_DUPLICATE
    if pairs.sum() < MIN_NEAR_PAIRS:
        return None
    return float(np.sqrt((truth[pairs] == truth[nearest[pairs]]).mean()))


def newest_per_label(labels: list[str], cap: int) -> np.ndarray:
    """Positions of the last ``cap`` occurrences of each label (labels in time order, oldest
    first), in their original order."""
    seen: Counter = Counter()
    keep = []
    for position in range(len(labels) - 1, -1, -1):
        if seen[labels[position]] < cap:
            seen[labels[position]] += 1
            keep.append(position)
    return np.asarray(keep[::-1], dtype=np.int64)


def _abstention_rule(intents: IntentClassifier, index: SimilarityIndex, target_precision: float,
                     noisy_labels: bool = False, novelty_budget: float = DEFAULT_NOVELTY_BUDGET) -> AbstentionRule:
    """Fit the rule (see :mod:`core.ml.abstention`) on what a suggestion would observe about each
    reference row (the rows the out-of-fold scores were computed for, in the same order) had it
    not been trained on: its out-of-fold decision values, and its leave-one-out cosines to the
    nearest other reference row of each intent, which give the nearest-example term (so the
    predicted intent and whether it is right are those of the served model), the nearest
    labelled example, and the nearest example of the predicted intent.
    ``noisy_labels``: the labels come from a helpdesk field agents fill, so a right answer is
    sometimes scored against a wrong label; the precision asked of the labels is the target times
    their consistency (:func:`label_consistency`)."""
    oof, truth = cast(tuple[np.ndarray, np.ndarray], intents.out_of_fold)  # fit keeps them
    sample = np.arange(len(truth))
    if noisy_labels:  # an answer can be right where the label is not: ask the labels' precision of it
        consistency = label_consistency(index, truth)
        if consistency is not None:
            target_precision = target_precision * max(consistency, MIN_LABEL_CONSISTENCY)
    if len(sample) > NEIGHBOUR_SAMPLE:
        sample = np.sort(np.random.default_rng(0).choice(sample, NEIGHBOUR_SAMPLE, replace=False))
    linear = oof[sample]
    if len(truth) < 2:
        correct = linear.argmax(axis=1) == truth[sample]
        return AbstentionRule.fit(linear.max(axis=1), correct, None, target_precision)
    nearest = nearest_per_label(index.reference, truth, sample, len(intents.classes))
    scores = linear + intents.neighbour_weight * nearest
    predicted = scores.argmax(axis=1)
    rows = np.arange(len(sample))
    probabilities = softmax(scores / intents.temperature, axis=1)
    top_two = np.argsort(-probabilities, axis=1)[:, :2]
    return AbstentionRule.fit(
        linear.max(axis=1), predicted == truth[sample], nearest.max(axis=1), target_precision,
        closest_of_intent=nearest[rows, predicted],
        probabilities=np.take_along_axis(probabilities, top_two, axis=1),
        pair_correct=(top_two == truth[sample][:, None]).any(axis=1),
        novelty_budget=novelty_budget, predicted=intents.classes[predicted])
