"""Intent discovery without labels: groups found without being told how many, readable labels,
unique keys, splitting, assigning new tickets, and the reply that resolved an intent."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from core.demo.simulate import load_queries
from core.ml.discovery import (
    assign_to_intents,
    discover_intents,
    intent_centres,
    most_common_reply,
    same_intent_threshold,
    split_intent,
)

TOPICS = {
    "refund": ["I want a refund for order {n}", "Where is my refund for the broken blender?",
               "Please refund the second charge", "refund still not received after {n} days",
               "How long does a refund take?"],
    "password": ["I forgot my password", "password reset link does not work",
                 "Can't log in, need a new password", "reset my password please",
                 "the password reset email never came"],
    "delivery": ["My parcel delivery is late", "delivery was supposed to be on Monday",
                 "Where is my delivery? Tracking shows nothing", "courier missed the delivery again",
                 "delivery address needs changing for order {n}"],
    "invoice": ["Send me an invoice copy", "invoice for March is missing the VAT number",
                "I need the invoice as a PDF", "invoice total is wrong", "where can I download my invoice?"],
    "cancel": ["cancel my subscription", "how do I cancel the plan before renewal?",
               "please cancel my account and subscription", "cancel auto renewal",
               "I want to cancel, the subscription is too expensive"],
    "discount": ["the discount code is not accepted", "discount code expired yesterday",
                 "can I use two discount codes?", "my student discount was not applied",
                 "where do I enter a discount code"],
    "warranty": ["is the kettle still under warranty?", "warranty claim for a cracked screen",
                 "how long is the warranty on headphones", "my warranty repair was refused",
                 "extend the warranty to three years"],
}


def _synthetic(topics: list[str], per_topic: int = 20, outliers: int = 0, seed: int = 0):
    """Texts from templates and vectors around one random direction per topic (24 dimensions)."""
    rng = np.random.default_rng(seed)
    centres = {t: rng.normal(size=24) for t in TOPICS}
    texts, vectors, truth = [], [], []
    for topic in topics:
        for i in range(per_topic):
            template = TOPICS[topic][i % len(TOPICS[topic])]
            texts.append(template.format(n=1000 + i))
            vectors.append(centres[topic] / np.linalg.norm(centres[topic]) + rng.normal(scale=0.12, size=24))
            truth.append(topic)
    for i in range(outliers):
        texts.append(f"lorem ipsum {i}")
        vectors.append(rng.normal(size=24))
        truth.append(f"outlier {i}")
    return texts, np.asarray(vectors), np.asarray(truth)


def _purity(intents, truth) -> list[int]:
    return [len(set(truth[intent.rows])) for intent in intents]


@pytest.mark.parametrize("topics", [["refund", "password", "delivery"], list(TOPICS)])
def test_finds_the_groups_without_being_told_how_many(topics):
    texts, vectors, truth = _synthetic(topics, outliers=3)
    intents, unassigned = discover_intents(texts, vectors)
    assert len(intents) == len(topics)
    assert _purity(intents, truth) == [1] * len(topics)
    assert {truth[i.rows[0]] for i in intents} == set(topics)
    assert set(unassigned) >= {len(texts) - 3, len(texts) - 2, len(texts) - 1}  # the lorem ipsum rows
    assert len(unassigned) <= 3 + 0.05 * len(texts)
    for intent in intents:
        assert 0.0 < intent.cohesion <= 1.0
        assert 1 <= len(intent.examples) <= 5 and set(intent.examples) <= set(intent.rows)
        assert intent.examples[0] == intent.rows[0]  # closest to the centre first
        wordings = [texts[r].lower().strip("?!. ") for r in intent.examples]
        assert len(set(wordings)) == len(wordings)


def test_labels_are_distinctive_words_from_the_texts_and_keys_are_unique_slugs():
    texts, vectors, truth = _synthetic(list(TOPICS))
    intents, _ = discover_intents(texts, vectors)
    for intent in intents:
        topic = truth[intent.rows[0]]
        words = set(re.findall(r"[a-z][a-z'-]*", " ".join(texts[r].lower() for r in intent.rows)))
        label_words = re.split(r"[ /]+", intent.label)
        assert topic in label_words, intent.label  # the topic's own word, not "my" or "order"
        assert set(label_words) - {""} <= words
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", intent.key)
    assert len({i.key for i in intents}) == len(intents)


def test_same_labels_get_distinct_keys():
    texts, vectors, truth = _synthetic(["refund"], per_topic=20)
    # the same texts twice, in two far apart places: two intents with the same words
    far = vectors @ np.diag([-1.0] * 24)
    intents, _ = discover_intents(texts + texts, np.vstack([vectors, far]))
    assert len(intents) == 2
    assert intents[0].key != intents[1].key and intents[0].key.startswith("refund")


def test_split_recovers_two_merged_intents():
    texts, vectors, truth = _synthetic(["refund", "password", "delivery"])
    rows = [i for i, t in enumerate(truth) if t in ("refund", "delivery")]
    parts = split_intent(texts, vectors, rows, 2)
    assert len(parts) == 2
    assert sorted(r for p in parts for r in p.rows) == rows
    assert {truth[p.rows[0]] for p in parts} == {"refund", "delivery"}
    assert _purity(parts, truth) == [1, 1]
    assert all(truth[p.rows[0]] in re.split(r"[ /]+", p.label) for p in parts)
    assert len(split_intent(texts, vectors, rows[:3], 5)) == 3  # never more parts than rows
    assert split_intent(texts, vectors, [], 2) == []


def test_new_tickets_go_to_the_nearest_intent_or_nowhere():
    texts, vectors, truth = _synthetic(["refund", "password", "delivery"])
    intents, _ = discover_intents(texts, vectors)
    centres = intent_centres(vectors, intents)
    new_texts, new_vectors, new_truth = _synthetic(["delivery", "refund"], per_topic=4, seed=0)
    stranger = -centres.sum(axis=0)
    threshold = same_intent_threshold(vectors)
    got = assign_to_intents(np.vstack([new_vectors, stranger]), centres, threshold)
    assert got[-1] == -1
    assert [intents[i].label.split()[0] if i >= 0 else None for i in got[:-1]] == [
        intents[[truth[i.rows[0]] for i in intents].index(t)].label.split()[0] for t in new_truth]
    assert assign_to_intents(new_vectors, centres[:0], 0.0).tolist() == [-1] * len(new_vectors)


def test_the_same_input_gives_the_same_intents():
    texts, vectors, _ = _synthetic(list(TOPICS), outliers=2, seed=3)
    assert discover_intents(texts, vectors, seed=1) == discover_intents(texts, vectors, seed=1)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_tiny_inputs(n):
    texts, vectors, _ = _synthetic(["refund"], per_topic=n)
    intents, unassigned = discover_intents(texts, vectors.reshape(n, 24))
    assert intents == [] and unassigned == list(range(n))  # fewer rows than min_size
    assert assign_to_intents(vectors.reshape(n, 24), intent_centres(vectors, intents), 0.5).tolist() == [-1] * n
    if n:
        intents, unassigned = discover_intents(texts, vectors, min_size=1)
        assert sorted([r for i in intents for r in i.rows] + unassigned) == list(range(n))
        assert len({i.key for i in intents}) == len(intents)


def test_identical_tickets_are_one_intent_shown_once():
    texts = ["where is my parcel", "Where is my parcel?", "where's my parcel", "WHERE IS MY PARCEL", "parcel?",
             "where is my parcel"]
    intents, unassigned = discover_intents(texts, np.ones((6, 8)))
    assert len(intents) == 1 and intents[0].rows == [0, 1, 2, 3, 4, 5] and unassigned == []
    assert intents[0].examples == [0]  # one meaning (the same vector), shown once
    assert intents[0].label == "parcel"


def test_banking_questions_with_the_real_encoder(encoder_dir):
    from core.ml.encoder import encoder, sentence_part

    rows = [(q.text, q.intent) for q in load_queries()]
    random.Random(0).shuffle(rows)
    wanted = ["card_arrival", "change_pin", "exchange_rate", "lost_or_stolen_card", "terminate_account",
              "top_up_failed"]
    chosen = [row for intent in wanted for row in [r for r in rows if r[1] == intent][:40]]
    texts = [t for t, _ in chosen]
    truth = [i for _, i in chosen]
    vectors = sentence_part(encoder(encoder_dir).encode(texts))
    intents, unassigned = discover_intents(texts, vectors)
    assert 5 <= len(intents) <= 9
    assert len(unassigned) <= 0.15 * len(texts)
    every = assign_to_intents(vectors, intent_centres(vectors, intents), -1.0)
    assert normalized_mutual_info_score(truth, every) >= 0.75
    labels = " ".join(i.label for i in intents)
    assert "pin" in labels and "exchange" in labels and "stolen" in labels


def test_most_common_reply_groups_near_duplicates():
    refund = "Hi {name},\n\nYour refund of {amount} EUR was sent today and should arrive within 5 days.\n\nBest, Sam"
    reset = "Hello, you can reset your password from the login page."
    replies = [refund.format(name="Ann", amount=12), reset, refund.format(name="Bo", amount=130), None, reset,
               refund.format(name="Cy", amount=7), "", "Thanks!"]
    chosen = most_common_reply(list(range(len(replies))), replies)
    assert chosen is not None and "refund of" in chosen  # three refund replies beat two identical resets
    assert most_common_reply([1, 4, 7], replies) == reset
    assert most_common_reply([3, 6], replies) is None
    assert most_common_reply([], replies) is None
