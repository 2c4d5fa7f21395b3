"""The autonomy safety rules for the help widget's answers.

A widget answer reaches a customer with no agent in between, as an autonomous reply does, so the
rules that stop autonomous replies stop it too, from the same policy (:mod:`core.autonomy.policy`):
the kill switch stops every widget answer, a sensitive intent or account is never answered, and an
intent the tenant turned autonomous is answered only at or above that intent's threshold. The
widget then says it does not know and offers a person, as for any abstention.

A tenant that never configured autonomy (no modes, nothing sensitive, not paused) keeps the
widget as it was: the suggestion's own abstention decides.

When a customer of a tenant that uses autonomy sends a widget session to a person ("not helpful",
then the ticket form), the ticket carries the same handoff note an autonomous reply's handoff does
and goes to the intent's group (:func:`widget_handoff`, used by :mod:`core.widget.filing`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.autonomy.handoff import HandoffContext, compose_note
from core.autonomy.policy import Mode, Policy, normalize_account, policy_of
from core.runtime import Runtime
from core.store.tables import SuggestionRow
from core.types import Suggestion


@dataclass(frozen=True)
class WidgetGate:
    """Whether the widget may show the suggestion's answer, and why not (a handoff reason of
    :data:`core.autonomy.handoff.REASONS`, or ``paused``/``sensitive``)."""

    answers: bool
    reason: str | None = None
    threshold: float | None = None


def gate(policy: Policy, suggestion: Suggestion, account: str | None = None) -> WidgetGate:
    """The rules applied to one suggestion (no I/O)."""
    if policy.paused is not None:
        return WidgetGate(False, "paused")
    intent = suggestion.intent
    if intent and intent in policy.sensitive_intents:
        return WidgetGate(False, "sensitive")
    if account and normalize_account(account) in policy.sensitive_accounts:
        return WidgetGate(False, "sensitive")
    if intent and policy.modes.get(intent) is Mode.AUTONOMOUS:
        threshold = policy.threshold_for(intent)
        if suggestion.confidence < threshold:
            return WidgetGate(False, "below_threshold", threshold)
        return WidgetGate(True, None, threshold)
    return WidgetGate(True)


def widget_gate(runtime: Runtime, tenant: str, suggestion: Suggestion, account: str | None = None) -> WidgetGate:
    """:func:`gate` on the tenant's current policy (cached: a pause reaches the widget within
    :data:`core.autonomy.policy.STAMP_CHECK_SECONDS`)."""
    return gate(policy_of(runtime, tenant), suggestion, account)


def held_back(suggestion: Suggestion, verdict: WidgetGate) -> Suggestion:
    """The suggestion as the widget shows it: abstaining when the rules stop its answer."""
    if verdict.answers or suggestion.abstained:
        return suggestion
    return suggestion.model_copy(update={"abstained": True})


def uses_autonomy(policy: Policy) -> bool:
    """Whether the tenant configured autonomy at all (a mode, a sensitive value, a pause, a group):
    only then does a filed widget ticket carry a handoff note, so a tenant that never did keeps
    its widget tickets as they were."""
    return bool(policy.modes or policy.sensitive_intents or policy.sensitive_accounts or policy.paused is not None
                or policy.config.groups or policy.config.default_group)


def widget_handoff(runtime: Runtime, tenant: str, question: str, answer: str | None, helpful: bool | None,
                   suggestion: SuggestionRow | None) -> tuple[str, str | None] | None:
    """The handoff note (:func:`core.autonomy.handoff.compose_note`, as an autonomous reply's
    handoff) and the intent's group for a widget session the customer sends to a person: why
    (the answer did not help, or they asked for a person), what Deskloop answered, the evidence and
    the customer's sentiment. ``None`` for a tenant that does not use autonomy."""
    policy = policy_of(runtime, tenant)
    if not uses_autonomy(policy):
        return None
    intent = suggestion.intent if suggestion is not None else None
    autonomous = bool(intent) and policy.modes.get(intent or "") is Mode.AUTONOMOUS
    context = HandoffContext(
        intent=intent, confidence=suggestion.confidence if suggestion is not None else None,
        threshold=policy.threshold_for(intent) if autonomous else None, answered=answer, would_have=None,
        evidence=tuple(str(e.get("external_id")) for e in (suggestion.evidence or [])[:3]
                       if isinstance(e, dict) and e.get("external_id")) if suggestion is not None else (),
        language=None, customer_text=question,
        suggestion_id=suggestion.id if suggestion is not None else None,
        model_version=suggestion.model_version if suggestion is not None else None)
    reason = "negative_answer" if helpful is False else "asked_for_person"
    note, _ = compose_note(reason, context, "in the help widget")
    return note, policy.config.group_for(intent)
