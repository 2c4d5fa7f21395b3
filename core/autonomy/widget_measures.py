"""The help widget as a channel of the autonomy measures: its answers reach customers with no
agent in between, as autonomous replies do, so the page that weighs autonomy shows them too.

One population: the widget sessions *opened* in the period. A session is **resolved in the
widget** when its latest question got an answer, the customer did not mark it "not helpful", and
the session was not sent to a person as a ticket. Read-only: nothing here writes.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.runtime import Runtime
from core.store.tables import WidgetSessionRow


class WidgetChannel(BaseModel):
    sessions: int = Field(description="widget sessions opened in the period")
    questions: int
    answered: int = Field(description="questions the widget answered (not held back, not abstained)")
    helpful: int = Field(description="sessions whose latest answer the customer marked helpful")
    not_helpful: int
    sent_to_person: int = Field(description="sessions filed as a ticket")
    resolved_in_widget: int = Field(description="latest question answered, not marked not helpful, not filed")
    resolution_rate: float | None = Field(description="resolved_in_widget / sessions")


def widget_channel(runtime: Runtime, tenant_id: int, since: datetime, until: datetime) -> WidgetChannel:
    """The widget's figures over the sessions opened from ``since`` to ``until``."""
    columns = (WidgetSessionRow.abstained, WidgetSessionRow.earlier, WidgetSessionRow.helpful,
               WidgetSessionRow.ticket_external_id)  # not the questions: personal data stays where it is
    with runtime.db.tenant_session(tenant_id) as session:
        rows = list(session.execute(select(*columns).where(WidgetSessionRow.created_at >= since,
                                                           WidgetSessionRow.created_at < until)))
    questions = sum(1 + len(row.earlier or []) for row in rows)
    answered = sum((not row.abstained) + sum(1 for e in row.earlier or [] if e.get("abstained") is False)
                   for row in rows)
    resolved = sum(1 for row in rows if not row.abstained and row.helpful is not False
                   and row.ticket_external_id is None)
    return WidgetChannel(
        sessions=len(rows), questions=questions, answered=answered,
        helpful=sum(1 for row in rows if row.helpful is True),
        not_helpful=sum(1 for row in rows if row.helpful is False),
        sent_to_person=sum(1 for row in rows if row.ticket_external_id is not None), resolved_in_widget=resolved,
        resolution_rate=round(resolved / len(rows), 4) if rows else None)
