"""What agents and customers taught since the model was trained, applied at once, without a retrain.

A retrain takes minutes; an agent who corrects a suggestion expects the next similar ticket to be
right. The memory holds, per tenant and model version, the labelled examples that signals created
(a corrected intent or tags, an edited reply) and the net feedback on each reply source, and the
suggestion reads it before answering:

- a ticket that is nearly the same as a corrected one (cosine at least :data:`MATCH_SIMILARITY`)
  takes the corrected intent and tags, and is answered, since a person just answered it;
- the newest edited reply for an intent is that intent's preferred answer;
- a reply source (a resolved ticket, or an edited reply) with more negative outcomes than
  positive ones is passed over when another source exists.

Everything here is rebuilt from non-revoked signals (see :mod:`core.live`), so revoking a signal
removes its influence.

Signals also say on which page the answer worked or failed (the context key of the suggestion
they judged, see :mod:`core.ml.page_context`). A question asked with a page context reads only
what was taught on the same page or without one: a correction of "how do I export my data?" on
the Analytics dashboard says nothing about the same words in Account Settings, and a reply
demoted on one page may be the right one on another. A question without a page context reads
everything, exactly as before contexts existed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from core.ml.page_context import ContextKey

#: How close a new ticket must be to a corrected one to take its correction (sentence-vector
#: cosine; paraphrases of one question in Banking77 mostly sit above 0.8, different questions
#: of the same product below).
MATCH_SIMILARITY = 0.9


@dataclass(frozen=True)
class Taught:
    """A labelled example created by a signal."""

    signal_id: int
    intent: str | None
    tags: tuple[str, ...] | None
    reply: str | None  # the reply the agent sent, when the signal carried one
    customer_name: str | None  # whom that reply was written for (its name is replaced in drafts)
    context: str | None = None  # the page it was taught on (a stored context key), if any


@dataclass(frozen=True)
class Match:
    taught: Taught
    similarity: float


@dataclass
class FeedbackMemory:
    examples: list[Taught] = field(default_factory=list)
    rows: list = field(default_factory=list)  # unit-length similarity rows, one per example
    preferred_reply: dict[str, Taught] = field(default_factory=dict)  # intent -> newest edited reply
    source_feedback: Counter = field(default_factory=Counter)  # "ticket:12" / "signal:7" -> net weight
    #: The same, split by page: (source, context key) -> net weight, and the outcomes that came
    #: without a page (source -> net weight).
    page_feedback: Counter = field(default_factory=Counter)
    unpaged_feedback: Counter = field(default_factory=Counter)
    #: Newest edited reply per (intent, context key) and per intent taught without a page.
    preferred_on_page: dict[tuple[str, str], Taught] = field(default_factory=dict)
    preferred_unpaged: dict[str, Taught] = field(default_factory=dict)
    _matrix: np.ndarray | sparse.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.examples)

    def teach(self, taught: Taught, row) -> None:
        """Remember a labelled example (``row`` is the ticket's similarity row)."""
        if taught.intent is None and taught.tags is None and taught.reply is None:
            return
        self.examples.append(taught)
        self.rows.append(_unit(row))
        self._matrix = None
        if taught.reply and taught.intent:
            self.preferred_reply[taught.intent] = taught
            if taught.context:
                self.preferred_on_page[(taught.intent, taught.context)] = taught
            else:
                self.preferred_unpaged[taught.intent] = taught

    def reinforce(self, source: str | None, weight: float, context: str | None = None) -> None:
        """Add an outcome (positive promotes, negative demotes) to a reply source, on the page
        ``context`` (a stored context key) when the judged suggestion had one."""
        if source:
            self.source_feedback[source] += weight  # type: ignore[assignment]  # float weights; typeshed says int
            if context:
                self.page_feedback[(source, context)] += weight  # type: ignore[assignment]
            else:
                self.unpaged_feedback[source] += weight  # type: ignore[assignment]

    def preferred(self, intent: str, context: ContextKey | None = None) -> Taught | None:
        """The edited reply to prefer for ``intent``: the newest one, or on a page the newest one
        taught on that page, else one taught without a page."""
        if context is None:
            return self.preferred_reply.get(intent)
        return self.preferred_on_page.get((intent, str(context))) or self.preferred_unpaged.get(intent)

    def closest(self, query, context: ContextKey | None = None) -> Match | None:
        """The taught example nearest to ``query`` if it is close enough to act on; with a
        ``context``, among those taught on the same page or without one."""
        if not self.examples:
            return None
        if self._matrix is None:
            self._matrix = (sparse.vstack(self.rows, format="csr") if sparse.issparse(self.rows[0])
                            else np.vstack(self.rows))
        query_row = _unit(query)
        scores = self._matrix @ (query_row.T if sparse.issparse(query_row) else query_row.ravel())
        scores = scores.toarray().ravel() if sparse.issparse(scores) else np.asarray(scores).ravel()
        if context is not None:
            other_page = [i for i, e in enumerate(self.examples)
                          if e.context and not context.same_page(ContextKey.parse(e.context))]
            if other_page:
                scores = scores.copy()
                scores[other_page] = -np.inf
        best = int(scores.argmax())
        if scores[best] < MATCH_SIMILARITY:
            return None
        # The newest among equally close examples wins: a later correction overrides an earlier one.
        ties = np.nonzero(scores >= scores[best] - 1e-6)[0]
        best = int(ties.max())
        return Match(self.examples[best], float(scores[best]))

    def demoted(self, source: str | None, context: ContextKey | None = None) -> bool:
        """More negative outcomes than positive ones; on a page, those on that page when it has
        any, else those that came without a page."""
        if not source:
            return False
        if context is None:
            return self.source_feedback.get(source, 0.0) < 0
        on_page = self.page_feedback.get((source, str(context)))
        return (on_page if on_page is not None else self.unpaged_feedback.get(source, 0.0)) < 0

    def worked_on(self, source: str, context: ContextKey | None) -> bool:
        """More positive outcomes than negative ones for ``source`` on the page ``context``."""
        return context is not None and self.page_feedback.get((source, str(context)), 0.0) > 0


def _unit(row):
    """``row`` scaled to unit length (numpy, not scikit-learn's checked ``normalize``: this runs
    on every suggestion)."""
    if sparse.issparse(row):
        row = sparse.csr_matrix(row, dtype=np.float32)
        return row / max(float(np.sqrt(row.data @ row.data)), 1e-12)
    row = np.asarray(row, dtype=np.float32).reshape(1, -1)
    return row / max(float(np.sqrt((row * row).sum())), 1e-12)
