"""A simulated tenant of accounts with planted churners, stored, and its outcomes as a CSV file."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from core.demo.accounts import SimulatedAccounts, simulate_accounts, write_outcomes
from core.store.tickets import upsert_tickets

END = date(2026, 5, 4)
AS_OF = datetime.combine(END, time(0), UTC)


@lru_cache(maxsize=4)
def simulated(accounts: int = 90, strength: float = 0.8, end: date = END) -> SimulatedAccounts:
    return simulate_accounts(seed=11, strength=strength, accounts=accounts, weeks=24, end=end)


def store_accounts(db, tenant: str = "acme", accounts: int = 90, end: date = END) -> SimulatedAccounts:
    history = simulated(accounts, end=end)
    tenant_id = db.ensure_tenant(tenant)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, history.tickets)
    return history


def outcomes_file(path, history: SimulatedAccounts, rows: list[tuple[str, str, date]] | None = None):
    write_outcomes(path, history.outcomes if rows is None else rows)
    return path


def recent_end() -> date:
    """Yesterday: a history scored "now" (the API) has its tickets in the scoring windows."""
    return (datetime.now(UTC) - timedelta(days=1)).date()
