"""An account's risk features at a moment, each with the ticket ids behind it.

Two windows before the moment: the recent one (:data:`RECENT`, six weeks) and the baseline before
it (:data:`BASELINE`, twelve weeks), so a feature can say "worse than this account used to be"
(trends) as well as "bad" (levels). Churn shows as trouble that persists and grows, so besides
counts there is :func:`troubled weeks <_troubled_weeks>`: how many of the recent weeks had any
sign of trouble at all, which one bad week of a busy, loyal account does not fill. For the same
reason every share of troubled tickets leaves out the recent window's worst week
(:func:`_beyond_worst_week`): a trend lasting weeks counts, one loud week does not.

Churn does not begin on a fixed date, while the two windows split the weeks at one. So
:func:`rising trouble <_rising_trouble>` looks for the week the account's trouble began rising
(two to twelve weeks back) and measures how much more trouble per ticket it has had since then
than before: the shape of the decline over time, which the fixed windows blur.

Shares are measured against the tenant's background (:mod:`.norms`): an account's counts are
shrunk towards the tenant's rate (few tickets say little), and a feature is the excess over the
tenant's rate or over the account's own shrunk baseline. Without that, a busy account, whose many
tickets carry the tone reader's ordinary share of "frustrated" messages, looked as frustrated as a
churner; and cancellation phrases that every tenant's ordinary requests produce now and then
counted the same as a threat to leave.

Every feature is oriented so that a larger value means more risk; :mod:`.rules` relies on it
(each contribution is non-decreasing in its feature) and so does the learned model (its
monotonic constraints).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.insights.churn.facts import TicketFacts, by_account
from core.insights.churn.norms import BAD_CSAT, TenantRates, bad_rating, frustrated, rated, reopened, shrunk_share
from core.insights.churn.norms import tenant_rates as rates_between

RECENT = timedelta(weeks=6)
BASELINE = timedelta(weeks=12)
#: A ticket open this long without a resolution counts as unresolved.
WAITING = timedelta(days=7)
#: A ticket about the same issue as one of the account's tickets this recent is a repeat contact.
REPEAT_WITHIN = timedelta(days=30)
#: Evidence kept per feature (the newest tickets first).
EVIDENCE = 10
#: Where trouble may have begun rising, in weeks before the moment (:func:`_rising_trouble`).
RISING_FROM = range(2, 13)
#: Tickets' worth of weight the account's own rate carries in each side's share of signs, so a
#: side with one or two tickets says little (the same empirical Bayes as :mod:`.norms`).
RISING_PRIOR_TICKETS = 4.0


@dataclass(frozen=True)
class Feature:
    """One risk feature and how the rules weigh it: nothing at or below ``calm``, the full
    ``weight`` at or above ``alarming``, linear between (so never decreasing)."""

    name: str
    reason: str  # how it reads as a reason
    weight: float
    calm: float
    alarming: float


#: The features, in the order of the learned model's columns. The weights were first priors from
#: what support teams report before a churn (explicit cancellation talk first); they are now those
#: of a logistic regression on simulated tuning histories (``bench/churn_weights.py``, seeds kept
#: apart from the reported ones), rounded to halves with a floor of 0.5: a sign that healthy
#: accounts also show by chance (a cancellation-like phrase, one slow stretch) weighs less than one
#: they rarely show (a downgrade, the same issue again and again, resolutions slower throughout).
#: Shares rather than counts wherever volume would otherwise speak: a busy account has more of
#: everything, and is not at risk for it; "_trend" and "excess" compare with the account's own past.
FEATURES: tuple[Feature, ...] = (
    Feature("cancellation", "talked about cancelling or not renewing", 2.0, 0, 2),
    Feature("competitor", "mentioned a competitor or switching", 2.5, 0, 2),
    # (both: mentions beyond what the tenant's rate of such phrases leads to expect of as many tickets)
    Feature("downgrade", "fewer seats, a lower plan, or asked to downgrade", 4.0, 0, 1),
    Feature("troubled_weeks", "trouble in more recent weeks than it used to have", 1.0, 0.5, 3.5),
    Feature("bad_csat", "more bad satisfaction ratings than before", 0.5, 0.1, 0.5),
    Feature("frustrated_share", "more frustrated messages than the tenant's usual", 0.5, 0.1, 0.5),
    Feature("frustration_trend", "more frustrated than before", 0.5, 0.0, 0.3),
    Feature("reopened", "more tickets reopened than the tenant's usual", 0.5, 0.05, 0.35),
    Feature("repeat_contacts", "contacts again about the same issue, more than before", 1.5, 0.0, 0.3),
    Feature("unresolved", "tickets left unresolved for a week or more", 1.0, 0.05, 0.3),
    Feature("slow_resolution", "resolutions slower than the tenant's usual", 3.0, 1.0, 3.0),
    Feature("resolution_trend", "resolutions slower than the account's own before", 0.5, 1.0, 3.0),
    Feature("volume_trend", "more tickets than before", 1.5, 1.0, 2.5),
    Feature("rising_trouble", "more trouble per ticket (slow answers, frustration, reopens, bad ratings, the same "
            "issue again) since its trouble began rising than before", 3.5, 0.25, 1.0),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
BY_NAME = {f.name: f for f in FEATURES}


@dataclass
class AccountFeatures:
    account: str
    as_of: datetime
    tickets: int  # in both windows
    values: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[int]] = field(default_factory=dict)  # ticket ids, newest first

    def vector(self) -> list[float]:
        return [self.values[name] for name in FEATURE_NAMES]


def _ids(facts: Iterable[TicketFacts]) -> list[int]:
    return [f.ticket_id for f in sorted(facts, key=lambda f: f.created_at, reverse=True)][:EVIDENCE]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def resolution_hours(fact: TicketFacts, as_of: datetime) -> float | None:
    """How long the customer waited: to the resolution, or to ``as_of`` if still waiting that long."""
    if fact.solved_at is not None and fact.solved_at <= as_of:
        return max(0.0, _hours(fact.solved_at - fact.created_at))
    if fact.open_at(as_of) and as_of - fact.created_at >= WAITING:
        return _hours(as_of - fact.created_at)
    return None


def _too_slow(hours: float | None, typical_hours: float | None) -> bool:
    """A wait (to its resolution, or still waiting) over twice the tenant's typical time."""
    return bool(typical_hours and hours is not None and hours > 2 * typical_hours)


