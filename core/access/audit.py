"""The audit trail of operator actions: who issued or revoked a token, added a user or a tenant,
revoked a signal, rolled back a model, merged tags or intents, changed a label source.

Signals have their own trail (:mod:`core.learning.audit`); this one is about people and machines
changing how Deskloop behaves. Entries are written in the same transaction as the change where
the caller has one, and never hold secrets (a token is named by its id, never its value).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.runtime import Runtime
from core.store.tables import AuditEventRow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    target: str | None
    detail: dict[str, Any]


def cli_actor() -> str:
    """Who acts from the command line: the machine account running it (shell access is the proof)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "cli"


def record(runtime: Runtime, actor: str, action: str, *, tenant: str | None = None, target: str | None = None,
           detail: dict[str, Any] | None = None, session=None) -> None:
    """Add one entry; inside ``session`` when given, so it commits (or not) with the change itself."""
    row = AuditEventRow(actor=actor[:400], action=action[:64], tenant=tenant, target=None if target is None
                        else str(target)[:255], detail=detail or {})
    if session is not None:
        session.add(row)
        return
    with runtime.db.transaction() as own:
        own.add(row)


def list_events(runtime: Runtime, tenant: str | None = None, limit: int = 100) -> list[AuditEvent]:
    """The newest ``limit`` entries, newest first; only those about ``tenant`` when given."""
    with runtime.db.admin_session() as session:
        query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(AuditEventRow.tenant == tenant)
        return [AuditEvent(r.id, r.at, r.actor, r.action, r.tenant, r.target, dict(r.detail or {}))
                for r in session.scalars(query).all()]
