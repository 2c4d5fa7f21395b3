"""The audit trail of signals: what each one changed and which model version learned from it."""

from __future__ import annotations

from dataclasses import dataclass

from core.learning.feedback import list_signals
from core.learning.kinds import KINDS, default_weight
from core.learning.training import registry_for
from core.ml.registry import StoredModel
from core.runtime import Runtime
from core.types import Signal


@dataclass(frozen=True)
class AuditedSignal:
    signal: Signal
    change: str  # what the signal does to suggestions, in words
    trained_in: str | None  # the first model version trained with it (None: not yet, or revoked)


def describe(signal: Signal) -> str:
    """What ``signal`` changes, in an agent's words."""
    payload, kind = signal.payload, signal.kind
    if signal.revoked_at is not None:
        return "revoked: no longer used"
    if kind == "intent_changed":
        return f"labels the ticket {payload.get('intent')!r}; near-identical tickets get that intent at once"
    if kind == "tag_changed":
        return f"labels the ticket with tags {', '.join(payload.get('tags') or []) or '(none)'}"
    if kind == "draft_edited":
        return (f"the agent's edited reply (similarity {payload.get('similarity', 0):.2f} to the draft) becomes "
                "the preferred answer for this intent")
    weight = signal.weight if signal.weight is not None else (default_weight(kind, payload) if kind in KINDS else 0.0)
    if kind == "escalated":
        return f"escalated to {payload.get('group') or 'a human'}, with the suggestion's context kept"
    if weight > 0:
        return f"promotes the reply that was used (+{weight:g})"
    if weight < 0:
        return f"demotes the reply that was used ({weight:g})"
    return "recorded"


def audited_signals(runtime: Runtime, tenant_slug: str, limit: int = 50) -> list[AuditedSignal]:
    signals = list_signals(runtime, tenant_slug, limit=limit)
    versions = registry_for(runtime, tenant_slug).versions()
    return [AuditedSignal(s, describe(s), None if s.revoked_at else _trained_in(s, versions)) for s in signals]


def _trained_in(signal: Signal, versions: list[StoredModel]) -> str | None:
    for stored in versions:  # oldest first
        if int(stored.metadata.get("max_signal_id", 0)) >= (signal.id or 0):
            return stored.version
    return None
