"""Reading what label sources need from a tenant's stored tickets, and the tenant's label settings.

Settings (in the tenant's ``settings`` JSON): ``label_source`` (a :class:`core.labelling.sources.LabelSource`
spec; the ticket's own intent field when absent), ``excluded_tags`` (tags never learned or
suggested, beside the automation tags found by rule) and ``field_names`` (custom field id to the
name agents see, for readable reports).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.labelling.sources import LabelRow, LabelSource
from core.store.tables import IntentProposalRow, TenantRow, TicketRow
from core.text.limits import bounded_model_text

LABEL_COLUMNS = (TicketRow.intent, TicketRow.tags, TicketRow.custom_fields, TicketRow.ticket_type,
                 TicketRow.assigned_group, TicketRow.form, TicketRow.macros)


def accepted_intents(session: Session) -> dict[int, str]:
    """Ticket id -> the key of the accepted discovered intent it belongs to."""
    out: dict[int, str] = {}
    for key, ticket_ids in session.execute(
        select(IntentProposalRow.key, IntentProposalRow.ticket_ids).where(IntentProposalRow.status == "accepted")
        .order_by(IntentProposalRow.id)
    ):
        for ticket_id in ticket_ids or ():
            out.setdefault(int(ticket_id), key)
    return out


def label_row(row: Any, discovered: dict[int, str]) -> LabelRow:
    """A :class:`LabelRow` from a result row carrying ``id`` and :data:`LABEL_COLUMNS`."""
    return LabelRow(intent=row.intent, tags=tuple(row.tags or ()), custom_fields=dict(row.custom_fields or {}),
                    ticket_type=row.ticket_type, group=row.assigned_group, form=row.form,
                    macros=tuple(row.macros or ()), discovered=discovered.get(row.id))


def load_label_rows(session: Session) -> tuple[list[int], list[LabelRow], list[str]]:
    """Every ticket of the session's tenant, oldest first: ids, label rows and cleaned texts."""
    discovered = accepted_intents(session)
    ids, rows, texts = [], [], []
    for row in session.execute(select(TicketRow.id, TicketRow.text, *LABEL_COLUMNS).order_by(TicketRow.id)):
        ids.append(row.id)
        rows.append(label_row(row, discovered))
        texts.append(bounded_model_text(row.text or ""))  # a row stored before the caps
    return ids, rows, texts


def label_settings(session: Session, tenant_id: int) -> dict[str, Any]:
    return dict(session.scalar(select(TenantRow.settings).where(TenantRow.id == tenant_id)) or {})


def label_source_of(settings: dict[str, Any]) -> LabelSource:
    return LabelSource.parse(settings.get("label_source") or "intent")
