"""When a similar resolved ticket is close enough to draft from, learned without any labels.

A tenant that has just connected its helpdesk has replies but no intents. Its own history still
says how close two customers' questions must be for the reply to one to answer the other: for a
sample of resolved tickets, find the nearest *other* resolved ticket and ask whether the two
replies agree (their word TF-IDF cosine is at least :data:`REPLY_AGREEMENT`). The lowest
similarity above which replies agree at the tenant's target precision is where a draft is
offered; below it the suggestion shows similar tickets only. A history whose replies never agree
that often gets no drafts: an honest "I don't know" rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ml.abstention import threshold_for_precision
from core.ml.similarity import nearest_others

#: Two replies "agree" from this word TF-IDF cosine up: the same answer with another greeting,
#: name or order number scores 0.7 and more; answers to different questions rarely pass 0.3.
REPLY_AGREEMENT = 0.5
#: How often the closest ticket's reply must agree before it is offered as a draft, while the
#: tenant has no intents (setting ``draft_target_precision``). Lower than the intents' 0.96: the
#: draft sits in the agent's editor beside its evidence and is always read before it is sent,
#: while a wrong intent would mislabel the ticket. On a simulated 1,500-ticket history, 0.96 drafts
#: only from 0.85 cosine up, 0.9 from 0.77 (a plain paraphrase of a past question).
DEFAULT_DRAFT_PRECISION = 0.9
#: Resolved tickets sampled to fit the rule (bounds training time on large histories).
SAMPLE = 3000
#: Fewer resolved tickets than this say nothing reliable: no drafts until there are more.
MIN_RESOLVED = 20


@dataclass(frozen=True)
class DraftRule:
    min_similarity: float  # cosine to the nearest resolved ticket needed for a draft
    agreement: float  # share of agreeing replies at or above it, in the sample
    sample: int
    target_precision: float

    def allows(self, similarity: float) -> bool:
        return similarity >= self.min_similarity

    @classmethod
    def fit(cls, matrix, resolved_rows: np.ndarray, replies: list[str], target_precision: float,
            seed: int = 0) -> DraftRule:
        """``matrix``: the similarity index's unit rows; ``resolved_rows``: its rows of resolved
        tickets; ``replies``: their replies, in the same order."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        never = cls(float("inf"), 0.0, len(resolved_rows), target_precision)
        if len(resolved_rows) < MIN_RESOLVED:
            return never
        sample = np.arange(len(resolved_rows))
        if len(sample) > SAMPLE:
            sample = np.sort(np.random.default_rng(seed).choice(len(sample), SAMPLE, replace=False))
        nearest, similarity = nearest_others(matrix[resolved_rows], sample)
        reply_vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(replies)
        agreement = np.asarray(reply_vectors[sample].multiply(reply_vectors[nearest]).sum(axis=1)).ravel()
        agree = agreement >= REPLY_AGREEMENT
        if not agree.any():
            return never
        threshold = threshold_for_precision(similarity, agree, target_precision)
        above = similarity >= threshold
        return cls(float(threshold), float(agree[above].mean()) if above.any() else 0.0, len(sample), target_precision)
