"""The backtests kept: each ``deskloop autonomy backtest`` stores its report, and the autonomy page
and ``GET .../autonomy/backtest`` show the latest one.

A backtest replays the tenant's whole resolved history through the learning loop (minutes on a
few thousand tickets, :mod:`core.autonomy.backtest`), so a web request never runs one: it reads
what the last run found, with when and by whom it ran, and says how to run one when none has.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from core.clock import aware_utc
from core.runtime import Runtime
from core.store.tables import AutonomyBacktestRow


class BacktestIntent(BaseModel):
    """One intent of a backtest's report (see :func:`core.autonomy.backtest.report`)."""

    model_config = ConfigDict(extra="allow")

    intent: str
    tickets: int
    drafts: int
    threshold: float | None = Field(description="the lowest confidence reaching the target precision, if any")
    sent: int = Field(description="replies at or above the threshold")
    right: int
    precision_lower_bound: float | None
    auto_resolution_rate: float = Field(description="estimated: right replies over the intent's tickets")
    wrong_reply_share: float | None = Field(description="estimated: wrong replies over those sent")


class StoredBacktest(BaseModel):
    """The latest kept backtest of a tenant."""

    model_config = ConfigDict(extra="allow")

    id: int
    tenant: str
    run_at: datetime
    run_by: str
    since: datetime | None
    target_precision: float
    tickets: int
    sent: int
    right: int
    auto_resolution_rate: float | None
    wrong_reply_share: float | None
    intents: list[BacktestIntent]


def keep_backtest(runtime: Runtime, tenant: str, report: dict[str, Any], actor: str,
                  since: datetime | None = None) -> int:
    """Store ``report`` (what :func:`core.autonomy.backtest.backtest` returned); returns its id."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = AutonomyBacktestRow(tenant_id=tenant_id, since=since, run_by=actor, result=report)
        session.add(row)
        session.flush()
        return row.id


def latest_backtest(runtime: Runtime, tenant: str) -> StoredBacktest | None:
    """The tenant's newest kept backtest, or ``None`` (raises UnknownTenantError for an unknown tenant)."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.scalars(select(AutonomyBacktestRow).order_by(AutonomyBacktestRow.id.desc()).limit(1)).first()
        if row is None:
            return None
        result = {k: v for k, v in row.result.items() if k not in ("since", "tenant")}
        return StoredBacktest.model_validate({**result, "id": row.id, "tenant": tenant,
                                              "run_at": aware_utc(row.created_at), "run_by": row.run_by,
                                              "since": aware_utc(row.since)})
