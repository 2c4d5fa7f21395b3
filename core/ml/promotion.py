"""Whether a retrained model may replace the one in service: judged on the newest tickets.

The candidate method is fitted on everything older than the holdout and scored, forced choice,
on the holdout: the labelled tickets that arrived after the model in service was trained, which
neither model has seen (the newest :data:`HOLDOUT_SHARE` of the history at most). The model in
service is scored on the same tickets. The candidate is refused only when it is worse by more
than chance explains: on a paired comparison (McNemar), the tickets only the current model gets
right must outnumber those only the candidate gets right by more than :data:`NOISE_Z` standard
deviations; a difference of a ticket or two on 80 tickets is noise, not a worse model. Then the
current model stays and the refusal is recorded with both figures. Too few new tickets to tell is a refusal too,
unless forced: a correction already acts at once through the live memory, so nothing waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ml.intent import IntentClassifier

#: Fewer new labelled tickets than this cannot tell two models apart.
MIN_HOLDOUT = 30
#: The holdout is at most this share of the labelled history (the newest part).
HOLDOUT_SHARE = 0.2
#: One-sided z for "worse beyond noise" (about 95% confidence).
NOISE_Z = 1.645


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str
    holdout: int = 0
    candidate_accuracy: float | None = None
    current_accuracy: float | None = None

    def as_dict(self) -> dict:
        return {"promoted": self.promote, "reason": self.reason, "holdout": self.holdout,
                "candidate_accuracy": self.candidate_accuracy, "current_accuracy": self.current_accuracy}


def holdout_rows(ticket_ids: np.ndarray, labelled: np.ndarray, seen_up_to: int) -> np.ndarray:
    """Positions of labelled tickets newer than ``seen_up_to``, at most the newest share."""
    newer = np.nonzero(labelled & (ticket_ids > seen_up_to))[0]
    cap = int(labelled.sum() * HOLDOUT_SHARE)
    return newer[-cap:] if cap else newer[:0]


def judge(texts: list[str], labels: list[str | None], ticket_ids: list[int], vectors: np.ndarray | None,
          current, current_vectors, seen_up_to: int, train_rows_for) -> Verdict:
    """Compare the candidate method with ``current`` (a TicketModel) on the newest tickets.

    ``current_vectors(rows)`` gives the current model's sentence vectors for those rows;
    ``train_rows_for(positions)`` picks the rows the candidate trains on (the same per-intent
    bound as full training)."""
    ids = np.asarray(ticket_ids)
    labelled = np.asarray([bool(label) for label in labels])
    holdout = holdout_rows(ids, labelled, seen_up_to)
    if len(holdout) < MIN_HOLDOUT:
        return Verdict(False, f"only {len(holdout)} labelled tickets arrived since the model in service was "
                              f"trained (at least {MIN_HOLDOUT} are needed to judge a new one)", len(holdout))
    truth = np.asarray([labels[i] for i in holdout])
    older = np.nonzero(labelled & (ids < ids[holdout[0]]))[0]
    older = older[train_rows_for([labels[i] for i in older])]
    if len({labels[i] for i in older}) < 2:
        return Verdict(True, "the older history has too few intents to compare; promoted", len(holdout))
    candidate = IntentClassifier.fit([texts[i] for i in older], [labels[i] for i in older],
                                     None if vectors is None else vectors[older], calibrate=False)
    held_texts = [texts[i] for i in holdout]
    candidate_right = _correct(candidate, held_texts, None if vectors is None else vectors[holdout], truth)
    current_right = _correct(current.intents, held_texts, current_vectors(holdout), truth)
    candidate_accuracy, current_accuracy = float(candidate_right.mean()), float(current_right.mean())
    only_current = int((current_right & ~candidate_right).sum())
    only_candidate = int((candidate_right & ~current_right).sum())
    promote = only_current - only_candidate <= NOISE_Z * np.sqrt(only_current + only_candidate)
    verb = "not worse than" if promote else "worse than"
    return Verdict(promote, f"on the {len(holdout)} newest labelled tickets the new model is {verb} the one in "
                            f"service ({candidate_accuracy:.3f} vs {current_accuracy:.3f})",
                   len(holdout), round(candidate_accuracy, 4), round(current_accuracy, 4))


def _correct(intents: IntentClassifier, texts: list[str], vectors: np.ndarray | None, truth: np.ndarray) -> np.ndarray:
    return intents.classes[intents.scores(texts, vectors).argmax(axis=1)] == truth
