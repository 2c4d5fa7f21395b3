"""Nearest resolved tickets by cosine similarity of the same n-gram features the classifier reads.

Rows are L2-normalized once at training time, so one sparse matrix product scores a query against
every resolved ticket; candidates can be restricted to one intent, which is what drafting wants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize


@dataclass
class SimilarityIndex:
    matrix: sparse.csr_matrix  # one L2-normalized row per indexed ticket
    ticket_ids: np.ndarray
    intents: np.ndarray

    @classmethod
    def build(cls, features: sparse.spmatrix, ticket_ids: list[int], intents: list[str | None]) -> SimilarityIndex:
        return cls(
            normalize(sparse.csr_matrix(features, dtype=np.float32)),
            np.asarray(ticket_ids, dtype=np.int64),
            np.asarray([i or "" for i in intents], dtype=object),
        )

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def nearest(self, query: sparse.spmatrix, k: int = 5, intent: str | None = None) -> list[tuple[int, int, float]]:
        """Up to ``k`` (row, ticket id, score) pairs, best first."""
        if len(self) == 0:
            return []
        rows = np.arange(len(self)) if intent is None else np.nonzero(self.intents == intent)[0]
        if len(rows) == 0:
            return []
        q = normalize(sparse.csr_matrix(query, dtype=np.float32))
        candidates = self.matrix if intent is None else self.matrix[rows]
        scores = (candidates @ q.T).toarray().ravel()
        top = np.argsort(-scores)[:k] if len(scores) <= k else np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(rows[i]), int(self.ticket_ids[rows[i]]), float(scores[i])) for i in top]