def _is_slow(fact: TicketFacts, as_of: datetime, typical_hours: float | None) -> bool:
    return _too_slow(resolution_hours(fact, as_of), typical_hours)


def typical_resolution(facts: Iterable[TicketFacts], as_of: datetime) -> float | None:
    """The tenant's median hours to resolution over the recent window (all accounts)."""
    hours = [h for f in facts if as_of - RECENT <= f.created_at < as_of
             and (h := resolution_hours(f, as_of)) is not None]
    return statistics.median(hours) if hours else None


def tenant_rates(facts: Sequence[TicketFacts], as_of: datetime) -> TenantRates:
    """The tenant's background rates over both windows before ``as_of``."""
    return rates_between(facts, as_of - RECENT - BASELINE, as_of)


def _troubled(fact: TicketFacts) -> bool:
    return (fact.frustrated or fact.reopen_count > 0 or (fact.csat is not None and fact.csat <= BAD_CSAT)
            or fact.cancellation or fact.competitor or fact.downgrade_words)


def _troubled_weeks(recent: Sequence[TicketFacts], baseline: Sequence[TicketFacts],
                    as_of: datetime) -> tuple[float, list[TicketFacts]]:
    """Weeks of the recent window with any sign of trouble, beyond what the account's baseline
    weeks would lead to expect (a busy account always has some trouble somewhere)."""
    week = timedelta(weeks=1)
    recent_weeks = {int((as_of - f.created_at) / week) for f in recent if _troubled(f)}
    baseline_weeks = {int((as_of - f.created_at) / week) for f in baseline if _troubled(f)}
    expected = len(baseline_weeks) * (RECENT / BASELINE)
    return len(recent_weeks) - expected, [f for f in recent if _troubled(f)]


def _signs(fact: TicketFacts, slow: bool, repeat: bool) -> int:
    """How many kinds of trouble one ticket shows: any of :func:`_troubled`'s, a slow answer, the
    same issue again (0 to 3)."""
    return int(_troubled(fact)) + int(slow) + int(repeat)


