"""The autonomy safety rules for the help widget's answers.

A widget answer reaches a customer with no agent in between, as an autonomous reply does, so the
rules that stop autonomous replies stop it too, from the same policy (:mod:`core.autonomy.policy`):
the kill switch stops every widget answer, a sensitive intent or account is never answered, and an
intent the tenant turned autonomous is answered only at or above that intent's threshold. The
widget then says it does not know and offers a person, as for any abstention.

A tenant that never configured autonomy (no modes, nothing sensitive, not paused) keeps the
widget as it was: the suggestion's own abstention decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.autonomy.policy import Mode, Policy, normalize_account, policy_of
from core.runtime import Runtime
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
