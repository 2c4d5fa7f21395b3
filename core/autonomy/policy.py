"""The one place that decides whether Deskloop may answer a ticket on its own.

A tenant's autonomy policy is its per-intent modes, its sensitive intents and accounts, the kill
switch and the target precision. Every caller asks :func:`decide_mode`, so the rules below hold
whichever code path asks: a sensitive intent or account is never answered autonomously, whatever
its mode says, and a paused tenant answers nothing on its own.

Processes cache the policy and trust it while the tenant row's ``config_version`` is the one it
was read at (the stamp every change to the tenant bumps, :mod:`core.store.tenants`): the same
mechanism that carries a rotated webhook secret to every worker. The stamp itself is re-read at
most every :data:`STAMP_CHECK_SECONDS`, so a pause reaches every process within that time without a
database read per ticket.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select

from core.autonomy.config import AutonomyConfig, config_from
from core.runtime import Runtime
from core.store.db import UnknownTenantError
from core.store.tables import AutonomyModeRow, AutonomySensitiveRow, TenantRow
from core.store.tenants import config_version

#: How long a process trusts its cached policy before comparing the tenant's stamp again: the
#: longest a pause takes to reach a running process.
STAMP_CHECK_SECONDS = 1.0
#: The precision an intent's threshold must reach (lower end of the Wilson interval) before the
#: backtest offers it; the tenant setting ``autonomy_target_precision`` overrides it.
DEFAULT_TARGET_PRECISION = 0.98
#: Tenant settings keys: the kill switch (``{"by", "at"}`` while paused) and the target precision.
PAUSED_KEY = "autonomy_paused"
TARGET_KEY = "autonomy_target_precision"


class Mode(StrEnum):
    OFF = "off"  # Deskloop only suggests (the default)
    SHADOW = "shadow"  # Deskloop records what it would have sent, and sends nothing
    AUTONOMOUS = "autonomous"  # Deskloop replies on its own


@dataclass(frozen=True)
class Decision:
    mode: Mode
    reason: str


@dataclass(frozen=True)
class Policy:
    """A tenant's autonomy settings as one process read them (at ``stamp``)."""

    tenant: str
    stamp: int
    modes: dict[str, Mode]
    sensitive_intents: frozenset[str]
    sensitive_accounts: frozenset[str]
    paused: dict | None  # {"by", "at"} while the kill switch is on
    target_precision: float
    #: Per-intent confidence thresholds for autonomous replies (intents without one use the config's default).
    thresholds: dict[str, float] = field(default_factory=dict)
    config: AutonomyConfig = field(default_factory=AutonomyConfig)

    def threshold_for(self, intent: str | None) -> float:
        return self.thresholds.get(intent or "", self.config.default_threshold)


def decide(policy: Policy, intent: str | None, account: str | None = None) -> Decision:
    """The mode for a ticket of ``intent`` from ``account`` under ``policy`` (no I/O).

    A sensitive intent or account, or the kill switch, lowers ``autonomous`` to ``shadow``:
    Deskloop may still record what it would have sent (nothing reaches the customer)."""
    if not intent:
        return Decision(Mode.OFF, "no intent: the ticket goes to a person")
    chosen = policy.modes.get(intent, Mode.OFF)
    if chosen is Mode.OFF:
        return Decision(Mode.OFF, f"intent {intent!r} is off" + ("" if intent in policy.modes else " (the default)"))
    if chosen is Mode.SHADOW:
        return Decision(Mode.SHADOW, f"intent {intent!r} is in shadow")
    if intent in policy.sensitive_intents:
        return Decision(Mode.SHADOW, f"intent {intent!r} is sensitive: never autonomous")
    if account and normalize_account(account) in policy.sensitive_accounts:
        return Decision(Mode.SHADOW, "the account is sensitive: never autonomous")
    if policy.paused is not None:
        return Decision(Mode.SHADOW, f"autonomy is paused (by {policy.paused.get('by')} at {policy.paused.get('at')})")
    return Decision(Mode.AUTONOMOUS, f"intent {intent!r} is autonomous")


def decide_mode(runtime: Runtime, tenant: str, intent: str | None, account: str | None = None) -> Decision:
    """:func:`decide` on the tenant's current policy (cached; see the module's docstring)."""
    return decide(policy_of(runtime, tenant), intent, account)


def normalize_account(account: str) -> str:
    """Accounts are compared ignoring case and surrounding spaces (an organization's name, an email)."""
    return " ".join(account.split()).lower()


#: (database, tenant) -> (the policy, when its stamp was last compared: monotonic seconds).
_cache: dict[tuple[str, str], tuple[Policy, float]] = {}
_cache_lock = threading.Lock()


def policy_of(runtime: Runtime, tenant: str) -> Policy:
    """The tenant's policy, from this process's cache while the tenant's stamp has not moved.
    Raises :class:`UnknownTenantError` for a tenant that does not exist."""
    key = (runtime.settings.database_url, tenant)
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[1] < STAMP_CHECK_SECONDS:
        return cached[0]
    if cached is not None:
        with runtime.db.engine.connect() as conn:
            stamp = config_version(conn, tenant)
        if stamp == cached[0].stamp:
            with _cache_lock:
                _cache[key] = (cached[0], now)
            return cached[0]
    policy = load_policy(runtime, tenant)
    with _cache_lock:
        _cache[key] = (policy, now)
    return policy


def load_policy(runtime: Runtime, tenant: str) -> Policy:
    """The tenant's policy read from the database now (no cache). The stamp is read with the
    settings, from one row, so a change committed in between is never cached under the older stamp."""
    with runtime.db.admin_session() as session:
        row = session.scalar(select(TenantRow).where(TenantRow.slug == tenant))
        if row is None:
            raise UnknownTenantError(f"no tenant named {tenant!r}")
        stamp, settings, tenant_id = row.config_version, dict(row.settings or {}), row.id
    with runtime.db.tenant_session(tenant_id) as session:
        mode_rows = list(session.scalars(select(AutonomyModeRow)))
        modes = {r.intent: Mode(r.mode) for r in mode_rows}
        thresholds = {r.intent: r.threshold for r in mode_rows if r.threshold is not None}
        sensitive = list(session.execute(select(AutonomySensitiveRow.kind, AutonomySensitiveRow.value)))
    return Policy(
        tenant=tenant, stamp=stamp, modes=modes,
        sensitive_intents=frozenset(v for k, v in sensitive if k == "intent"),
        sensitive_accounts=frozenset(v for k, v in sensitive if k == "account"),
        paused=settings.get(PAUSED_KEY), target_precision=float(settings.get(TARGET_KEY) or DEFAULT_TARGET_PRECISION),
        thresholds=thresholds, config=config_from(settings),
    )


def forget_policies() -> None:
    with _cache_lock:
        _cache.clear()
