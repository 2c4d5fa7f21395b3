"""The one-text fast paths give the same numbers as scikit-learn's transform and the batch scorer."""

import numpy as np

from core.ml.intent import IntentClassifier
from core.ml.similarity import SimilarityIndex
from tests.factories import SMALL_INBOX

TEXTS = [t for texts, _ in SMALL_INBOX.values() for t in texts]
LABELS = [intent for intent, (texts, _) in SMALL_INBOX.items() for _ in texts]


def test_ngram_row_equals_the_vectorizers_transform():
    model = IntentClassifier.fit(TEXTS, LABELS, calibrate=False)
    for text in ["Where is my REFUND??", "card card card never arrived", "zzz qqq", "", "Passwort vergessen, café"]:
        fast = model.ngram_row(text).toarray()
        reference = model.ngrams.transform([text]).toarray()
        assert fast.shape == reference.shape
        assert np.allclose(fast, reference, atol=1e-6), text


def test_score_one_equals_the_batch_scores_with_and_without_vectors():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(TEXTS), 12)).astype(np.float32)
    for with_vectors in (False, True):
        model = IntentClassifier.fit(TEXTS, LABELS, vectors if with_vectors else None, calibrate=False)
        for i, text in enumerate(["my card is late", TEXTS[3]]):
            vector = vectors[i] if with_vectors else None
            batch = model.scores([text], None if vector is None else vector.reshape(1, -1))[0]
            linear = model.scores([text], None if vector is None else vector.reshape(1, -1), neighbours=False)[0]
            one, one_linear = model.score_one(text, vector)
            assert np.allclose(one, batch, atol=1e-5) and np.allclose(one_linear, linear, atol=1e-5)
            assert with_vectors == (not np.allclose(batch, linear))  # the nearest-example term, with vectors


def test_a_suggestion_shares_the_index_reference_cosines_with_the_nearest_example_term():
    """The index's reference set and the intent model's reference examples are the same rows in
    the same order, so one set of cosines serves both."""
    from core.ml.model import TicketModel, TrainingTicket

    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(len(TEXTS), 1152)).astype(np.float32)
    tickets = [TrainingTicket(i, str(i), t, label, [], "Reply.", None)
               for i, (t, label) in enumerate(zip(TEXTS, LABELS, strict=True))]
    model = TicketModel.fit(tickets, vectors=vectors)
    query = model.similarity_query(TEXTS[2], vectors[2])
    shared = model.intents.score_one(TEXTS[2], vectors[2], reference_cosines=model.index.reference_cosines(query))
    computed = model.intents.score_one(TEXTS[2], vectors[2])
    assert np.allclose(shared[0], computed[0], atol=1e-5)
    assert model.intents.classes[shared[0].argmax()] == LABELS[2]


def test_cosines_without_scikit_learn_normalize_match_for_sparse_and_dense_rows():
    model = IntentClassifier.fit(TEXTS, LABELS, calibrate=False)
    sparse_index = SimilarityIndex.build(model.ngrams.transform(TEXTS), list(range(len(TEXTS))), LABELS,
                                         [True] * len(TEXTS))
    query = model.ngram_row("refund missing")
    expected = (sparse_index.matrix @ (query / np.sqrt(query.multiply(query).sum())).T).toarray().ravel()
    assert np.allclose(sparse_index._scores(query), expected, atol=1e-6)
    assert sparse_index._scores(model.ngram_row("qqq zzz")).max() == 0.0
    dense = np.random.default_rng(1).normal(size=(len(TEXTS), 8)).astype(np.float32)
    dense_index = SimilarityIndex.build(dense, list(range(len(TEXTS))), LABELS, [True] * len(TEXTS))
    assert np.isclose(dense_index.reference_cosines(dense[4] * 3.0).max(), 1.0, atol=1e-5)
