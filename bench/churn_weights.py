"""Where the churn rules' weights come from: a logistic regression on the tuning histories.

The rule score (:mod:`core.insights.churn.rules`) adds each feature's share of the way from calm to
alarming times its weight. This script fits those weights on simulated histories at the middle
strength (seeds 100 to 109 by default, never the reported seeds 7, 1007, ... of ``bench/churn.py``):
a logistic regression on the features' calm-to-alarming shares, negative coefficients set to zero
(a worse sign never lowers a score), scaled to a total of 22 (the sum of the
first, hand-set priors) and rounded to
halves, with a floor of 0.5 so that every documented sign can still be a reason. It prints the
weights, and the AUC of the fitted and of the shipped weights on each history left out of the fit
(leave one history out), so a change of weights is judged on histories it was not fitted on.

    .venv/bin/python bench/churn_weights.py [--seeds 100-109] [--strength 0.5] [--accounts 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.churn import labelled_history  # noqa: E402
from core.insights.churn.features import FEATURE_NAMES, FEATURES  # noqa: E402

CALM = np.array([f.calm for f in FEATURES])
ALARMING = np.array([f.alarming for f in FEATURES])
SHIPPED = np.array([f.weight for f in FEATURES])
#: Inverse regularisation: a few thousand examples, thirteen columns.
C = 0.3
FLOOR = 0.5
#: What the weights add up to before rounding.
TOTAL = 22.0


def shares(values: np.ndarray) -> np.ndarray:
    return np.clip((values - CALM) / (ALARMING - CALM), 0.0, 1.0)


def history(seed: int, strength: float, accounts: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = labelled_history(seed, strength, accounts).pairs
    return (shares(np.array([f.vector() for _, f in pairs])),
            np.array([int(o.churned) for o, _ in pairs]))


def fit(histories: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    model = LogisticRegression(C=C, max_iter=5000).fit(np.vstack([x for x, _ in histories]),
                                                       np.concatenate([y for _, y in histories]))
    positive = np.maximum(model.coef_[0], 0.0)
    scaled = positive / positive.sum() * TOTAL
    return np.maximum(np.round(scaled * 2) / 2, FLOOR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="100-109", help="first-last, the tuning histories")
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--accounts", type=int, default=300)
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    histories = [history(seed, args.strength, args.accounts) for seed in range(first, last + 1)]
    print(f"{'left out':>8}  {'fitted AUC':>10}  {'shipped AUC':>11}")
    fitted_aucs, shipped_aucs = [], []
    for k, (x, y) in enumerate(histories):
        weights = fit(histories[:k] + histories[k + 1:])
        fitted_aucs.append(roc_auc_score(y, x @ weights))
        shipped_aucs.append(roc_auc_score(y, x @ SHIPPED))
        print(f"{first + k:>8}  {fitted_aucs[-1]:>10.3f}  {shipped_aucs[-1]:>11.3f}")
    print(f"{'mean':>8}  {np.mean(fitted_aucs):>10.3f}  {np.mean(shipped_aucs):>11.3f}")
    print("weights fitted on all of them:")
    for name, weight, shipped in zip(FEATURE_NAMES, fit(histories), SHIPPED, strict=True):
        print(f"  {name:<18} {weight:>4.1f}  (shipped {shipped:.1f})")


if __name__ == "__main__":
    main()
