"""Which planted symptom the churn score detects worst: a diagnosis on the tuning histories.

The simulator (:mod:`core.demo.accounts`) plants up to eight symptoms in each churner, each with
chance ``SYMPTOM_CHANCE``, and none in the silent ones. For each symptom this prints, over the
tuning histories (seeds 100 to 109 by default, never the reported seeds of ``bench/churn.py``):

- the rule score's AUC of the churners showing it, and of the other (not silent) churners, each
  against every renewal of their history;
- its gain: the coefficient of a least-squares fit of each churner's rank among the renewals
  (the share of renewals scoring lower) on which symptoms it shows, so a symptom that usually
  comes with others is not credited with theirs;
- the AUC of the feature(s) meant to catch it, for churners with and without it;
- where the symptom is written into the tickets (frustrated sentences, cancellation and competitor
  phrases), how many of the tickets it was planted in are read as such.

Then the churners without any symptom, the churners by how many symptoms they show, and by how
many weeks before their date their decline began (4 to 10). With ``--upper-bound``, what reading
every planted sentence would be worth: the mean AUC of each history left out of the weight fit
(as ``bench/churn_weights.py``) as the tickets are read, and again with every ticket holding a
planted cancellation or competitor phrase, or a planted frustrated sentence, read as such. Reading
the simulator's phrase lists is what a diagnosis may do and the product may not: no rule copies
them.

    .venv/bin/python bench/churn_symptoms.py [--seeds 100-109] [--strength 0.5] [--accounts 300] [--upper-bound]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.churn import LabelledHistory, labelled_history  # noqa: E402
from bench.churn_weights import fit, shares  # noqa: E402
from core.demo.accounts import CANCELLING, COMPETING, FRUSTRATED, SYMPTOMS  # noqa: E402
from core.insights.churn.facts import TicketFacts  # noqa: E402
from core.insights.churn.learned import labelled  # noqa: E402
from core.insights.churn.rules import rule_score  # noqa: E402

#: The features meant to catch each symptom.
CAUGHT_BY = {
    "volume": ("volume_trend",), "repeat": ("repeat_contacts",), "reopen": ("reopened",),
    "slow": ("slow_resolution", "unresolved"), "sentiment": ("frustrated_share", "frustration_trend"),
    "csat": ("bad_csat",), "words": ("cancellation", "competitor"), "downgrade": ("downgrade",),
}


def _read_planted(history: LabelledHistory, kind: str) -> list[TicketFacts]:
    """The history's facts with every ticket holding a planted sentence of ``kind`` read as such."""
    read = []
    for fact in history.facts:
        body = history.simulated.tickets[fact.ticket_id].messages[0].body
        if kind == "words" and any(p in body for p in CANCELLING + COMPETING):
            fact = dataclasses.replace(fact, cancellation=fact.cancellation or any(p in body for p in CANCELLING),
                                       competitor=fact.competitor or any(p in body for p in COMPETING))
        elif kind == "frustrated" and any(p in body for p in FRUSTRATED):
            fact = dataclasses.replace(fact, frustrated=True)
        read.append(fact)
    return read


def _left_out_auc(histories: list[tuple[np.ndarray, np.ndarray]]) -> float:
    aucs = []
    for k, (x, y) in enumerate(histories):
        aucs.append(roc_auc_score(y, x @ fit(histories[:k] + histories[k + 1:])))
    return float(np.mean(aucs))


