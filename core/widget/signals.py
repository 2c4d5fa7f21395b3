"""What the customer's reactions teach: "helpful" is a ``confirmed`` outcome of the answer's
suggestion, "not helpful" a ``not_helpful`` one; a guide followed to its end confirms the answer
too, and one abandoned is a weak ``not_helpful`` (half the weight: the customer may have found
the way on their own); a completed guide's signal also keeps the other names customers clicked
for its steps. Each is recorded once per answer (its ``source_event``), so a double
click or a retried request counts once. The payload names the page's route and area, never the
customer: the learning loop reads which answer worked on which page."""

from __future__ import annotations

from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.tables import WidgetSessionRow
from core.types import Signal, SignalKind

ACTOR = "widget"
ABANDONED_WEIGHT = -0.5


def _where(row: WidgetSessionRow) -> dict[str, str]:
    context = row.page_context or {}
    return {k: context[k] for k in ("route", "area") if context.get(k)}


def _record(runtime: Runtime, tenant: str, row: WidgetSessionRow, kind: SignalKind, what: str,
            payload: dict, weight: float | None = None) -> tuple[Signal, bool]:
    event = f"widget:{row.id}:{row.suggestion_id or 'none'}:{len(row.earlier or [])}:{what}"
    return record_signal(runtime, tenant, Signal(
        kind=kind, suggestion_id=row.suggestion_id, actor=ACTOR, weight=weight, source_event=event,
        payload={"widget_session": row.id, **_where(row), **payload}))


def record_feedback(runtime: Runtime, tenant: str, row: WidgetSessionRow, helpful: bool) -> tuple[Signal, bool]:
    return _record(runtime, tenant, row, "confirmed" if helpful else "not_helpful", "feedback", {"helpful": helpful})


def record_guide(runtime: Runtime, tenant: str, row: WidgetSessionRow, event: str, step: int,
                 aliases: list[list[str]] | None = None) -> tuple[Signal, bool]:
    """``aliases``: the ``[step, element's name]`` pairs a completed guide taught
    (:func:`core.widget.names.taught_pairs`), read back by :func:`core.widget.names.learned_aliases`."""
    if event == "completed":
        payload: dict = {"guide": event, "step": step, **({"aliases": aliases} if aliases else {})}
        return _record(runtime, tenant, row, "confirmed", "guide", payload)
    return _record(runtime, tenant, row, "not_helpful", "guide", {"guide": event, "step": step}, ABANDONED_WEIGHT)
