"""Clusters of related tickets, with readable labels and identities that survive retraining.

Tickets are grouped by k-means on their unit-length vectors, warm-started from the previous
clustering (the same vectors similarity uses).
Identities come from membership, not from centroids (the vector space itself changes when a model
is retrained): each new cluster is matched one-to-one to the previous cluster it shares the most
tickets with (Hungarian assignment on the overlap counts) and keeps that cluster's id when they
share at least half of the smaller one; otherwise it is a new cluster with a new id. So a cluster
keeps its id as the data grows, and a genuinely new issue shows up as a new id.

Labels are the terms most distinctive of a cluster against the rest (class-based TF-IDF over
words), e.g. "card · arrived · delivery".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer

#: Share of the smaller cluster's tickets two clusters must share to be the same cluster.
SAME_CLUSTER_OVERLAP = 0.5


@dataclass(frozen=True)
class Cluster:
    key: int  # stable id (from the previous clustering or newly allocated)
    label: str
    ticket_ids: tuple[int, ...]


def cluster_count(n: int) -> int:
    """About one cluster per 60 tickets, at least 2 and at most 400."""
    return max(2, min(400, math.ceil(n / 60)))


def _warm_start(vectors: np.ndarray, ticket_ids: np.ndarray, previous: dict[int, set[int]],
                k: int) -> np.ndarray | None:
    """Initial centroids: each previous cluster's members, averaged in today's vector space, then
    the tickets farthest from all of them for the clusters the grown data adds."""
    row_of = {int(t): i for i, t in enumerate(ticket_ids)}
    centroids = []
    for key in sorted(previous):
        rows = [row_of[t] for t in previous[key] if t in row_of]
        if rows:
            centroids.append(vectors[rows].mean(axis=0))
    if not centroids:
        return None
    centroids = centroids[:k]
    while len(centroids) < k:
        similarity = vectors @ np.vstack(centroids).T
        centroids.append(vectors[int(np.argmin(similarity.max(axis=1)))])
    return np.vstack(centroids)


def group(vectors: np.ndarray, ticket_ids: np.ndarray, previous: dict[int, set[int]] | None = None,
          seed: int = 0) -> np.ndarray:
    """A cluster index per row of ``vectors`` (rows of unit length), warm-started from ``previous``."""
    k = min(cluster_count(len(vectors)), len(vectors))
    init = _warm_start(vectors, ticket_ids, previous, k) if previous else None
    # Full-batch Lloyd iterations: started from a converged clustering of the same data they stay
    # there, which is what keeps keys stable (mini-batches would wander).
    model = KMeans(n_clusters=k, random_state=seed, max_iter=50, init=init if init is not None else "k-means++",
                   n_init=1 if init is not None else 2)
    return model.fit_predict(vectors)


def label_clusters(texts: list[str], assignment: np.ndarray, terms: int = 3) -> dict[int, str]:
    """The ``terms`` most distinctive words of each cluster (class-based TF-IDF)."""
    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", min_df=2)
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no word survives (tiny or empty input)
        return {int(c): f"cluster {c}" for c in np.unique(assignment)}
    words = np.asarray(vectorizer.get_feature_names_out())
    clusters = np.unique(assignment)
    per_cluster = np.vstack([np.asarray(counts[assignment == c].sum(axis=0)).ravel() for c in clusters])
    frequency = per_cluster / np.maximum(per_cluster.sum(axis=1, keepdims=True), 1)
    rarity = np.log(1 + per_cluster.sum(axis=1).mean() / np.maximum(per_cluster.sum(axis=0), 1))
    scores = frequency * rarity
    labels = {}
    for row, c in enumerate(clusters):
        best = [words[i] for i in np.argsort(-scores[row])[:terms] if scores[row, i] > 0]
        labels[int(c)] = " · ".join(best) or f"cluster {c}"
    return labels


def reconcile(assignment: np.ndarray, ticket_ids: np.ndarray, previous: dict[int, set[int]],
              next_key: int) -> tuple[dict[int, int], int]:
    """Map each new cluster index to a stable key, reusing ``previous`` keys (key -> ticket ids).

    Returns the mapping and the next unused key.
    """
    new_clusters = [int(c) for c in np.unique(assignment)]
    old_keys = sorted(previous)
    mapping: dict[int, int] = {}
    if old_keys:
        present = set(ticket_ids.tolist())
        members = {c: set(ticket_ids[assignment == c].tolist()) for c in new_clusters}
        still_there = {k: previous[k] & present for k in old_keys}
        overlap = np.array([[len(members[c] & still_there[k]) for k in old_keys] for c in new_clusters], dtype=float)
        rows, cols = linear_sum_assignment(-overlap)
        for r, col in zip(rows, cols, strict=True):
            c, key = new_clusters[r], old_keys[col]
            smaller = min(len(members[c]), len(still_there[key]))
            if smaller and overlap[r, col] >= SAME_CLUSTER_OVERLAP * smaller:
                mapping[c] = key
    for c in new_clusters:
        if c not in mapping:
            mapping[c] = next_key
            next_key += 1
    return mapping, next_key


def build_clusters(vectors: np.ndarray, texts: list[str], ticket_ids: list[int],
                   previous: dict[int, set[int]] | None = None, next_key: int = 1,
                   seed: int = 0) -> tuple[list[Cluster], int]:
    """Cluster, label and give stable keys; returns the clusters and the next unused key."""
    if len(ticket_ids) < 2:
        return [], next_key
    ids = np.asarray(ticket_ids, dtype=np.int64)
    assignment = group(vectors, ids, previous, seed)
    labels = label_clusters(texts, assignment)
    mapping, next_key = reconcile(assignment, ids, previous or {}, next_key)
    clusters = [Cluster(mapping[c], labels[c], tuple(int(i) for i in ids[assignment == c]))
                for c in sorted(mapping, key=mapping.__getitem__)]
    return clusters, next_key
