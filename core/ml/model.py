"""Everything one tenant's suggestions need, trained together and stored as one versioned artifact."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from core.ml.intent import DEFAULT_TARGET_PRECISION, IntentClassifier
from core.ml.encoder import SentenceEncoding, sentence_part
from core.ml.similarity import SimilarityIndex
from core.vocabulary import Vocabulary


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


@dataclass
class Resolution:
    """How a resolved ticket was answered: the evidence a draft is built from."""

    ticket_id: int
    external_id: str
    intent: str | None
    reply: str
    requester_name: str | None


@dataclass
class TicketModel:
    intents: IntentClassifier
    tags_by_intent: dict[str, dict[str, float]]
    index: SimilarityIndex
    resolutions: list[Resolution]
    vocabulary: Vocabulary
    encoder_name: str | None  # sentence encoder the model was trained with (None: n-grams only)
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, tickets: list[TrainingTicket], target_precision: float = DEFAULT_TARGET_PRECISION,
            encoder: SentenceEncoding | None = None, vectors: np.ndarray | None = None) -> TicketModel:
        """Train every part from ``tickets``; ``encoder`` adds sentence vectors (see :mod:`core.ml.encoder`),
        or pass ``vectors`` already encoded by it (one row per ticket)."""
        labelled = [t for t in tickets if t.intent]
        texts = [t.text for t in tickets]
        if encoder is not None and vectors is None:
            vectors = encoder.encode(texts)
        labelled_rows = np.asarray([i for i, t in enumerate(tickets) if t.intent], dtype=np.int64)
        intents = IntentClassifier.fit(
            [t.text for t in labelled], [t.intent for t in labelled],
            vectors[labelled_rows] if vectors is not None else None, target_precision,
        )

        tags_by_intent: dict[str, dict[str, float]] = {}
        counts: dict[str, Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        for t in labelled:
            totals[t.intent] += 1
            counts[t.intent].update(t.tags)
        for intent, tag_counts in counts.items():
            tags_by_intent[intent] = {tag: n / totals[intent] for tag, n in tag_counts.items()}

        resolved_rows = [i for i, t in enumerate(tickets) if t.reply]
        resolved = [tickets[i] for i in resolved_rows]
        if vectors is not None:
            index_rows = sentence_part(vectors[resolved_rows]) if resolved_rows else np.zeros((0, 1), np.float32)
        else:
            index_rows = intents.ngrams.transform([t.text for t in resolved]) if resolved else np.zeros((0, 1))
        index = SimilarityIndex.build(index_rows, [t.ticket_id for t in resolved], [t.intent for t in resolved])
        resolutions = [Resolution(t.ticket_id, t.external_id, t.intent, t.reply, t.requester_name) for t in resolved]
        vocabulary = Vocabulary.learn(texts, [tag for t in tickets for tag in t.tags],
                                      [t.requester_name for t in tickets], [t.agent_name for t in tickets])
        metrics = {
            "cv_accuracy": intents.cv_accuracy,
            "threshold": intents.threshold,
            "temperature": intents.temperature,
            "n_labelled": len(labelled),
            "n_intents": len(intents.classes),
            "n_resolved": len(resolved),
        }
        return cls(intents, tags_by_intent, index, resolutions, vocabulary,
                   encoder.name if encoder is not None else None, metrics)

    def cluster_vectors(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        """Unit-length dense rows for clustering: sentence vectors, or reduced n-grams without them."""
        if vectors is not None:
            return sentence_part(vectors)
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        ngrams = self.intents.ngrams.transform(texts)
        components = max(1, min(100, ngrams.shape[1] - 1, len(texts) - 1))
        return normalize(TruncatedSVD(components, random_state=0).fit_transform(ngrams))

    def similarity_query(self, text: str, vector: np.ndarray | None):
        """The query row for :attr:`index`: the sentence vector, or n-grams without an encoder."""
        if vector is not None:
            return sentence_part(vector.reshape(1, -1))
        return self.intents.ngrams.transform([text])

    def tag_scores(self, intent_probabilities: dict[str, float], minimum: float = 0.3) -> list[tuple[str, float]]:
        """P(tag | text) as the sum over intents of P(intent | text) * P(tag | intent)."""
        scores: Counter = Counter()
        for intent, p in intent_probabilities.items():
            for tag, share in self.tags_by_intent.get(intent, {}).items():
                scores[tag] += p * share
        return [(tag, round(float(s), 4)) for tag, s in scores.most_common() if s >= minimum]
