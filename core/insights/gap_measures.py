"""How badly a group of tickets (one intent, or one cluster of tickets without an intent) lacks a
good answer: the measures, the gap score that combines them and the reasons that explain it.

Five measures, each a rate between 0 and 1, say that agents and the model are missing knowledge:

- ``abstention``: suggestions for the group's tickets on which Deskloop abstained (it found no
  answer it trusted);
- ``edits``: sent drafts the agent edited first (``draft_edited`` against ``draft_sent``), scaled
  by how much was changed: ``edit_rate * (0.5 + 0.5 * mean_edit_size)``, the edit size being
  ``1 - similarity`` of draft and sent reply as the signal recorded it;
- ``reopens``: tickets the customer came back to (a reopen count or a ``reopened`` signal);
- ``bad_csat``: rated tickets rated badly (a score under 4 or a bad ``csat`` signal);
- ``long_unique_replies``: agent replies that are long (:data:`LONG_REPLY_WORDS`) and unlike the
  group's other replies (TF-IDF cosine to the centroid of the others below :data:`UNIQUE_BELOW`):
  agents writing the answer from scratch each time.

The gap score is ``sum(WEIGHTS[m] * rate[m])``: 0 to 100, and never lower when any rate rises
(monotone), so a group's reasons are its measures' points, largest first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

#: Points each measure adds at a rate of 1 (they sum to 100).
WEIGHTS: dict[str, float] = {
    "abstention": 30.0, "edits": 25.0, "reopens": 20.0, "bad_csat": 15.0, "long_unique_replies": 10.0,
}
#: A reply this long (in words) is an answer written out, not a quick acknowledgement.
LONG_REPLY_WORDS = 80
#: TF-IDF cosine to the centroid of the group's other replies under which a reply is unlike them.
UNIQUE_BELOW = 0.2
#: A measure worth fewer points than this is no reason.
REASON_MIN_POINTS = 1.0
REASONS_SHOWN = 3


@dataclass
class GroupTally:
    """What was counted of one group's tickets (filled by the report, read by :func:`rates`)."""

    tickets: int = 0
    suggestions: int = 0
    abstained: int = 0
    abstain_reasons: Counter[str] = field(default_factory=Counter)
    drafts_sent: int = 0
    drafts_edited: int = 0
    edit_sizes: list[float] = field(default_factory=list)
    reopened: int = 0
    rated: int = 0
    rated_bad: int = 0
    replies: int = 0
    long_unique_replies: int = 0


@dataclass(frozen=True)
class Reason:
    measure: str
    points: float
    detail: str


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def rates(tally: GroupTally) -> dict[str, float]:
    """Each measure's rate (0 to 1) for :data:`WEIGHTS`."""
    edit_rate = _share(tally.drafts_edited, tally.drafts_sent + tally.drafts_edited)
    return {
        "abstention": _share(tally.abstained, tally.suggestions),
        "edits": edit_rate * (0.5 + 0.5 * mean_edit_size(tally)),
        "reopens": _share(tally.reopened, tally.tickets),
        "bad_csat": _share(tally.rated_bad, tally.rated),
        "long_unique_replies": _share(tally.long_unique_replies, tally.replies),
    }


def mean_edit_size(tally: GroupTally) -> float:
    return float(np.mean(tally.edit_sizes)) if tally.edit_sizes else 0.0


def gap_score(tally: GroupTally) -> float:
    return round(sum(WEIGHTS[m] * r for m, r in rates(tally).items()), 1)


def points(tally: GroupTally) -> dict[str, float]:
    """Every measure's share of the score, even the small ones :func:`reasons` leaves out: what a
    chart stacks to show how the score is made up (each rounded to 0.1, so their sum may differ
    from the score by a rounding)."""
    return {m: round(WEIGHTS[m] * r, 1) for m, r in rates(tally).items()}


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * _share(part, whole))}%"


def reasons(tally: GroupTally) -> list[Reason]:
    """The measures that explain the score, most points first (at most :data:`REASONS_SHOWN`)."""
    reason_words = ", ".join(f"{r} {n}" for r, n in tally.abstain_reasons.most_common(3))
    details = {
        "abstention": f"Deskloop abstained on {_percent(tally.abstained, tally.suggestions)} of "
                      f"{tally.suggestions} suggestion(s)" + (f" ({reason_words})" if reason_words else ""),
        "edits": f"agents edited {_percent(tally.drafts_edited, tally.drafts_sent + tally.drafts_edited)} of "
                 f"{tally.drafts_sent + tally.drafts_edited} sent draft(s), changing "
                 f"{round(100 * mean_edit_size(tally))}% of the text on average",
        "reopens": f"{_percent(tally.reopened, tally.tickets)} of {tally.tickets} ticket(s) reopened",
        "bad_csat": f"{_percent(tally.rated_bad, tally.rated)} of {tally.rated} rated ticket(s) rated badly",
        "long_unique_replies": f"{_percent(tally.long_unique_replies, tally.replies)} of {tally.replies} agent "
                               "replies long and unlike the others",
    }
    kept = sorted((p for p in points(tally).items() if p[1] >= REASON_MIN_POINTS), key=lambda p: -p[1])[:REASONS_SHOWN]
    return [Reason(m, p, details[m]) for m, p in kept]


def reply_vectors(replies: list[str]):
    """Unit-length TF-IDF rows of a group's replies (None when they share no word at all)."""
    try:
        return TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(replies)
    except ValueError:  # only stop words or no words: nothing to compare
        return None


def centrality(vectors, rows: list[int]) -> list[float]:
    """Cosine of each of ``rows`` to the centroid of ``rows`` (higher: more typical)."""
    if vectors is None or not rows:
        return [0.0] * len(rows)
    picked = vectors[rows]
    centroid = np.asarray(picked.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    return [0.0] * len(rows) if not norm else list(np.asarray(picked @ (centroid / norm)).ravel())


def long_unique_count(replies: list[str], vectors) -> int:
    """How many of ``replies`` are long and unlike the group's other replies (leave-one-out centroid)."""
    if len(replies) < 2 or vectors is None:
        return 0
    total = np.asarray(vectors.sum(axis=0)).ravel()
    count = 0
    for i, reply in enumerate(replies):
        if len(reply.split()) < LONG_REPLY_WORDS:
            continue
        own = vectors[i].toarray().ravel()
        others = total - own
        norm = np.linalg.norm(others)
        if not norm or float(own @ others) / norm < UNIQUE_BELOW:
            count += 1
    return count
