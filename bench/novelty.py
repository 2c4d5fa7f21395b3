"""Honest novelty: how often the model abstains on questions about intents it has never seen, and
on the known ones, through the code ``deskloop train`` and a suggestion run.

Three scenarios, each drawn several times; in every draw some intents are held out of training
entirely and all their questions are asked as probes (``unseen``), beside known-intent questions
the model did not train on (``known``):

- ``banking77``: the shipped Banking77 training file, 10 of 77 intents held out; the other 67
  split 5-fold, trained on four folds and probed with the fifth (the draws of
  ``bench/banking77_intents.py``, so the figures compare).
- ``subset20``: 20 random Banking77 intents known (trained on four folds, probed with the fifth)
  and 5 more held out. Known answers are right about 97% of the time here, the condition in
  which a rule read from precision alone stops abstaining.
- ``demo``: the simulated demo history (``core.demo.simulate``, seed 7, cleaned as imported), 10
  intents held out; trained on the oldest 80% of the other intents' tickets, probed with the
  newest 20%.

Each model is :meth:`core.ml.model.TicketModel.fit`; each probe goes the way a suggestion does
(n-gram row, reference cosines, :meth:`IntentClassifier.probabilities`,
:meth:`TicketModel.observe`, :meth:`AbstentionRule.decide`). Columns: ``known acc`` forced-choice
accuracy on known probes; ``answered`` the accuracy of the answers given; ``known abst`` and
``unseen abst`` the shares abstained on; ``known u/a/l`` and ``unseen u/a/l`` the shares abstained
as unfamiliar / ambiguous / low confidence; ``fit s`` training seconds. The Banking77 test split
is never read. Sentence vectors come from the served encoder and are cached under the temporary
folder.

    .venv/bin/python bench/novelty.py [--budget 0.10] [--only banking77 subset20 demo] [--json]

Measured on 2 cores (default budget 0.10, target precision 0.96), 11.1 minutes in all:

=========  ====  =======  =========  ========  ==========  ===========  =================  =================  =====
scenario   draw  trained  known acc  answered  known abst  unseen abst        known u/a/l       unseen u/a/l  fit s
=========  ====  =======  =========  ========  ==========  ===========  =================  =================  =====
banking77     0     7046      0.930     0.963       0.102        0.779  0.102/0.000/0.000  0.779/0.000/0.000   96.4
banking77     1     7004      0.939     0.967       0.091        0.755  0.091/0.000/0.000  0.755/0.000/0.000   89.5
banking77     2     6788      0.941     0.971       0.094        0.728  0.094/0.000/0.000  0.728/0.000/0.000   78.6
subset20      0     2051      0.971     0.991       0.101        0.691  0.101/0.000/0.000  0.691/0.000/0.000    6.9
subset20      1     1976      0.980     0.993       0.093        0.920  0.093/0.000/0.000  0.920/0.000/0.000    7.1
subset20      2     2046      0.977     0.996       0.092        0.830  0.092/0.000/0.000  0.830/0.000/0.000   10.0
subset20      3     2008      0.966     0.983       0.074        0.966  0.074/0.000/0.000  0.966/0.000/0.000    8.1
subset20      4     1963      0.969     0.989       0.081        0.922  0.081/0.000/0.000  0.922/0.000/0.000    6.5
demo          0     7046      0.927     0.959       0.106        0.804  0.106/0.000/0.000  0.804/0.000/0.000   93.1
demo          1     7004      0.933     0.962       0.110        0.807  0.110/0.000/0.000  0.807/0.000/0.000   82.4
demo          2     6788      0.939     0.969       0.094        0.721  0.094/0.000/0.000  0.721/0.000/0.000   74.9
=========  ====  =======  =========  ========  ==========  ===========  =================  =================  =====

Means: banking77 known abstained 0.096, unseen 0.754; subset20 0.088 and 0.866; demo 0.103 and
0.777 (0.110 and 0.740 while models read the demo's greetings and a subject repeating the
message's first words: see :func:`core.text.normalize.text_for_model`; the bare queries in the same
split give 0.106 and 0.790). At ``--budget 0.05``: 0.075 and 0.674, 0.041 and 0.724, 0.096 and
0.673 (the precision rule then adds 3 to 4 points of known questions). Before (the precision
rule alone, same draws): banking77 0.089 and 0.705 (the figures of
``bench/banking77_intents.py``); subset20 0.003 and 0.176 (three of five draws abstained on no
never-seen question at all); demo 0.112 and 0.719 (0.078 to 0.144 of known ones from draw to
draw). On the demo history the precision target alone costs about 0.11 of known questions
whatever the budget, and no observation measured separated its never-seen questions better than
on Banking77 (whose wording and held-out intents it shares): with every observation tried, at
most about 0.78 of them are caught at 0.10 of known ones. The misses are close cousins:
``card_payment_wrong_exchange_rate`` is caught 0.39 of the time (100 of its 167 questions are
answered as ``wrong_exchange_rate_for_cash_withdrawal``), ``top_up_failed`` 0.41,
``request_refund`` 0.56, ``card_delivery_estimate`` 0.55.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.simulate import load_queries, write_history
from core.ingest.importer import open_reader
from core.ml.abstention import AMBIGUOUS, DEFAULT_NOVELTY_BUDGET, DEFAULT_TARGET_PRECISION, LOW_CONFIDENCE, UNFAMILIAR
from core.ml.encoder import encoder
from core.ml.model import TicketModel, TrainingTicket
from core.store.tickets import model_text

ENCODER_DIR = Path(tempfile.gettempdir()) / "deskloop-bench-encoders"
#: Mean over draws each scenario is asked to reach, with at most 10% of known questions abstained.
TARGETS = {"banking77": 0.75, "subset20": 0.85, "demo": 0.85}
MAX_KNOWN_ABSTAINED = 0.10


def _served():
    return encoder(ENCODER_DIR, threads=2)  # two cores: encoding a whole history is the slow part


def sentence_vectors(texts: list[str]) -> np.ndarray:
    """The served encoder's vectors (all layers, as training reads them), cached by the texts' hash."""
    served = _served()
    digest = hashlib.sha256("\n".join([served.name, *texts]).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"deskloop-bench-vectors-{digest}.npy"
    if cache.is_file():
        return np.load(cache)
    vectors = served.encode(texts)
    np.save(cache, vectors)
    return vectors


def demo_history() -> tuple[list[str], np.ndarray]:
    """The demo history's model texts and intents, in creation order."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        write_history(path, seed=7, end=date(2026, 11, 20))
        tickets = [ticket for _, ticket in open_reader(path)]
    return [model_text(t) for t in tickets], np.asarray([t.intent for t in tickets])


