"""Every kind of learning signal, in one table: what it says, what its payload must carry, its
default weight, what it teaches at once, how it becomes training data, and which helpdesk events
produce it.

Every other place reads this table: recording checks the payload (:func:`check_payload`) and
fills the weight (:func:`default_weight`); the live memory (:mod:`core.learning.live`, acting on
the very next suggestion) and training (:mod:`core.learning.training`, the next model version) both ask
:func:`effect_of`, so the two never disagree about what a signal says; the helpdesk event
handler (:mod:`core.helpdesk.webhook_events`) listens to the events named here. Adding a kind is one
:class:`KindSpec` below plus its name in :data:`core.types.SignalKind` (the API's schema), which a
test keeps equal to this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import BadInput


@dataclass(frozen=True)
class Effect:
    """What one signal teaches. ``intent``/``tags``/``reply`` label the ticket; ``outcome`` is the
    weight added to ``source`` (the reply the customer got)."""

    intent: str | None = None
    tags: tuple[str, ...] | None = None
    reply: str | None = None
    source: str | None = None
    outcome: float = 0.0
    #: The intent to label the ticket with only when nothing else labels it: a customer's
    #: confirmation says the suggested intent was right for a ticket no agent labelled (an
    #: autonomous answer that worked), but never overrides an agent's label.
    fallback_intent: str | None = None


#: (payload, suggested intent, draft source, weight) -> what the signal teaches.
Teaching = Callable[[dict[str, Any], str | None, str | None, float], Effect]


@dataclass(frozen=True)
class KindSpec:
    """One kind of signal.

    Attributes:
        name: as stored and sent (``Signal.kind``).
        meaning: what happened, in a support team's words.
        weight: default weight when the client sends none (``None``: read from the payload, see
            :func:`default_weight`); positive outcomes promote the reply that was used, negative
            ones demote it.
        required: the payload field the kind cannot teach without, and the 400 reason when it is
            missing or malformed; ``None``: nothing required.
        valid: whether ``payload[required]`` says something (only with ``required``).
        outcome: the weight is an outcome for the reply the customer got.
        teaches_at_once: the live memory keeps a labelled example of it, so the very next
            suggestion for a question like it changes (the other kinds promote or demote replies
            at once; their labels wait for the next training).
        teach: what it teaches (:class:`Effect`), read at once and at training.
        drafted_reply_is_training: at training, the draft the customer got is the ticket's reply.
        from_events: the helpdesk event kinds (:class:`core.events.HelpdeskEvent`) that produce it.
    """

    name: str
    meaning: str
    weight: float | None
    teach: Teaching
    required: tuple[str, str] | None = None
    valid: Callable[[Any], bool] | None = None
    outcome: bool = False
    teaches_at_once: bool = False
    drafted_reply_is_training: bool = False
    from_events: tuple[str, ...] = ()


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _nothing(payload, suggested_intent, draft_source, weight) -> Effect:
    return Effect()


def _outcome(payload, suggested_intent, draft_source, weight) -> Effect:
    return Effect(source=draft_source, outcome=weight)


def _confirmed(payload, suggested_intent, draft_source, weight) -> Effect:
    return Effect(source=draft_source, outcome=weight, fallback_intent=suggested_intent if weight > 0 else None)


def _sent(payload, suggested_intent, draft_source, weight) -> Effect:
    # Sent unchanged: the suggested intent was right and the reply worked well enough to send.
    return Effect(intent=suggested_intent, source=draft_source, outcome=weight)


def _edited(payload, suggested_intent, draft_source, weight) -> Effect:
    return Effect(intent=_text(payload.get("intent")) or suggested_intent, reply=_text(payload.get("sent")),
                  source=draft_source, outcome=0.0)


def _tags(payload, suggested_intent, draft_source, weight) -> Effect:
    tags = payload.get("tags")
    return Effect(tags=tuple(str(t) for t in tags) if isinstance(tags, list) else None)


def _intent(payload, suggested_intent, draft_source, weight) -> Effect:
    return Effect(intent=_text(payload.get("intent")))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_tag_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(t, str) for t in value)


def _is_given(value: Any) -> bool:
    return value not in (None, "")


KINDS: dict[str, KindSpec] = {spec.name: spec for spec in (
    KindSpec("draft_sent", "the draft went out unchanged", 1.0, _sent, outcome=True,
             drafted_reply_is_training=True, from_events=("agent_replied",)),
    KindSpec("draft_edited", "the agent edited the draft before sending: a labelled correction", 1.0, _edited,
             required=("sent", "a draft_edited signal needs payload.sent, the reply the agent sent"),
             valid=lambda value: value is not None, teaches_at_once=True, from_events=("agent_replied",)),
    KindSpec("draft_discarded", "the agent threw the draft away", -1.0, _outcome, outcome=True),
    KindSpec("tag_changed", "an agent changed the tags Deskloop suggested: the new tags are the label", 1.0, _tags,
             required=("tags", "a tag_changed signal needs payload.tags, the list of right tags"),
             valid=_is_tag_list, teaches_at_once=True, from_events=("fields_changed",)),
    KindSpec("intent_changed", "an agent corrected the intent", 1.0, _intent,
             required=("intent", "an intent_changed signal needs payload.intent, the right intent"),
             valid=_is_text, teaches_at_once=True),
    KindSpec("reopened", "the customer came back after the ticket was solved", -1.0, _outcome, outcome=True,
             from_events=("reopened",)),
    KindSpec("not_helpful", "the customer said the answer did not help", -1.0, _outcome, outcome=True),
    KindSpec("confirmed", "the customer confirmed the problem was solved", 1.0, _confirmed, outcome=True),
    KindSpec("csat", "a satisfaction rating arrived (good/bad or 1-5; its sign is the rating's)", None, _outcome,
             required=("rating", "a csat signal needs payload.rating (good/bad or 1-5)"), valid=_is_given,
             outcome=True, from_events=("csat_received",)),
    KindSpec("escalated", "handed to a human or another group, with what the AI knew then", 0.0, _nothing,
             from_events=("reassigned",)),
)}

#: The helpdesk event kinds that can carry a signal (the others only update the ticket).
TEACHING_EVENTS = frozenset(event for spec in KINDS.values() for event in spec.from_events)
#: The two kinds a sent reply becomes, by whether it is the draft unchanged (one per draft).
SENT_REPLY_KINDS = ("draft_sent", "draft_edited")
#: Kinds the live memory keeps a labelled example of.
TEACHING_AT_ONCE = frozenset(name for name, spec in KINDS.items() if spec.teaches_at_once)


def spec_of(kind: str) -> KindSpec:
    return KINDS[kind]


def check_payload(kind: str, payload: dict[str, Any]) -> None:
    """Refuse a signal that cannot teach what its kind says (a 400, never half a label)."""
    spec = KINDS[kind]
    if spec.required is not None and spec.valid is not None:
        field, reason = spec.required
        if not spec.valid(payload.get(field)):
            raise BadInput(reason, field=f"payload.{field}")


def default_weight(kind: str, payload: dict[str, Any]) -> float:
    """The weight of a signal sent without one (``csat``: +1 for a good rating, -1 otherwise)."""
    weight = KINDS[kind].weight
    if weight is None:
        return 1.0 if csat_is_good(payload) else -1.0
    return weight


def csat_is_good(payload: dict[str, Any]) -> bool:
    """A rating of ``good``/``bad`` (Zendesk, Intercom's thumbs) or 1-5 (4 and 5 are good)."""
    rating: Any = payload.get("rating")  # whatever the helpdesk sent
    if isinstance(rating, str):
        return rating.strip().lower() in {"good", "great", "amazing", "positive", "satisfied"}
    try:
        return float(rating) >= 4
    except (TypeError, ValueError):
        return False


def effect_of(kind: str, weight: float, payload: dict[str, Any], suggested_intent: str | None,
              draft_source: str | None) -> Effect:
    """The effect of a signal about a suggestion that proposed ``suggested_intent`` and drew its
    draft from ``draft_source`` (an unknown kind, e.g. from a newer version, teaches nothing)."""
    spec = KINDS.get(kind)
    return spec.teach(payload, suggested_intent, draft_source, weight) if spec is not None else Effect()


def training_effect(kind: str, weight: float, payload: dict[str, Any], suggested_intent: str | None,
                    draft_source: str | None, draft: str | None) -> Effect:
    """What a signal adds to the ticket's training example: :func:`effect_of`, and for a draft
    that went out as it was, that draft as the ticket's reply."""
    effect = effect_of(kind, weight, payload, suggested_intent, draft_source)
    spec = KINDS.get(kind)
    if spec is not None and spec.drafted_reply_is_training and draft:
        return Effect(intent=effect.intent, reply=draft, fallback_intent=effect.fallback_intent)
    return effect