def _matrix(pairs: list) -> tuple[np.ndarray, np.ndarray]:
    return shares(np.array([f.vector() for _, f in pairs])), np.array([int(o.churned) for o, _ in pairs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="100-109", help="first-last, the tuning histories")
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--upper-bound", action="store_true", help="also what reading every planted sentence is worth")
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    churners: list[tuple[frozenset[str], float, dict[str, float], float]] = []  # symptoms, rank, values, weeks
    renewals: list[dict[str, float]] = []
    planted = {"frustrated": [0, 0], "cancellation or competitor": [0, 0]}  # [planted, read as such]
    bounds: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"as read": [], "words": [], "frustrated": []}
    for seed in range(first, last + 1):
        history = labelled_history(seed, args.strength, args.accounts)
        if args.upper_bound:
            bounds["as read"].append(_matrix(history.pairs))
            for kind in ("words", "frustrated"):
                bounds[kind].append(_matrix(labelled(_read_planted(history, kind), history.outcomes)))
        scores = [rule_score(f.values) for _, f in history.pairs]
        renewed = np.sort([s for (o, _), s in zip(history.pairs, scores, strict=True) if not o.churned])
        for (outcome, features), score in zip(history.pairs, scores, strict=True):
            if not outcome.churned:
                renewals.append(features.values)
                continue
            rank = (np.searchsorted(renewed, score, "left") + np.searchsorted(renewed, score, "right")) / 2
            weeks = (outcome.on - history.onsets[outcome.account]) / timedelta(weeks=1)
            churners.append((history.symptoms[outcome.account], float(rank / len(renewed)), features.values, weeks))
        for fact in history.facts:
            body = history.simulated.tickets[fact.ticket_id].messages[0].body
            if any(p in body for p in FRUSTRATED):
                planted["frustrated"][0] += 1
                planted["frustrated"][1] += fact.frustrated
            if any(p in body for p in CANCELLING + COMPETING):
                planted["cancellation or competitor"][0] += 1
                planted["cancellation or competitor"][1] += fact.cancellation or fact.competitor
    showing = [c for c in churners if c[0]]
    design = np.array([[1.0] + [float(s in c[0]) for s in SYMPTOMS] for c in showing])
    gains = np.linalg.lstsq(design, np.array([c[1] for c in showing]), rcond=None)[0][1:]

    def feature_auc(group: list, name: str) -> float:
        values = [c[2][name] for c in group] + [r[name] for r in renewals]
        return float(roc_auc_score([1] * len(group) + [0] * len(renewals), values))

    print(f"histories {first}-{last} at strength {args.strength}: {len(churners)} churners, {len(renewals)} renewals; "
          f"rule AUC {np.mean([c[1] for c in churners]):.3f}")
    print(f"{'symptom':>10} {'churners':>8} {'AUC with':>8} {'without':>8} {'gain':>6}  feature: AUC with, without")
    for symptom, gain in zip(SYMPTOMS, gains, strict=True):
        with_it = [c for c in showing if symptom in c[0]]
        without = [c for c in showing if symptom not in c[0]]
        caught = ", ".join(f"{name} {feature_auc(with_it, name):.3f} {feature_auc(without, name):.3f}"
                           for name in CAUGHT_BY[symptom])
        print(f"{symptom:>10} {len(with_it):>8} {np.mean([c[1] for c in with_it]):>8.3f} "
              f"{np.mean([c[1] for c in without]):>8.3f} {gain:>+6.3f}  {caught}")
    silent = [c[1] for c in churners if not c[0]]
    print(f"{'none':>10} {len(silent):>8} {np.mean(silent):>8.3f}")
    print("planted in tickets, read as such: " + "; ".join(
        f"{kind} {read}/{total} ({read / total:.2f})" for kind, (total, read) in planted.items() if total))
    print("churners by symptoms shown:")
    for count in range(len(SYMPTOMS) + 1):
        group = [c[1] for c in churners if len(c[0]) == count]
        if group:
            print(f"  {count} symptoms: {len(group):>4} churners, AUC {np.mean(group):.3f}")
    print("churners by weeks of decline before their date:")
    for weeks in (4, 6, 8):
        group = [c[1] for c in churners if weeks <= c[3] < weeks + 2 or (weeks == 8 and c[3] >= 10)]
        print(f"  {weeks} to {weeks + 2} weeks: {len(group):>4} churners, AUC {np.mean(group):.3f}")
    if args.upper_bound:
        print("AUC of each history left out of the weight fit, mean: " + "; ".join(
            f"{kind if kind == 'as read' else 'every planted ' + kind + ' sentence read'} {_left_out_auc(h):.4f}"
            for kind, h in bounds.items()))


if __name__ == "__main__":
    main()
