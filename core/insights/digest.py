"""A tenant's weekly digest: what a team lead reads on Monday morning, in Slack and on a page.

Six sections over one ISO week (:mod:`core.insights.weeks`): the accounts most at risk of churning
with their two strongest reasons, the requested capabilities on the rise, the worst knowledge
gaps, the incidents opened that week, and what the learning loop did (signals by kind, how many
drafts went out unchanged, and acceptance and accuracy over the last four weeks).

Each section is computed on its own: one that fails (a report that cannot be read, a bug) is left
out with a note saying which, and the rest of the digest still goes out. The digest names
organizations only: an account that is a person (no organization on its tickets) is left out of
the churn list, and no requester's name or address, no message body and no ticket subject is in
it, because it is sent to a Slack channel a wider audience reads.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select

from core.insights.weeks import IsoWeek
from core.runtime import Runtime
from core.store.tables import IncidentRow, SignalRow, SuggestionRow, TicketRow
from core.types import CommonShape

log = logging.getLogger(__name__)

SHOWN = 5
REASONS_SHOWN = 2
TREND_WEEKS = 4
#: Accounts ranked before the people among them are left out (most tenants' top five are all
#: organizations long before this).
CHURN_READ = 200
RISING = ("rising", "new")


class ChurnRisk(CommonShape):
    account: str = Field(description="the organization")
    score: float
    reasons: list[str] = Field(description="its two strongest reasons, strongest first")


class RisingCapability(CommonShape):
    key: str
    label: str
    trend: str = Field(description="rising or new")
    requests_this_week: int
    last_4_weeks: int
    previous_4_weeks: int
    accounts: int


class DigestGap(CommonShape):
    key: str
    label: str
    score: float
    reasons: list[str]


class DigestIncident(CommonShape):
    incident_id: str
    category_kind: str
    category: str
    started_at: datetime
    ended_at: datetime | None
    observed: int
    expected: float
    deploy: str | None = Field(description="the deploy that preceded it (service and version), when one did")


class LearningWeek(CommonShape):
    week: str
    signals: int
    drafts_sent: int = Field(description="drafts that went out, edited or not")
    sent_unchanged: int
    acceptance: float | None = Field(description="sent unchanged / sent; None when no draft went out")
    suggestions: int = Field(description="suggestions that named an intent")
    accuracy: float | None = Field(description="share of those whose intent no agent corrected; None when none")


class LearningLoop(CommonShape):
    signals_by_kind: dict[str, int]
    drafts_sent: int
    sent_unchanged: int
    acceptance: float | None
    trend: list[LearningWeek] = Field(description=f"the last {TREND_WEEKS} weeks, oldest first, this one last")


class WeeklyDigest(CommonShape):
    tenant: str
    week: str = Field(description="ISO week, e.g. 2026-W49")
    starts: datetime
    ends: datetime = Field(description="the next Monday 00:00 UTC (exclusive)")
    generated_at: datetime
    churn_risks: list[ChurnRisk] | None = None
    rising_capabilities: list[RisingCapability] | None = None
    knowledge_gaps: list[DigestGap] | None = None
    incidents: list[DigestIncident] | None = None
    learning: LearningLoop | None = None
    notes: list[str] = Field(default_factory=list, description="sections left out, and why")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite answers naive times


def churn_risks(runtime: Runtime, slug: str, week: IsoWeek) -> list[ChurnRisk]:
    from core.insights.churn.ranking import rank_accounts

    ranking = rank_accounts(runtime, slug, top=CHURN_READ, as_of=week.end)
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        organizations = {o.strip() for o in session.scalars(
            select(TicketRow.organization).where(TicketRow.organization.is_not(None)).distinct()) if o}
    named = [a for a in ranking.accounts if a.account in organizations]
    return [ChurnRisk(account=a.account, score=a.score,
                      reasons=[r.description for r in sorted(a.reasons, key=lambda r: -r.contribution)[:REASONS_SHOWN]])
            for a in named[:SHOWN]]


def rising_capabilities(runtime: Runtime, slug: str, week: IsoWeek) -> list[RisingCapability]:
    from core.insights.feature_requests import feature_request_report

    report = feature_request_report(runtime, slug, days=56, now=week.end)
    rising = [c for c in report.capabilities if c.trend in RISING and c.last_7_days]
    rising.sort(key=lambda c: (-c.last_7_days, -c.last_4_weeks, c.key))
    return [RisingCapability(key=c.key, label=c.label, trend=c.trend, requests_this_week=c.last_7_days,
                             last_4_weeks=c.last_4_weeks, previous_4_weeks=c.previous_4_weeks, accounts=c.accounts)
            for c in rising[:SHOWN]]


def knowledge_gaps(runtime: Runtime, slug: str, week: IsoWeek) -> list[DigestGap]:
    from core.insights.knowledge_gaps import knowledge_gap_report

    report = knowledge_gap_report(runtime, slug, top=SHOWN, now=week.end)
    return [DigestGap(key=g.key, label=g.label, score=g.score, reasons=[r.detail for r in g.reasons])
            for g in report.gaps[:SHOWN]]


def incidents_opened(runtime: Runtime, slug: str, week: IsoWeek) -> list[DigestIncident]:
    from core.insights.incidents import Incident

    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        rows = session.scalars(select(IncidentRow).where(IncidentRow.started_at >= week.start,
                                                         IncidentRow.started_at < week.end)
                               .order_by(IncidentRow.started_at)).all()
        found = [Incident.model_validate(r.data) for r in rows]
    return [DigestIncident(incident_id=i.incident_id, category_kind=i.category_kind, category=i.category,
                           started_at=i.started_at, ended_at=i.ended_at, observed=i.observed,
                           expected=round(i.expected, 1),
                           deploy=f"{i.deploy.service} {i.deploy.version}" if i.deploy else None) for i in found]


def _learning_week(session, week: IsoWeek) -> tuple[Counter[str], LearningWeek]:
    in_week = (SignalRow.created_at >= week.start) & (SignalRow.created_at < week.end)
    counted = session.execute(select(SignalRow.kind, func.count())
                              .where(in_week, SignalRow.revoked_at.is_(None)).group_by(SignalRow.kind)).all()
    kinds: Counter[str] = Counter({kind: n for kind, n in counted})
    sent = kinds["draft_sent"] + kinds["draft_edited"]
    made = ((SuggestionRow.created_at >= week.start) & (SuggestionRow.created_at < week.end)
            & SuggestionRow.abstained.is_(False) & SuggestionRow.intent.is_not(None))
    made_rows = session.execute(select(SuggestionRow.id, SuggestionRow.ticket_id).where(made)).all()
    suggestions = len(made_rows)
    fixed = session.execute(select(SignalRow.suggestion_id, SignalRow.ticket_id).where(  # a correction follows
        SignalRow.kind == "intent_changed", SignalRow.revoked_at.is_(None), SignalRow.created_at >= week.start)).all()
    fixed_suggestions = {r.suggestion_id for r in fixed}
    fixed_tickets = {r.ticket_id for r in fixed}
    corrected = sum(r.id in fixed_suggestions or r.ticket_id in fixed_tickets for r in made_rows)
    return kinds, LearningWeek(
        week=week.label, signals=sum(kinds.values()), drafts_sent=sent, sent_unchanged=kinds["draft_sent"],
        acceptance=round(kinds["draft_sent"] / sent, 3) if sent else None, suggestions=suggestions,
        accuracy=round(1 - corrected / suggestions, 3) if suggestions else None)


def learning_loop(runtime: Runtime, slug: str, week: IsoWeek) -> LearningLoop:
    """Signals recorded in the week (revoked ones left out); a suggestion counts as accurate
    unless an agent corrected its intent (an ``intent_changed`` signal on it or its ticket)."""
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        weeks = [_learning_week(session, week.previous(back)) for back in range(TREND_WEEKS - 1, -1, -1)]
    kinds, this = weeks[-1]
    return LearningLoop(signals_by_kind=dict(sorted(kinds.items())), drafts_sent=this.drafts_sent,
                        sent_unchanged=this.sent_unchanged, acceptance=this.acceptance,
                        trend=[w for _, w in weeks])


#: Each section of the digest: its field and how it is computed.
SECTIONS: dict[str, Callable[[Runtime, str, IsoWeek], Any]] = {
    "churn_risks": churn_risks,
    "rising_capabilities": rising_capabilities,
    "knowledge_gaps": knowledge_gaps,
    "incidents": incidents_opened,
    "learning": learning_loop,
}


def weekly_digest(runtime: Runtime, slug: str, week: IsoWeek, now: datetime | None = None) -> WeeklyDigest:
    """The tenant's digest of ``week``. An unknown tenant is :class:`core.store.db.UnknownTenantError`
    before anything is computed; a section that fails is left out with a note."""
    runtime.db.tenant_id(slug)
    found: dict[str, Any] = {}
    notes = []
    for name, compute in SECTIONS.items():
        try:
            found[name] = compute(runtime, slug, week)
        except Exception as exc:  # one section's failure must not cost the others; logged with its type only
            log.warning("digest section %s of tenant %s for %s failed: %s", name, slug, week.label,
                        type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            notes.append(f"{name.replace('_', ' ')}: could not be computed this time ({type(exc).__name__})")
    return WeeklyDigest(tenant=slug, week=week.label, starts=week.start, ends=week.end,
                        generated_at=(now or datetime.now(UTC)), notes=notes, **found)
