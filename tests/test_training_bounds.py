"""A large history is trained on a bounded, newest-first slice, and serving cost stays bounded."""

import numpy as np

from core.ml import model as model_module
from core.ml.model import TicketModel, TrainingTicket, newest_per_label
from tests.factories import SMALL_INBOX


def test_newest_per_label_keeps_the_last_occurrences_in_time_order():
    labels = ["a", "b", "a", "a", "b", "c", "a"]
    assert newest_per_label(labels, 2).tolist() == [1, 3, 4, 5, 6]
    assert newest_per_label(labels, 10).tolist() == list(range(7))


def _history(copies: int) -> list[TrainingTicket]:
    """Every small-inbox text ``copies`` times over, oldest first, with a numbered variation."""
    tickets = []
    for round_ in range(copies):
        for intent, (texts, reply) in SMALL_INBOX.items():
            for text in texts:
                n = len(tickets)
                tickets.append(TrainingTicket(n + 1, f"t{n + 1}", f"{text} (ref {round_})", intent, [intent], reply,
                                              "Ada Lovelace"))
    return tickets


def test_training_reads_the_newest_tickets_per_intent_and_the_reference_set_is_bounded(monkeypatch):
    monkeypatch.setattr(model_module, "TRAIN_PER_INTENT", 12)
    monkeypatch.setattr(model_module, "REFERENCE_PER_INTENT", 6)
    tickets = _history(copies=6)  # 30 tickets per intent
    model = TicketModel.fit(tickets)

    assert model.metrics["n_labelled"] == 90 and model.metrics["n_trained_on"] == 36
    assert len(model.index) == 90  # every ticket stays findable as a similar ticket
    reference_ids = model.index.ticket_ids[model.index.reference_rows]
    assert len(reference_ids) == 18
    newest_ids = {t.ticket_id for t in tickets[-15:]}  # the last round holds the 5 newest of each intent
    assert newest_ids <= set(reference_ids.tolist())
    assert model.index.reference.shape[0] == 18
    # Served "closest labelled" reads the reference copy, which matches the full matrix's rows.
    assert np.allclose(model.index.reference.toarray(), model.index.matrix[model.index.reference_rows].toarray())
    probabilities, _ = model.intents.probabilities("my card never arrived")
    assert next(iter(probabilities)) == "card_arrival"
