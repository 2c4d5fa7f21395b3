"""Feature requests among customer messages: precision and recall of the feature-request class of
Deskloop's message-kind classifier, by cross-validation on the shipped labelled set.

Two splits, each trained with :func:`core.insights.message_kinds.train` and judged by
:class:`~core.insights.message_kinds.KindModel` (the code a report uses, its feature-request
threshold included):

- stratified 5-fold: every fold keeps the share of each kind;
- by domain: train on every other domain, test on the held-out one (saas, devtools, banking,
  ecommerce, telecom, travel, and the four small ones together as "other"), which is how the model
  meets a tenant whose business it has never seen.

Also scores the same splits without the phrasing cues (``--no-cues``) to show what they add.
Prints precision and recall of ``feature_request``, accuracy over the four kinds, the confusion
matrix (rows: true kind, columns: predicted) and the time to train on the whole set.

``--report-tickets N`` instead times one report (``deskloop insights feature-requests``) on a
fresh SQLite tenant holding N tickets from the last 180 days, their texts drawn from the shipped
set (so about a quarter are feature requests) with typos added, 200 organizations on three plans.

    .venv/bin/python bench/feature_requests.py [--no-cues] [--report-tickets 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.insights import message_kinds
from core.insights.message_kinds import FEATURE_REQUEST, KINDS, KindModel, LabelledMessage, shipped_examples, train

SMALL_DOMAINS = {"healthcare", "education", "gaming", "insurance"}


def predict_folds(examples: list[LabelledMessage], folds: list[np.ndarray]) -> np.ndarray:
    predicted = np.empty(len(examples), dtype=object)
    for test_rows in folds:
        held_out = set(test_rows.tolist())
        model = KindModel(train([e for i, e in enumerate(examples) if i not in held_out]), "fold")
        predicted[test_rows] = model.kinds([examples[i].text for i in test_rows])
    return predicted


def report(name: str, truth: np.ndarray, predicted: np.ndarray) -> None:
    is_request, said_request = truth == FEATURE_REQUEST, predicted == FEATURE_REQUEST
    print(f"{name}: feature_request precision {precision_score(is_request, said_request):.3f} "
          f"recall {recall_score(is_request, said_request):.3f}; accuracy over four kinds "
          f"{np.mean(truth == predicted):.3f}")
    matrix = confusion_matrix(truth, predicted, labels=list(KINDS))
    print("  " + " " * 16 + "".join(f"{k:>17}" for k in KINDS))
    for kind, row in zip(KINDS, matrix, strict=True):
        print(f"  {kind:>16}" + "".join(f"{n:>17}" for n in row))


def time_report(count: int) -> None:
    import random
    from datetime import UTC, datetime, timedelta

    from core.config import Settings
    from core.insights.feature_requests import feature_request_report, set_plans
    from core.runtime import Runtime
    from core.store.tickets import upsert_tickets
    from core.types import Ticket

    rng = random.Random(0)
    examples = shipped_examples()
    now = datetime.now(UTC)

    def typo(text: str) -> str:
        at = rng.randrange(len(text))
        return text[:at] + text[at + 1:] if rng.random() < 0.5 else text

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=f"sqlite:///{home}/deskloop.db")
        runtime = Runtime(settings)
        db = runtime.db
        tenant_id = db.ensure_tenant("bench")
        tickets = [Ticket.model_validate({
            "external_id": f"b-{i}", "subject": "", "created_at": now - timedelta(minutes=rng.randrange(180 * 24 * 60)),
            "messages": [{"author_role": "customer", "body": typo(rng.choice(examples).text)}],
            "organization": f"Org {rng.randrange(200)}",
            "custom_fields": {"plan": rng.choice(["free", "pro", "enterprise"])}}) for i in range(count)]
        for start in range(0, count, 1000):
            with db.transaction(tenant_id) as session:
                upsert_tickets(session, tenant_id, tickets[start:start + 1000])
        set_plans(runtime, "bench", {"field": "plan", "weights": {"enterprise": 5, "pro": 2}})
        for run in ("first (trains the default model)", "second (model cached)"):
            started = time.perf_counter()
            report = feature_request_report(runtime, "bench")
            print(f"report over {report.tickets_read} tickets, {run}: {time.perf_counter() - started:.1f} s; "
                  f"{report.feature_requests} feature requests in {len(report.capabilities)} capabilities")
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-cues", action="store_true", help="n-grams only (what the cues add)")
    parser.add_argument("--report-tickets", type=int, default=0, help="time one report on this many tickets")
    args = parser.parse_args()
    if args.report_tickets:
        time_report(args.report_tickets)
        return
    if args.no_cues:
        build = message_kinds.build_pipeline

        def without_cues():
            pipeline = build()
            features = pipeline.named_steps["features"]
            features.transformer_list = features.transformer_list[:2]
            return pipeline

        message_kinds.build_pipeline = without_cues  # type: ignore[assignment]
    examples = shipped_examples()
    truth = np.asarray([e.kind for e in examples], dtype=object)
    counts = {k: int(np.sum(truth == k)) for k in KINDS}
    print(f"{len(examples)} labelled messages: {counts}; cues {'off' if args.no_cues else 'on'}")
    started = time.perf_counter()
    train(examples)
    print(f"training on all of them: {time.perf_counter() - started:.1f} s")
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    folds = [test for _, test in splitter.split(np.zeros(len(truth)), truth)]
    report("stratified 5-fold", truth, predict_folds(examples, folds))
    domains = np.asarray(["other" if e.domain in SMALL_DOMAINS else e.domain for e in examples])
    by_domain = [np.nonzero(domains == d)[0] for d in sorted(set(domains))]
    predicted = predict_folds(examples, by_domain)
    report("by domain (trained on the others)", truth, predicted)
    for domain, rows in zip(sorted(set(domains)), by_domain, strict=True):
        is_request, said = truth[rows] == FEATURE_REQUEST, predicted[rows] == FEATURE_REQUEST
        print(f"  {domain:>10}: {int(is_request.sum()):3d} requests, precision "
              f"{precision_score(is_request, said, zero_division=0):.3f} recall "
              f"{recall_score(is_request, said, zero_division=0):.3f}")


if __name__ == "__main__":
    main()
