"""Nearest resolved tickets by cosine similarity.

Rows are sentence vectors (dense) when the model has an encoder, n-gram features (sparse)
otherwise. They are L2-normalized once at training time, so one matrix product scores a query
against every resolved ticket; candidates can be restricted to one intent (drafting wants that),
and rows are grouped by intent at build time so the restriction is a slice, not a scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize


@dataclass
class SimilarityIndex:
    matrix: np.ndarray | sparse.csr_matrix  # one L2-normalized row per indexed ticket
    ticket_ids: np.ndarray
    intents: np.ndarray

    @classmethod
    def build(cls, features, ticket_ids: list[int], intents: list[str | None]) -> SimilarityIndex:
        if isinstance(features, np.ndarray):
            matrix = np.asarray(features, dtype=np.float32)
            matrix = normalize(matrix) if len(matrix) else matrix
        else:
            matrix = sparse.csr_matrix(features, dtype=np.float32)
            matrix = normalize(matrix) if matrix.shape[0] else matrix
        return cls(matrix, np.asarray(ticket_ids, dtype=np.int64), np.asarray([i or "" for i in intents], dtype=object))

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def nearest(self, query: sparse.spmatrix, k: int = 5, intent: str | None = None) -> list[tuple[int, int, float]]:
        """Up to ``k`` (row, ticket id, score) pairs, best first."""
        if len(self) == 0:
            return []
        rows = np.arange(len(self)) if intent is None else np.nonzero(self.intents == intent)[0]
        if len(rows) == 0:
            return []
        candidates = self.matrix if intent is None else self.matrix[rows]
        if isinstance(self.matrix, np.ndarray):
            q = normalize(np.asarray(query, dtype=np.float32).reshape(1, -1))
            scores = (candidates @ q.ravel()).ravel()
        else:
            q = normalize(sparse.csr_matrix(query, dtype=np.float32))
            scores = (candidates @ q.T).toarray().ravel()
        top = np.argsort(-scores)[:k] if len(scores) <= k else np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(rows[i]), int(self.ticket_ids[rows[i]]), float(scores[i])) for i in top]