def _rising_trouble(window: Sequence[tuple[TicketFacts, int]],
                    as_of: datetime) -> tuple[float, list[TicketFacts]]:
    """How far the account's signs of trouble per ticket rose: for each week ``k`` in
    :data:`RISING_FROM` where the rise might have begun, the share of signs per ticket since then
    minus the share over the rest of the 18 weeks, both shrunk towards the account's own rate
    (:data:`RISING_PRIOR_TICKETS`); the largest of these, and the troubled tickets since that week.

    Churn does not begin on a fixed date: trouble that rose from ten weeks ago leaks into the
    baseline of a six-week comparison, and trouble that began three weeks ago is diluted by the
    calm weeks before it. Taking the best split finds either, and the rule still reads as a
    reason ("since five weeks ago, more slow answers, frustration and repeats per ticket than in
    the twelve weeks before"). Larger means more risk: more signs after the split, fewer before.
    Each ticket counts its kinds of trouble (:func:`_signs`), which ranked a little better on the
    tuning histories than counting a troubled ticket once."""
    week = timedelta(weeks=1)
    by_week: dict[int, list[tuple[TicketFacts, int]]] = {}
    for fact, signs in window:
        by_week.setdefault(int((as_of - fact.created_at) / week), []).append((fact, signs))
    tickets, signs_total = len(window), sum(s for _, s in window)
    if not tickets:
        return 0.0, []
    # The account's own rate over the 18 weeks, with half a sign in as many prior tickets so that
    # an account without any sign still has a small rate rather than none.
    own = (signs_total + 0.5) / (tickets + RISING_PRIOR_TICKETS)
    prior = RISING_PRIOR_TICKETS * own
    best, best_since = float("-inf"), RISING_FROM[0]
    for since in RISING_FROM:
        after = [pair for k in range(since) for pair in by_week.get(k, [])]
        after_signs = sum(s for _, s in after)
        now = (after_signs + prior) / (len(after) + RISING_PRIOR_TICKETS)
        before = (signs_total - after_signs + prior) / (tickets - len(after) + RISING_PRIOR_TICKETS)
        if now - before > best:
            best, best_since = now - before, since
    behind = [fact for k in range(best_since) for fact, signs in by_week.get(k, []) if signs]
    return best, behind


def _downgrades(window: Sequence[TicketFacts], recent_from: datetime) -> list[TicketFacts]:
    """Tickets in the recent window whose plan or seats are lower than the account's ticket
    before them said, or whose customer asked to downgrade."""
    found, rank, seats = [], None, None
    for fact in window:
        lower = ((rank is not None and fact.plan_rank is not None and fact.plan_rank < rank)
                 or (seats is not None and fact.seats is not None and fact.seats < seats))
        if fact.created_at >= recent_from and (lower or fact.downgrade_words):
            found.append(fact)
        rank = fact.plan_rank if fact.plan_rank is not None else rank
        seats = fact.seats if fact.seats is not None else seats
    return found


def _repeats(window: Sequence[TicketFacts], recent_from: datetime) -> list[TicketFacts]:
    found: list[TicketFacts] = []
    last_seen: dict[str, datetime] = {}
    for fact in window:
        if fact.issue is not None:
            before = last_seen.get(fact.issue)
            if fact.created_at >= recent_from and before is not None and fact.created_at - before <= REPEAT_WITHIN:
                found.append(fact)
            last_seen[fact.issue] = fact.created_at
    return found


def _beyond_worst_week(recent: Sequence[TicketFacts], hit, as_of: datetime) -> tuple[int, int]:
    """(hits, tickets) of the recent window without its week of most hits: one bad week (an
    outage, one angry thread) happens to loyal accounts too; churn shows as trouble that persists."""
    week = timedelta(weeks=1)
    per_week: dict[int, int] = {}
    for fact in recent:
        if hit(fact):
            key = int((as_of - fact.created_at) / week)
            per_week[key] = per_week.get(key, 0) + 1
    if not per_week:
        return 0, len(recent)
    worst = max(per_week, key=lambda k: (per_week[k], -k))
    kept = [f for f in recent if int((as_of - f.created_at) / week) != worst]
    return sum(1 for f in kept if hit(f)), len(kept)


def _shrunk_share(hits: int, total: int) -> float:
    """A share pulled towards zero for few tickets (for signs without a tenant rate)."""
    return hits / (total + 2)


def _excess_over_baseline(recent: Sequence[TicketFacts], baseline: Sequence[TicketFacts], hit, rate: float,
                          as_of: datetime) -> float:
    """The recent share beyond the worst week minus the baseline share, both shrunk to ``rate``."""
    now = shrunk_share(*_beyond_worst_week(recent, hit, as_of), rate)
    return now - shrunk_share(sum(1 for f in baseline if hit(f)), len(baseline), rate)


def _excess_over_tenant(recent: Sequence[TicketFacts], hit, rate: float, as_of: datetime) -> float:
    """The recent share beyond the worst week, shrunk to the tenant's ``rate``, above that rate."""
    return shrunk_share(*_beyond_worst_week(recent, hit, as_of), rate) - rate


