"""Nearest tickets by cosine similarity, over every ticket a model was trained on.

Rows are sentence vectors (dense) when the model has an encoder, n-gram features (sparse)
otherwise, L2-normalized once at training time, so one matrix product scores a query against
every candidate. Row numbers are grouped by intent at build time: drafting asks for the nearest
*resolved* tickets of *one* intent, which is then a small slice instead of a scan of 100,000 rows.
The same index answers "how close is the nearest labelled example?", which tells a paraphrase of
a known question from a question the tenant has never seen. That question is asked of a bounded
reference set (the newest labelled tickets of each intent, kept as one contiguous matrix), so its
cost does not grow with the tenant's history: at 100,000 tickets a scan of every row took 9 ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

Neighbour = tuple[int, float]  # (ticket id, score)


@dataclass
class SimilarityIndex:
    matrix: np.ndarray | sparse.csr_matrix  # one L2-normalized row per ticket
    ticket_ids: np.ndarray
    resolved_by_intent: dict[str, np.ndarray] = field(default_factory=dict)  # intent ("" = none) -> rows
    resolved_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    reference_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    reference: np.ndarray | sparse.csr_matrix | None = None  # matrix[reference_rows], contiguous
    #: Positions in the reference set of each intent's rows (for "how close is the nearest example
    #: of the predicted intent?"); ``None`` in models saved before it existed.
    reference_by_intent: dict[str, np.ndarray] | None = None

    @classmethod
    def build(cls, features, ticket_ids: list[int], intents: list[str | None], resolved: list[bool],
              reference_rows: np.ndarray | None = None) -> SimilarityIndex:
        """``reference_rows`` are the labelled rows that :meth:`reference_cosines` compares with
        (every labelled row when ``None``)."""
        if isinstance(features, np.ndarray):
            matrix = np.ascontiguousarray(features, dtype=np.float32)
        else:
            matrix = sparse.csr_matrix(features, dtype=np.float32)
        if matrix.shape[0]:
            matrix = normalize(matrix)
        resolved_mask = np.asarray(resolved, dtype=bool)
        by_intent: dict[str, list[int]] = {}
        for row in np.nonzero(resolved_mask)[0]:
            by_intent.setdefault(intents[row] or "", []).append(int(row))
        if reference_rows is None:
            reference_rows = np.asarray([i for i, x in enumerate(intents) if x], dtype=np.int64)
        reference_rows = np.asarray(reference_rows, dtype=np.int64)
        reference_by_intent: dict[str, list[int]] = {}
        for position, row in enumerate(reference_rows):
            if intents[row]:
                reference_by_intent.setdefault(intents[row], []).append(position)
        return cls(
            matrix, np.asarray(ticket_ids, dtype=np.int64),
            {k: np.asarray(v, dtype=np.int64) for k, v in by_intent.items()},
            np.nonzero(resolved_mask)[0], reference_rows, matrix[reference_rows],
            {k: np.asarray(v, dtype=np.int64) for k, v in reference_by_intent.items()},
        )

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def _scores(self, query, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine of ``query`` to ``rows`` (all rows when ``None``)."""
        if rows is not None and len(rows) * 4 > len(self):  # scoring everything beats copying most of the matrix
            return self._scores(query)[rows]
        return _cosines(self.matrix if rows is None else self.matrix[rows], query)

    def nearest(self, query, k: int = 5, intent: str | None = None) -> list[Neighbour]:
        """Up to ``k`` resolved (ticket id, score) pairs, best first, of one intent if given."""
        rows = self.resolved_rows if intent is None else self.resolved_by_intent.get(intent)
        if rows is None or len(rows) == 0:
            return []
        scores = self._scores(query, rows)
        top = np.argsort(-scores)[:k] if len(scores) <= k else np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ticket_ids[rows[i]]), float(scores[i])) for i in top]

    def reference_cosines(self, query) -> np.ndarray:
        """Cosine of ``query`` to every row of the reference set, in its order."""
        if len(self.reference_rows) == 0:
            return np.zeros(0, np.float32)
        return _cosines(self.reference, query)

    def closest_of_intent(self, cosines: np.ndarray, intent: str) -> float | None:
        """From a query's :meth:`reference_cosines`, the cosine to the nearest reference example of
        ``intent`` (``None`` for a model saved before the reference rows' intents were kept)."""
        if self.reference_by_intent is None:
            return None
        positions = self.reference_by_intent.get(intent)
        return float(cosines[positions].max()) if positions is not None and len(positions) else 0.0


def nearest_others(matrix, positions: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``matrix`` (unit rows, dense or sparse) at ``positions``, the nearest
    *other* row and its cosine, computed a chunk of rows at a time to bound memory."""
    nearest = np.zeros(len(positions), dtype=np.int64)
    closest = np.zeros(len(positions), dtype=np.float32)
    for start in range(0, len(positions), chunk):
        part = positions[start:start + chunk]
        sims = matrix[part] @ matrix.T
        sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
        sims[np.arange(len(part)), part] = -1.0
        nearest[start:start + len(part)] = sims.argmax(axis=1)
        closest[start:start + len(part)] = sims.max(axis=1)
    return nearest, closest


def nearest_per_label(matrix, labels: np.ndarray, positions: np.ndarray, n_labels: int,
                      chunk: int = 512) -> np.ndarray:
    """For each row of ``matrix`` (unit rows, dense or sparse) at ``positions``, the cosine to the
    nearest *other* row of each label (``labels``: one label index per row, below ``n_labels``),
    floored at 0 (also where a label has no other row): what a new text like that row would
    see. One row per position, one column per label; a chunk of rows at a time bounds memory."""
    order = np.argsort(labels, kind="stable")
    present, starts = np.unique(labels[order], return_index=True)
    out = np.zeros((len(positions), n_labels), dtype=np.float32)
    for start in range(0, len(positions), chunk):
        part = positions[start:start + chunk]
        sims = matrix[part] @ matrix.T
        sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
        sims[np.arange(len(part)), part] = 0.0
        out[start:start + len(part), present] = np.maximum(np.maximum.reduceat(sims[:, order], starts, axis=1), 0.0)
    return out


def _cosines(candidates, query) -> np.ndarray:
    """Cosine of one query to every row of ``candidates`` (rows already unit length). Plain numpy
    on purpose: scikit-learn's ``normalize`` checks its input for about 1 ms per call."""
    if isinstance(candidates, np.ndarray):
        row = np.asarray(query, dtype=np.float32).ravel()
        return candidates @ (row / max(float(np.sqrt(row @ row)), 1e-12))
    row = sparse.csr_matrix(query, dtype=np.float32)
    norm = max(float(np.sqrt(row.data @ row.data)), 1e-12)
    if not row.nnz:
        return np.zeros(candidates.shape[0], np.float32)
    return (candidates @ (row.T / norm)).toarray().ravel()
