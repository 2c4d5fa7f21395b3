"""Intent discovery on Banking77 with its labels hidden: how well the intents Deskloop finds on its
own (:func:`core.ml.discovery.discover_intents`, never told how many there are) match the 77 true
ones, on all 10,003 shipped queries and on random subsets.

    .venv/bin/python bench/intent_discovery.py                       # full data and the subsets
    .venv/bin/python bench/intent_discovery.py --intents 30 --seed 1 # one setting
    .venv/bin/python bench/intent_discovery.py --sample 2000 --baseline

Columns: ``NMI``/``ARI`` with every row assigned to its nearest intent (the unassigned ones too,
by :func:`~core.ml.discovery.assign_to_intents` with no threshold); ``NMI1``/``ARI1`` with each
unassigned row a cluster of its own; ``unassigned`` the share left out; ``seconds`` the discovery
alone (vectors are encoded once and cached under the temporary folder). ``--baseline`` adds
k-means told the true number of intents, on the same vectors. The Banking77 test split is not
used.

Measured on 2 cores shared with other work (so the seconds are generous); sentence vectors of
all-MiniLM-L6-v2 from the served ONNX encoder; ``kmK``: k-means told the true number:

=====================  =====  ====  =====  =====  =====  =====  =====  ==========  =======  =======  =======
setting                 rows  true  found    NMI    ARI   NMI1   ARI1  unassigned  seconds  kmK NMI  kmK ARI
=====================  =====  ====  =====  =====  =====  =====  =====  ==========  =======  =======  =======
all                    10003    77     87  0.806  0.550  0.808  0.546       0.055     12.6    0.763    0.473
50 intents (seed 0)     6401    50     58  0.843  0.639  0.837  0.628       0.055      5.5    0.806    0.588
50 intents (seed 1)     6473    50     65  0.806  0.562  0.806  0.556       0.059      6.0    0.781    0.530
50 intents (seed 2)     6346    50     61  0.825  0.613  0.823  0.606       0.051      6.6    0.783    0.525
30 intents (seed 0)     3855    30     34  0.872  0.723  0.856  0.707       0.064      2.8    0.868    0.745
30 intents (seed 1)     3723    30     34  0.851  0.736  0.840  0.719       0.068      2.6    0.828    0.676
30 intents (seed 2)     3790    30     42  0.817  0.613  0.811  0.596       0.056      2.9    0.784    0.555
2000 rows (seed 0)      2000    77     80  0.816  0.533  0.823  0.537       0.040      1.6    0.784    0.463
2000 rows (seed 1)      2000    77     73  0.810  0.515  0.818  0.518       0.045      1.5    0.788    0.475
2000 rows (seed 2)      2000    77     84  0.798  0.489  0.808  0.496       0.046      1.9    0.768    0.435
=====================  =====  ====  =====  =====  =====  =====  =====  ==========  =======  =======  =======

For comparison, published unsupervised results on BANKING (its 3,080-row test split, a different
encoder, and the number of intents given): TEXTOIR's results table (thuiar/TEXTOIR,
``open_intent_discovery/results/result.md``, known-intent ratio 0, cluster factor 1) lists NMI / ARI
KM 49.30 / 13.04, AG 53.28 / 14.65, SAE-KM 59.80 / 23.59, DEC 62.66 / 25.32, DCN 62.72 / 25.36,
CC 44.89 / 9.75, SCCL 63.89 / 26.98 and USNID 75.30 / 43.33.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.simulate import load_queries
from core.ml.discovery import assign_to_intents, discover_intents, intent_centres
from core.ml.encoder import encoder, sentence_part

ENCODER_DIR = Path(tempfile.gettempdir()) / "deskloop-bench-encoders"


def sentence_vectors(texts: list[str]) -> np.ndarray:
    """The served encoder's sentence vectors, cached by the texts' hash and the encoder's name."""
    served = encoder(ENCODER_DIR)
    digest = hashlib.sha256("\n".join([served.name, *texts]).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"deskloop-bench-sentences-{digest}.npy"
    if cache.is_file():
        return np.load(cache)
    vectors = sentence_part(served.encode(texts)).astype(np.float32)
    np.save(cache, vectors)
    return vectors


def run(name: str, texts: list[str], vectors: np.ndarray, truth: np.ndarray, baseline: bool) -> dict:
    started = time.perf_counter()
    intents, unassigned = discover_intents(texts, vectors)
    seconds = time.perf_counter() - started
    every = assign_to_intents(vectors, intent_centres(vectors, intents), min_cosine=-1.0)
    for i, intent in enumerate(intents):
        every[intent.rows] = i
    alone = every.copy()
    alone[unassigned] = len(intents) + np.arange(len(unassigned))
    figures = {
        "setting": name, "rows": len(texts), "true": int(len(np.unique(truth))), "found": len(intents),
        "nmi": normalized_mutual_info_score(truth, every), "ari": adjusted_rand_score(truth, every),
        "nmi_unassigned_alone": normalized_mutual_info_score(truth, alone),
        "ari_unassigned_alone": adjusted_rand_score(truth, alone),
        "unassigned": len(unassigned) / max(len(texts), 1), "seconds": seconds,
    }
    if baseline:
        told = KMeans(figures["true"], n_init=2, random_state=0).fit_predict(vectors)
        figures["kmeans_told_k_nmi"] = normalized_mutual_info_score(truth, told)
        figures["kmeans_told_k_ari"] = adjusted_rand_score(truth, told)
    return figures


def subset(truth: np.ndarray, intents: int | None, sample: int | None, seed: int) -> np.ndarray:
    """Rows of ``intents`` random true intents (all of them without), then ``sample`` random rows."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(truth))
    if intents:
        chosen = rng.choice(np.unique(truth), min(intents, len(np.unique(truth))), replace=False)
        rows = rows[np.isin(truth, chosen)]
    if sample and sample < len(rows):
        rows = np.sort(rng.choice(rows, sample, replace=False))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="random rows (after --intents)")
    parser.add_argument("--intents", type=int, help="a random subset of this many true intents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3, help="draws per subset in the default suite")
    parser.add_argument("--baseline", action="store_true", help="add k-means told the true number")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    queries = load_queries()
    texts = [q.text for q in queries]
    truth = np.asarray([q.intent for q in queries])
    vectors = sentence_vectors(texts)

    if args.sample or args.intents:
        plan = [(args.intents, args.sample, args.seed)]
    else:
        plan = [(None, None, 0)] + [(k, s, seed) for k, s in ((50, None), (30, None), (None, 2000))
                                     for seed in range(args.seeds)]
    results = []
    for intents, sample, seed in plan:
        rows = subset(truth, intents, sample, seed)
        name = " ".join(part for part in (f"{intents} intents" if intents else "",
                                          f"{sample} rows" if sample else "") if part) or "all"
        if intents or sample:
            name += f" (seed {seed})"
        results.append(run(name, [texts[i] for i in rows], vectors[rows], truth[rows], args.baseline))
        if not args.json:
            _print_row(results[-1], header=len(results) == 1)
    if args.json:
        print(json.dumps(results))
    return 0


def _print_row(figures: dict, header: bool) -> None:
    columns = ["rows", "true", "found", "nmi", "ari", "nmi_unassigned_alone", "ari_unassigned_alone",
               "unassigned", "seconds"] + [c for c in ("kmeans_told_k_nmi", "kmeans_told_k_ari") if c in figures]
    titles = {"nmi_unassigned_alone": "NMI1", "ari_unassigned_alone": "ARI1", "kmeans_told_k_nmi": "kmK NMI",
              "kmeans_told_k_ari": "kmK ARI"}
    if header:
        print(f"{'setting':26}" + "".join(f"{titles.get(c, c.upper() if len(c) == 3 else c):>11}" for c in columns))
    cells = []
    for c in columns:
        value = figures[c]
        cells.append(f"{value:>11d}" if isinstance(value, int) else f"{value:>11.3f}" if c != "seconds"
                     else f"{value:>11.1f}")
    print(f"{figures['setting']:26}" + "".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