def account_features(facts: Sequence[TicketFacts], as_of: datetime, typical_hours: float | None,
                     rates: TenantRates | None = None) -> AccountFeatures:
    """The features of one account's tickets (oldest first) at ``as_of``; only tickets created
    before it count. ``rates`` is the tenant's background (:func:`tenant_rates`); without it,
    shares are measured against zero."""
    rates = rates or TenantRates()
    recent_from, baseline_from = as_of - RECENT, as_of - RECENT - BASELINE
    window = [f for f in facts if baseline_from <= f.created_at < as_of]
    recent = [f for f in window if f.created_at >= recent_from]
    baseline = [f for f in window if f.created_at < recent_from]
    result = AccountFeatures(facts[0].account if facts else "", as_of, len(window))

    def put(name: str, value: float, behind: Iterable[TicketFacts]) -> None:
        result.values[name] = float(value)
        result.evidence[name] = _ids(behind)

    cancelling = [f for f in recent if f.cancellation]
    put("cancellation", len(cancelling) - rates.cancellation * len(recent), cancelling)
    competing = [f for f in recent if f.competitor]
    put("competitor", len(competing) - rates.competitor * len(recent), competing)
    downgrades = _downgrades(window, recent_from)
    put("downgrade", len(downgrades), downgrades)
    weeks, troubled = _troubled_weeks(recent, baseline, as_of)
    put("troubled_weeks", weeks, troubled)
    recent_rated = [f for f in recent if rated(f)]
    bad = [f for f in recent_rated if bad_rating(f)]
    put("bad_csat", _excess_over_baseline(recent_rated, [f for f in baseline if rated(f)], bad_rating,
                                          rates.bad_rating, as_of), bad)
    angry = [f for f in recent if frustrated(f)]
    put("frustrated_share", _excess_over_tenant(recent, frustrated, rates.frustrated, as_of), angry)
    put("frustration_trend", _excess_over_baseline(recent, baseline, frustrated, rates.frustrated, as_of), angry)
    put("reopened", _excess_over_tenant(recent, reopened, rates.reopened, as_of), [f for f in recent if reopened(f)])
    repeats = _repeats(window, recent_from)
    repeated_before = _repeats(window, baseline_from)
    repeat_ids = {f.ticket_id for f in repeats}
    repeat_share = _shrunk_share(*_beyond_worst_week(recent, lambda f: f.ticket_id in repeat_ids, as_of))
    baseline_share = _shrunk_share(len(repeated_before) - len(repeats), len(baseline))
    put("repeat_contacts", repeat_share - baseline_share, repeats)
    waiting = [f for f in window if f.open_at(as_of) and as_of - f.created_at >= WAITING]
    put("unresolved", _shrunk_share(len(waiting), len(window)), waiting)
    waits = [(f, h) for f in recent if (h := resolution_hours(f, as_of)) is not None]
    earlier = [h for f in baseline if (h := resolution_hours(f, as_of)) is not None]
    slow = [f for f, h in waits if _too_slow(h, typical_hours)]
    recent_median = statistics.median(h for _, h in waits) if waits else None
    if recent_median is not None and typical_hours:
        put("slow_resolution", recent_median / max(typical_hours, 0.25), slow)
    else:
        put("slow_resolution", 1.0, [])
    if recent_median is not None and earlier:
        put("resolution_trend", recent_median / max(statistics.median(earlier), 0.25), slow)
    else:
        put("resolution_trend", 1.0, [])
    weekly_recent = len(recent) / (RECENT / timedelta(weeks=1))
    weekly_before = len(baseline) / (BASELINE / timedelta(weeks=1))
    put("volume_trend", (weekly_recent + 0.5) / (weekly_before + 0.5), recent)
    repeated = {f.ticket_id for f in repeated_before}
    signs = [(f, _signs(f, _is_slow(f, as_of, typical_hours), f.ticket_id in repeated)) for f in window]
    put("rising_trouble", *_rising_trouble(signs, as_of))
    return result


def tenant_features(facts: Sequence[TicketFacts], as_of: datetime,
                    accounts: Iterable[str] | None = None) -> dict[str, AccountFeatures]:
    """The features of every account with a ticket in the windows before ``as_of`` (or of the
    ``accounts`` named, with or without tickets there)."""
    typical = typical_resolution(facts, as_of)
    rates = tenant_rates(facts, as_of)
    grouped = by_account(facts)
    wanted = accounts if accounts is not None else grouped.keys()
    found = {}
    for account in wanted:
        features = account_features(grouped.get(account, []), as_of, typical, rates)
        features.account = account
        if accounts is not None or features.tickets:
            found[account] = features
    return found
