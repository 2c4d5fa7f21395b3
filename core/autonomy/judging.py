"""When a reply Deskloop would have sent counts as right, and how much evidence a share of right
replies is: one rule for the backtest (:mod:`.backtest`) and for shadow mode (:mod:`.shadow`), so
the figures a person compares mean the same thing.

A reply is right when the predicted intent is the ticket's, the draft is close to the agent's reply
(:data:`CLOSE_ENOUGH`), and the agent's own reply held: the ticket was not reopened and not rated
badly (:data:`BAD_CSAT` or lower). Precision is judged at the lower end of its Wilson interval
(one-sided 95%), so a handful of lucky tickets is not evidence.
"""

from __future__ import annotations

import math

#: Draft-to-reply similarity (:func:`core.learning.feedback.text_similarity`) from which the draft
#: counts as the answer the agent gave: the same reply with a name, a number or a phrase changed.
CLOSE_ENOUGH = 0.8
#: One-sided 95% normal quantile for the Wilson lower bound.
WILSON_Z = 1.6449
#: CSAT scores (1 to 5) that count as a bad rating of the agent's reply.
BAD_CSAT = 2


def judged_right(would_send: bool, intent_right: bool, similarity: float | None, reopened: bool,
                 bad_csat: bool) -> bool:
    """Whether a reply Deskloop would have sent was right (see the module's docstring)."""
    return (would_send and intent_right and (similarity or 0.0) >= CLOSE_ENOUGH
            and not reopened and not bad_csat)


def is_bad_csat(score: int | None) -> bool:
    return score is not None and score <= BAD_CSAT


def wilson_lower(right: int, n: int, z: float = WILSON_Z) -> float:
    """Lower end of the Wilson score interval of ``right / n`` (0 for no observations)."""
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))
