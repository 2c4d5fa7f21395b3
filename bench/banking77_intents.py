"""Intent accuracy and honesty on Banking77, by 5-fold cross-validation through Deskloop's model.

Trains :class:`core.ml.model.TicketModel` (the code ``deskloop train`` runs) on four folds of the
shipped Banking77 training file and scores the fifth, five times; then repeats with 10 intents
held out of training to see how often the model abstains on questions it has never seen. Prints
accuracy and macro-F1 (forced choice), the abstention rate on known intents, the accuracy of the
answers it gives, and the abstention rate on never-seen intents. The held-out Banking77 test
split is not used here (it is run through ``deskloop evaluate``).

    .venv/bin/python bench/banking77_intents.py [--folds 5] [--unknown-draws 3]

Sentence vectors are encoded once for all rows with the served encoder and reused per fold.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.simulate import load_queries
from core.ml.abstention import DEFAULT_TARGET_PRECISION
from core.ml.encoder import encoder
from core.ml.model import TicketModel, TrainingTicket


def predict(model: TicketModel, texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top intent and whether the model abstains, per text, the way a suggestion decides them
    (:meth:`TicketModel.intent_judgement`)."""
    judged = [model.intent_judgement(t, v) for t, v in zip(texts, vectors, strict=True)]
    return np.asarray([j.intent for j in judged]), np.asarray([j.abstain_reason is not None for j in judged])


def _fit_with_vectors(tickets: list[TrainingTicket], vectors: np.ndarray) -> TicketModel:
    served = encoder(ENCODER_DIR)
    return TicketModel.fit(tickets, target_precision=TARGET_PRECISION, encoder=served, vectors=vectors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--unknown-draws", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--target-precision", type=float, default=DEFAULT_TARGET_PRECISION)
    args = parser.parse_args()
    global TARGET_PRECISION
    TARGET_PRECISION = args.target_precision

    queries = load_queries()
    texts = [q.text for q in queries]
    labels = np.asarray([q.intent for q in queries])
    started = time.perf_counter()
    vectors = encoder(ENCODER_DIR).encode(texts)
    encode_seconds = time.perf_counter() - started

    predicted = np.empty(len(texts), dtype=object)
    abstained = np.zeros(len(texts), dtype=bool)
    fit_seconds = []
    splitter = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    for train, test in splitter.split(texts, labels):
        t0 = time.perf_counter()
        model = _fit_with_vectors([TrainingTicket(int(i), str(i), texts[i], str(labels[i]), [], None, None)
                                   for i in train], vectors[train])
        fit_seconds.append(time.perf_counter() - t0)
        predicted[test], abstained[test] = predict(model, [texts[i] for i in test], vectors[test])
    correct = predicted == labels
    figures = {
        "target_precision": TARGET_PRECISION,
        "n": len(texts),
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(float(f1_score(labels, predicted.astype(str), average="macro")), 4),
        "abstain_rate": round(float(abstained.mean()), 4),
        "accuracy_answered": round(float(correct[~abstained].mean()), 4),
        "encode_seconds_all_rows": round(encode_seconds, 1),
        "fit_seconds_per_fold": round(float(np.mean(fit_seconds)), 1),
    }

    intents = np.unique(labels)
    unknown_rates, known_rates = [], []
    for draw in range(args.unknown_draws):
        held_out = np.random.default_rng(draw).choice(intents, 10, replace=False)
        unseen = np.isin(labels, held_out)
        known_rows = np.nonzero(~unseen)[0]
        unseen_rows = np.nonzero(unseen)[0]
        train_pos, test_pos = next(StratifiedKFold(args.folds, shuffle=True, random_state=draw)
                                   .split(known_rows, labels[known_rows]))
        train, test = known_rows[train_pos], known_rows[test_pos]
        model = _fit_with_vectors([TrainingTicket(int(i), str(i), texts[i], str(labels[i]), [], None, None)
                                   for i in train], vectors[train])
        _, known_abstained = predict(model, [texts[i] for i in test], vectors[test])
        _, unseen_abstained = predict(model, [texts[i] for i in unseen_rows], vectors[unseen_rows])
        known_rates.append(float(known_abstained.mean()))
        unknown_rates.append(float(unseen_abstained.mean()))
    figures["unknown_abstain_rate"] = round(float(np.mean(unknown_rates)), 4)
    figures["known_abstain_rate_with_10_intents_held_out"] = round(float(np.mean(known_rates)), 4)
    figures["unknown_abstain_rate_per_draw"] = [round(r, 4) for r in unknown_rates]

    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:44} {value}")
    return 0


ENCODER_DIR = Path(tempfile.gettempdir()) / "deskloop-bench-encoders"
TARGET_PRECISION = DEFAULT_TARGET_PRECISION

if __name__ == "__main__":
    sys.exit(main())
