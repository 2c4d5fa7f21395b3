"""Changing a tenant's autonomy policy: modes, sensitive lists, the kill switch, the target precision.

Every write starts with :func:`core.store.tenants.locked_tenant`, which bumps the tenant's stamp in
the same transaction, so every process's cached policy (:mod:`core.autonomy.policy`) is replaced
within :data:`~core.autonomy.policy.STAMP_CHECK_SECONDS`, and two writers never interleave. Checks
run before anything is written: a refused change writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, select

from core.access import audit
from core.autonomy.config import CONFIG_KEY, AutonomyConfig, config_from, merged
from core.autonomy.policy import (
    PAUSED_KEY,
    TARGET_KEY,
    Mode,
    Policy,
    decide,
    forget_policies,
    load_policy,
    normalize_account,
)
from core.errors import BadInput
from core.runtime import Runtime
from core.store.tables import AutonomyModeRow, AutonomySensitiveRow
from core.store.tenants import locked_tenant

SensitiveKind = Literal["intent", "account"]
#: The longest intent and account names stored (the columns' sizes).
MAX_INTENT, MAX_ACCOUNT = 128, 255


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        raise BadInput(f"unknown mode {value!r}: choose one of {', '.join(m.value for m in Mode)}",
                       field="mode") from None


def set_mode(runtime: Runtime, tenant: str, intent: str, mode: Mode, actor: str,
             threshold: float | None = None) -> Mode:
    """Set ``intent``'s mode (and, when given, the confidence its autonomous replies need).
    Turning a sensitive intent autonomous is refused (BadInput, nothing written): the policy would
    lower it to shadow anyway, and the person should know why."""
    intent = _checked_name(intent, "intent", MAX_INTENT)
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise BadInput(f"the threshold must be above 0 and at most 1, got {threshold}", field="threshold")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        locked_tenant(session, tenant_id)
        if mode is Mode.AUTONOMOUS:
            sensitive = session.scalar(select(AutonomySensitiveRow.id).where(
                AutonomySensitiveRow.kind == "intent", AutonomySensitiveRow.value == intent))
            if sensitive is not None:
                raise BadInput(f"intent {intent!r} is sensitive: never autonomous (remove it from the sensitive "
                               "list first if that is really meant)", field="intent")
        row = session.scalar(select(AutonomyModeRow).where(AutonomyModeRow.intent == intent))
        if row is None:
            row = AutonomyModeRow(tenant_id=tenant_id, intent=intent, mode=mode.value, set_by=actor)
            session.add(row)
        else:
            row.mode, row.set_by, row.set_at = mode.value, actor, datetime.now(UTC)
        if threshold is not None:
            row.threshold = threshold
        audit.record(runtime, actor, "autonomy.mode", tenant=tenant, target=intent,
                     detail={"mode": mode.value, "threshold": threshold}, session=session)
    forget_policies()
    return mode


def set_sensitive(runtime: Runtime, tenant: str, kind: SensitiveKind, value: str, actor: str,
                  remove: bool = False) -> bool:
    """Add ``value`` to (or with ``remove``, take it off) the tenant's sensitive ``kind`` list;
    returns whether the list changed. Removing a value that is not on the list is bad input (a typo
    would otherwise look like a success)."""
    value = _checked_name(value, kind, MAX_INTENT if kind == "intent" else MAX_ACCOUNT)
    if kind == "account":
        value = normalize_account(value)
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        locked_tenant(session, tenant_id)
        which = (AutonomySensitiveRow.kind == kind) & (AutonomySensitiveRow.value == value)
        present = session.scalar(select(AutonomySensitiveRow.id).where(which)) is not None
        if remove:
            if not present:
                raise BadInput(f"{kind} {value!r} is not on the sensitive list", field=kind)
            session.execute(delete(AutonomySensitiveRow).where(which))
        elif not present:
            session.add(AutonomySensitiveRow(tenant_id=tenant_id, kind=kind, value=value, added_by=actor))
        # The account itself is customer data: the trail says an account changed, not which.
        audit.record(runtime, actor, "autonomy.sensitive_" + ("remove" if remove else "add"), tenant=tenant,
                     target=value if kind == "intent" else None, detail={"kind": kind}, session=session)
    forget_policies()
    return remove or not present


def set_paused(runtime: Runtime, tenant: str, paused: bool, actor: str) -> dict | None:
    """The kill switch: on, no intent is answered autonomously (shadow goes on recording); off,
    the modes apply again. Returns the pause (``{"by", "at"}``) or ``None``."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = locked_tenant(session, tenant_id)
        settings = dict(row.settings or {})
        if paused:
            settings[PAUSED_KEY] = settings.get(PAUSED_KEY) or {"by": actor, "at": datetime.now(UTC).isoformat()}
        else:
            settings.pop(PAUSED_KEY, None)
        row.settings = settings
        state = settings.get(PAUSED_KEY)
        audit.record(runtime, actor, "autonomy.pause" if paused else "autonomy.resume", tenant=tenant,
                     session=session)
    forget_policies()
    return state


def set_target_precision(runtime: Runtime, tenant: str, target: float, actor: str) -> float:
    """The precision the backtest's thresholds must reach; above 0.5 (a coin toss) and below 1."""
    if not 0.5 < target < 1.0:
        raise BadInput(f"the target precision must be above 0.5 and below 1, got {target}", field="target_precision")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = locked_tenant(session, tenant_id)
        row.settings = {**(row.settings or {}), TARGET_KEY: target}
        audit.record(runtime, actor, "autonomy.target_precision", tenant=tenant, detail={"target": target},
                     session=session)
    forget_policies()
    return target


def configure(runtime: Runtime, tenant: str, changes: dict[str, Any], actor: str) -> AutonomyConfig:
    """Apply ``changes`` to the tenant's autonomy configuration (:mod:`core.autonomy.config`);
    every field is checked before anything is written."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = locked_tenant(session, tenant_id)
        config = merged(config_from(row.settings), changes)
        row.settings = {**(row.settings or {}), CONFIG_KEY: config.model_dump(mode="json")}
        audit.record(runtime, actor, "autonomy.configure", tenant=tenant, detail={"fields": sorted(changes)},
                     session=session)
    forget_policies()
    return config


def status(runtime: Runtime, tenant: str) -> dict:
    """The policy as read now from the database, with each intent's mode after the rules (what
    :func:`~core.autonomy.policy.decide_mode` answers) beside the mode a person chose."""
    policy: Policy = load_policy(runtime, tenant)
    intents = sorted(set(policy.modes) | policy.sensitive_intents)
    return {
        "tenant": tenant,
        "paused": policy.paused,
        "target_precision": policy.target_precision,
        "config": policy.config.model_dump(mode="json"),
        "intents": [{"intent": i, "mode": policy.modes.get(i, Mode.OFF).value, "threshold": policy.threshold_for(i),
                     "effective": decide(policy, i).mode.value, "reason": decide(policy, i).reason,
                     "sensitive": i in policy.sensitive_intents} for i in intents],
        "sensitive_intents": sorted(policy.sensitive_intents),
        "sensitive_accounts": sorted(policy.sensitive_accounts),
    }


def _checked_name(value: str, field: str, longest: int) -> str:
    value = value.strip()
    if not value:
        raise BadInput(f"the {field} must not be empty", field=field)
    if len(value) > longest:
        raise BadInput(f"the {field} is longer than {longest} characters", field=field)
    return value
