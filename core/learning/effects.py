"""What each kind of signal means for learning: its default weight, the label it gives, the reply
source it promotes or demotes.

One table, read both by the live memory (:mod:`core.learning.live`, acting at once) and by
training (:mod:`core.ml.training`, the next model version), so the two never disagree about what a
signal says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Default weight per kind when the client sends none: positive outcomes promote the reply that
#: was used, negative ones demote it. ``csat`` takes its sign from the rating.
DEFAULT_WEIGHTS: dict[str, float] = {
    "draft_sent": 1.0,
    "draft_edited": 1.0,
    "draft_discarded": -1.0,
    "tag_changed": 1.0,
    "intent_changed": 1.0,
    "reopened": -1.0,
    "not_helpful": -1.0,
    "confirmed": 1.0,
    "csat": 1.0,
    "escalated": 0.0,
}

#: Kinds whose weight is an outcome for the reply that was sent.
OUTCOMES = {"draft_sent", "draft_discarded", "reopened", "not_helpful", "confirmed", "csat"}


def default_weight(kind: str, payload: dict[str, Any]) -> float:
    if kind == "csat":
        return 1.0 if csat_is_good(payload) else -1.0
    return DEFAULT_WEIGHTS[kind]


def csat_is_good(payload: dict[str, Any]) -> bool:
    """A rating of ``good``/``bad`` (Zendesk, Intercom's thumbs) or 1-5 (4 and 5 are good)."""
    rating: Any = payload.get("rating")  # whatever the helpdesk sent
    if isinstance(rating, str):
        return rating.strip().lower() in {"good", "great", "amazing", "positive", "satisfied"}
    try:
        return float(rating) >= 4
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Effect:
    """What one signal teaches. ``intent``/``tags``/``reply`` label the ticket; ``outcome`` is the
    weight added to ``source`` (the reply the customer got)."""

    intent: str | None = None
    tags: tuple[str, ...] | None = None
    reply: str | None = None
    source: str | None = None
    outcome: float = 0.0


def effect_of(kind: str, weight: float, payload: dict[str, Any], suggested_intent: str | None,
              draft_source: str | None) -> Effect:
    """The effect of a signal about a suggestion that proposed ``suggested_intent`` and drew its
    draft from ``draft_source``."""
    if kind == "intent_changed":
        return Effect(intent=_text(payload.get("intent")))
    if kind == "tag_changed":
        tags = payload.get("tags")
        return Effect(tags=tuple(str(t) for t in tags) if isinstance(tags, list) else None)
    if kind == "draft_edited":
        return Effect(intent=_text(payload.get("intent")) or suggested_intent, reply=_text(payload.get("sent")),
                      source=draft_source, outcome=0.0)
    if kind == "draft_sent":
        # Sent unchanged: the suggested intent was right and the reply worked well enough to send.
        return Effect(intent=suggested_intent, source=draft_source, outcome=weight)
    if kind in OUTCOMES:
        return Effect(source=draft_source, outcome=weight)
    return Effect()


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None
