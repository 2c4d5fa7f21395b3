"""What is usual for a tenant, so an account is measured against it rather than against zero.

Every tenant has a background of trouble that says nothing about churn: the tone reader calls some
ordinary messages frustrated, some tickets get reopened, and some requests ("close my account" for
one user, "cancel the order") match the cancellation phrases. An account's share of such tickets
is therefore read with empirical Bayes: its counts are pulled towards the tenant's rate by
:data:`PRIOR_TICKETS` tickets' worth of evidence, so an account with three tickets is mostly the
tenant's rate and an account with sixty is mostly itself. A feature then asks how far the account
is above the tenant's rate, or above its own shrunk baseline, never how far above zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.insights.churn.facts import TicketFacts

#: How many tickets' worth of weight the tenant's rate carries in an account's shrunk share: about
#: a month of an ordinary account's tickets, so a week of one busy account does not outweigh it.
PRIOR_TICKETS = 6.0
#: CSAT at or below this (1-5 scale) is bad.
BAD_CSAT = 2


def frustrated(fact: TicketFacts) -> bool:
    return fact.frustrated


def reopened(fact: TicketFacts) -> bool:
    return fact.reopen_count > 0


def bad_rating(fact: TicketFacts) -> bool:
    return fact.csat is not None and fact.csat <= BAD_CSAT


def rated(fact: TicketFacts) -> bool:
    return fact.csat is not None


@dataclass(frozen=True)
class TenantRates:
    """Shares of the tenant's tickets (of its rated tickets for ``bad_rating``) with each sign.
    The default, all zero, is a tenant with no background: shares are then pulled towards zero."""

    frustrated: float = 0.0
    reopened: float = 0.0
    bad_rating: float = 0.0
    cancellation: float = 0.0
    competitor: float = 0.0


def _share(facts: Sequence[TicketFacts], hit: Callable[[TicketFacts], bool]) -> float:
    return sum(1 for f in facts if hit(f)) / len(facts) if facts else 0.0


def tenant_rates(facts: Sequence[TicketFacts], since: datetime, until: datetime) -> TenantRates:
    """The tenant's rates over the tickets created in [since, until) (every account: the
    background is the tenant's, and one account's churn moves it little)."""
    window = [f for f in facts if since <= f.created_at < until]
    return TenantRates(
        frustrated=_share(window, frustrated),
        reopened=_share(window, reopened),
        bad_rating=_share([f for f in window if rated(f)], bad_rating),
        cancellation=_share(window, lambda f: f.cancellation),
        competitor=_share(window, lambda f: f.competitor),
    )


def shrunk_share(hits: int, total: int, rate: float) -> float:
    """An account's share pulled towards the tenant's ``rate`` (empirical Bayes with a Beta prior
    worth :data:`PRIOR_TICKETS` tickets): one frustrated ticket of one is not 100%."""
    return (hits + PRIOR_TICKETS * rate) / (total + PRIOR_TICKETS)