def draws(scenario: str, labels: np.ndarray, count: int):
    """(train rows, known probe rows, unseen probe rows) per draw."""
    intents = np.unique(labels)
    for draw in range(count):
        if scenario == "subset20":
            chosen = np.random.default_rng(100 + draw).choice(intents, 25, replace=False)
            known, held_out = chosen[:20], chosen[20:]
        else:
            held_out = np.random.default_rng(draw).choice(intents, 10, replace=False)
            known = np.setdiff1d(intents, held_out)
        known_rows = np.nonzero(np.isin(labels, known))[0]
        unseen_rows = np.nonzero(np.isin(labels, held_out))[0]
        if scenario == "demo":  # time order: train on the past, probe with the newest tickets
            split = int(len(known_rows) * 0.8)
            yield draw, known_rows[:split], known_rows[split:], unseen_rows
        else:
            train, test = next(StratifiedKFold(5, shuffle=True, random_state=draw)
                               .split(known_rows, labels[known_rows]))
            yield draw, known_rows[train], known_rows[test], unseen_rows


def probe(model: TicketModel, texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Top intent and abstention reason per text, the way a suggestion computes them."""
    judged = [model.intent_judgement(t, v) for t, v in zip(texts, vectors, strict=True)]
    return np.asarray([j.intent for j in judged]), [j.abstain_reason for j in judged]


def run_draw(scenario: str, draw: int, texts: list[str], labels: np.ndarray, vectors: np.ndarray,
             train: np.ndarray, known: np.ndarray, unseen: np.ndarray, budget: float, target: float) -> dict:
    tickets = [TrainingTicket(int(i), str(i), texts[i], str(labels[i]), [], None, None) for i in train]
    started = time.perf_counter()
    model = TicketModel.fit(tickets, target_precision=target, encoder=_served(), vectors=vectors[train],
                            novelty_budget=budget)
    fit_seconds = time.perf_counter() - started
    known_predicted, known_reasons = probe(model, [texts[i] for i in known], vectors[known])
    _, unseen_reasons = probe(model, [texts[i] for i in unseen], vectors[unseen])

    answered = np.asarray([r is None for r in known_reasons])
    right = known_predicted == labels[known]

    def shares(reasons: list[str | None]) -> dict[str, float]:
        counts = Counter(reasons)
        return {r: counts[r] / len(reasons) for r in (UNFAMILIAR, AMBIGUOUS, LOW_CONFIDENCE)}

    return {
        "scenario": scenario, "draw": draw, "known_intents": len(model.intents.classes),
        "unseen_intents": len(np.unique(labels[unseen])), "trained_on": len(train),
        "known_accuracy": float(right.mean()),
        "answered_accuracy": float(right[answered].mean()) if answered.any() else None,
        "known_abstained": float(1 - answered.mean()),
        "unseen_abstained": float(np.mean([r is not None for r in unseen_reasons])),
        "known_reasons": shares(known_reasons), "unseen_reasons": shares(unseen_reasons),
        "cv_accuracy": model.metrics["cv_accuracy"], "fit_seconds": fit_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=DEFAULT_NOVELTY_BUDGET, help="novelty_budget")
    parser.add_argument("--target-precision", type=float, default=DEFAULT_TARGET_PRECISION)
    parser.add_argument("--only", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--draws", type=int, help="draws per scenario (default 3, 5 for subset20)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    queries = load_queries()
    data = {}
    if {"banking77", "subset20"} & set(args.only):
        banking_texts = [q.text for q in queries]
        banking = (banking_texts, np.asarray([q.intent for q in queries]), sentence_vectors(banking_texts))
        data["banking77"] = data["subset20"] = banking
    if "demo" in args.only:
        demo_texts, demo_labels = demo_history()
        data["demo"] = (demo_texts, demo_labels, sentence_vectors(demo_texts))

    results = []
    for scenario in args.only:
        texts, labels, vectors = data[scenario]
        count = args.draws or (5 if scenario == "subset20" else 3)
        for draw, train, known, unseen in draws(scenario, labels, count):
            results.append(run_draw(scenario, draw, texts, labels, vectors, train, known, unseen, args.budget,
                                    args.target_precision))
            if not args.json:
                _print_row(results[-1], header=len(results) == 1)
    summary = {}
    for scenario in args.only:
        rows = [r for r in results if r["scenario"] == scenario]
        known = float(np.mean([r["known_abstained"] for r in rows]))
        unseen = float(np.mean([r["unseen_abstained"] for r in rows]))
        summary[scenario] = {"known_accuracy": float(np.mean([r["known_accuracy"] for r in rows])),
                             "answered_accuracy": float(np.mean([r["answered_accuracy"] for r in rows])),
                             "known_abstained": known, "unseen_abstained": unseen,
                             "target": TARGETS[scenario],
                             "met": bool(unseen >= TARGETS[scenario] and known <= MAX_KNOWN_ABSTAINED)}
    minutes = (time.perf_counter() - started) / 60
    if args.json:
        print(json.dumps({"budget": args.budget, "draws": results, "summary": summary, "minutes": minutes}))
        return 0
    print()
    for scenario, s in summary.items():
        print(f"{scenario:10} mean: known acc {s['known_accuracy']:.3f}, answered acc {s['answered_accuracy']:.3f}, "
              f"known abstained {s['known_abstained']:.3f}, "
              f"unseen abstained {s['unseen_abstained']:.3f} (target {s['target']:.2f} with known <= "
              f"{MAX_KNOWN_ABSTAINED:.2f}: {'met' if s['met'] else 'NOT met'})")
    print(f"novelty_budget {args.budget}, target precision {args.target_precision}, {minutes:.1f} minutes")
    return 0


def _print_row(r: dict, header: bool) -> None:
    if header:
        print(f"{'scenario':10} {'draw':>4} {'known':>5} {'held':>4} {'trained':>7} {'known acc':>9} "
              f"{'answered acc':>12} {'known abst':>10} {'unseen abst':>11} {'known u/a/l':>17} "
              f"{'unseen u/a/l':>17} {'fit s':>6}")
    k, u = r["known_reasons"], r["unseen_reasons"]
    print(f"{r['scenario']:10} {r['draw']:>4} {r['known_intents']:>5} {r['unseen_intents']:>4} {r['trained_on']:>7} "
          f"{r['known_accuracy']:>9.3f} {r['answered_accuracy']:>12.3f} {r['known_abstained']:>10.3f} "
          f"{r['unseen_abstained']:>11.3f} "
          f"{k[UNFAMILIAR]:>5.3f}/{k[AMBIGUOUS]:.3f}/{k[LOW_CONFIDENCE]:.3f} "
          f"{u[UNFAMILIAR]:>5.3f}/{u[AMBIGUOUS]:.3f}/{u[LOW_CONFIDENCE]:.3f} {r['fit_seconds']:>6.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
