"""The evidence shadow mode gathered, per intent: how many replies Deskloop would have sent, how
many were compared with the agent's reply, how many were right, and whether that is enough to
recommend switching the intent on.

An intent is recommended only with at least :data:`MIN_COMPARED` compared replies *and* the lower
end of the Wilson interval of its precision (one-sided 95%, :mod:`.judging`) at the tenant's
target precision: a point estimate over a few lucky tickets is not evidence.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.autonomy.judging import CLOSE_ENOUGH, wilson_lower
from core.autonomy.policy import Mode, load_policy
from core.runtime import Runtime
from core.store.tables import AutonomyShadowRow

#: Compared replies an intent needs before it can be recommended, whatever its precision.
MIN_COMPARED = 30


class ShadowIntent(BaseModel):
    intent: str
    mode: str = Field(description="the mode a person chose for the intent now (off, shadow or autonomous)")
    shadow_tickets: int = Field(description="new tickets recorded in shadow with this predicted intent")
    shadow_replies: int = Field(description="of those, the ones Deskloop would have answered (not abstained)")
    compared: int = Field(description="shadow replies compared with the agent's reply")
    right: int = Field(description="compared replies judged right (the backtest's rule)")
    precision: float | None = Field(description="right / compared")
    precision_lower_bound: float | None = Field(description="Wilson lower bound of the precision, one-sided 95%")
    mean_similarity: float | None
    reopened: int
    bad_csat: int
    recommend_autonomous: bool = Field(
        description=f"at least {MIN_COMPARED} compared replies and the lower bound at the target precision")


class ShadowReport(BaseModel):
    tenant: str
    target_precision: float
    min_compared: int
    close_enough: float
    intents: list[ShadowIntent]


def shadow_report(runtime: Runtime, tenant: str) -> ShadowReport:
    """The tenant's shadow evidence per predicted intent (raises UnknownTenantError for an unknown
    tenant)."""
    policy = load_policy(runtime, tenant)
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(AutonomyShadowRow)))
    by_intent: dict[str, list[AutonomyShadowRow]] = {}
    for row in rows:
        by_intent.setdefault(row.intent or "(none)", []).append(row)
    return ShadowReport(
        tenant=tenant, target_precision=policy.target_precision, min_compared=MIN_COMPARED,
        close_enough=CLOSE_ENOUGH,
        intents=[_intent(intent, own, policy.modes.get(intent, Mode.OFF).value, policy.target_precision)
                 for intent, own in sorted(by_intent.items())])


def _intent(intent: str, rows: list[AutonomyShadowRow], mode: str, target: float) -> ShadowIntent:
    compared = [r for r in rows if r.would_send and r.right is not None]
    right = sum(1 for r in compared if r.right)
    sims = [r.similarity for r in compared if r.similarity is not None]
    lower = wilson_lower(right, len(compared)) if compared else None
    return ShadowIntent(
        intent=intent, mode=mode, shadow_tickets=len(rows), shadow_replies=sum(1 for r in rows if r.would_send),
        compared=len(compared), right=right,
        precision=round(right / len(compared), 4) if compared else None,
        precision_lower_bound=None if lower is None else round(lower, 4),
        mean_similarity=round(sum(sims) / len(sims), 4) if sims else None,
        reopened=sum(r.reopened for r in rows), bad_csat=sum(r.bad_csat for r in rows),
        recommend_autonomous=len(compared) >= MIN_COMPARED and lower is not None and lower >= target,
    )
