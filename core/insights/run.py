"""One scan of a tenant: count what is new, test each recently active category against its
rhythm, open, grow or end its incident, and publish each change once.

Cheap when nothing happened: with no new ticket and no open incident it is one cursor read. A
change is recorded first (the incident row's ``changes`` and ``last_change``) and published after
that transaction commits, under a key numbered by the change: the row's ``published`` count says
what went out, so a scan that dies between the commit and the publishing publishes it on its next
run with the same key, and the job id (and a notifier's record of what it posted) sees the same
key: nothing is lost, nothing posted twice. Publishing after the commit also keeps a notifier run
inline (no Redis) from waiting on the scan's own write lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dispatch.listeners import Occurrence, publish
from core.insights import areas as product_areas
from core.insights import emerging, rhythm, spikes, volumes
from core.insights.deploys import latest_before
from core.insights.incidents import ExampleTicket, Incident, RelatedCategory
from core.insights.volumes import count_new, created_since, dense, hour_of, hourly
from core.runtime import Runtime
from core.store.tables import IncidentRow, TenantRow, TicketRow, VolumeRow

log = logging.getLogger(__name__)

HISTORY = timedelta(weeks=8)
#: No test before the tenant has this much history: every category would look new.
MIN_HISTORY = timedelta(days=7)
EXAMPLES = 5
HOUR = timedelta(hours=1)


@dataclass
class ScanResult:
    tenant: str
    counted: int = 0
    assessed: int = 0
    changes: list[str] = field(default_factory=list)  # the published keys


def scan_all(runtime: Runtime, now: datetime | None = None) -> list[ScanResult]:
    with runtime.db.admin_session() as session:
        slugs = session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all()
    return [scan_tenant(runtime, slug, now) for slug in slugs]


def scan_tenant(runtime: Runtime, slug: str, now: datetime | None = None, replaying: bool = False) -> ScanResult:
    """``replaying``: ``now`` is a moment of an imported past, whose tickets were all counted at once,
    so every scan tests the categories active then, new tickets or not."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tenant_id = runtime.db.tenant_id(slug)
    result = ScanResult(slug)
    with runtime.db.transaction(tenant_id) as session:
        _scan(session, runtime, tenant_id, now, result, replaying)
    _publish_recorded(runtime, tenant_id, slug)
    return result


def _publish_recorded(runtime: Runtime, tenant_id: int, slug: str) -> None:
    """Publish every recorded change not yet published (this scan's, or one a dead scan left)."""
    with runtime.db.tenant_session(tenant_id) as session:
        pending = session.scalars(select(IncidentRow).where(IncidentRow.published < IncidentRow.changes)
                                  .order_by(IncidentRow.id)).all()
    for row in pending:
        change, number = row.last_change or "opened", row.changes - 1
        publish(runtime, Occurrence(topic="incident", tenant=slug, source="insights", kind=change,
                                    key=f"{row.incident_id}:{change}:{number}", data=row.data, extra={}))
        with runtime.db.transaction(tenant_id) as session:
            stored = session.get(IncidentRow, row.id)
            if stored is not None and stored.changes == row.changes:
                stored.published = row.changes


def _scan(session: Session, runtime: Runtime, tenant_id: int, now: datetime, result: ScanResult,
          replaying: bool = False) -> None:
    tenant = session.get(TenantRow, tenant_id)
    assert tenant is not None
    areas = product_areas.load(tenant.settings)
    result.counted = count_new(session, tenant_id, runtime.db.dialect, areas)
    open_rows = {(r.category_kind, r.category): r for r in
                 session.scalars(select(IncidentRow).where(IncidentRow.ended_at.is_(None)))}
    if not result.counted and not open_rows and not replaying:
        return
    current_hour = hour_of(now)
    first = session.scalar(select(func.min(VolumeRow.hour)))
    if first is None or current_hour - hour_of(first) < MIN_HISTORY:
        return
    window_start = current_hour - timedelta(hours=spikes.LOOKBACK_HOURS)
    recent = session.execute(select(VolumeRow.kind, VolumeRow.category)
                             .where(VolumeRow.hour >= window_start, VolumeRow.hour <= current_hour).distinct()).all()
    keys = sorted({(r.kind, r.category) for r in recent} | set(open_rows))
    since = current_hour - HISTORY
    counts = hourly(session, keys, since)
    created = created_since(session, window_start, now, areas)
    if replaying:  # the imported past holds the whole current hour: count only what came before now
        for key in keys:
            counts[key][current_hour] = sum(1 for moment, _ in created.get(key, []) if moment >= current_hour)
    claims = Claims(created, dict(open_rows))
    for kind, category in sorted(keys, key=_precedence):
        result.assessed += 1
        ages = [(now - t) / timedelta(minutes=1) for t, _ in created.get((kind, category), [])]
        change = _assess(session, runtime, tenant, (kind, category), counts[(kind, category)], since,
                         current_hour, ages, now, open_rows.get((kind, category)), areas, claims)
        if change:
            result.changes.append(change)


#: Which category leads when several rise on the same tickets: the intent says what the problem is,
#: its product area who owns it; tags and clusters only repeat them.
PRECEDENCE = ("intent", "area", "tag", "cluster")
#: Share of the smaller category's tickets in the window that must be the other's to be one incident.
SAME_TICKETS = 0.5


def _precedence(key: tuple[str, str]) -> tuple[int, bool, str]:
    kind, category = key
    return PRECEDENCE.index(kind) if kind in PRECEDENCE else len(PRECEDENCE), emerging.is_emerging(category), category


@dataclass
class Claims:
    """The open incidents of this scan and the recent tickets of every category: a category that
    would open an incident on tickets an open one already counts joins it instead."""

    recent: volumes.Recent
    open_rows: dict[tuple[str, str], IncidentRow]

    def owner_of(self, key: tuple[str, str], since: datetime) -> IncidentRow | None:
        mine = {i for t, i in self.recent.get(key, []) if t >= since}
        if not mine:
            return None
        for other, row in self.open_rows.items():
            theirs = {i for t, i in self.recent.get(other, []) if t >= since}
            if other != key and theirs and len(mine & theirs) >= SAME_TICKETS * min(len(mine), len(theirs)):
                return row
        return None


def _join(row: IncidentRow, key: tuple[str, str]) -> None:
    """Name ``key`` in ``row``'s incident as a related category (once); nothing is published for it."""
    data = dict(row.data or {})
    related = list(data.get("related") or [])
    entry = {"kind": key[0], "category": key[1]}
    if entry not in related and len(related) < 50:
        data["related"] = related + [entry]
        row.data = data


def hour_of_week(moment: datetime) -> int:
    return moment.weekday() * 24 + moment.hour


def _assess(session: Session, runtime: Runtime, tenant: TenantRow, key: tuple[str, str],
            by_hour: dict[datetime, int], since: datetime, current_hour: datetime, ages: list[float],
            now: datetime, row: IncidentRow | None, areas: list[product_areas.Area], claims: Claims) -> str | None:
    kind, category = key
    window_start = current_hour - timedelta(hours=spikes.LOOKBACK_HOURS)
    started = max(hour_of(row.started_at), since) if row is not None else window_start
    first = min(started, window_start)
    series = dense(by_hour, since, current_hour)
    span = series[int((first - since) / HOUR):]
    expected = rhythm.expected_recent(series, hour_of_week(since), spikes.LOOKBACK_HOURS, span.size)
    minute = (now - current_hour) / timedelta(minutes=1)
    assessment = spikes.assess(spikes.windows_now(now, ages, spikes.expectations(series, hour_of_week(since), expected),
                                                    minute))
    state = None if row is None else spikes.OpenIncident(
        row.incident_id, _aware(row.started_at), _aware(row.last_hot_at), int(row.data.get("observed", 0)),
        row.changes)
    since_start = int(span[int((started - first) / HOUR):].sum()) if row is not None else None
    new_state, change = spikes.step(tenant.slug, kind, category, state, assessment, since_start, now)
    if row is not None and new_state is not None:
        row.last_hot_at = new_state.last_hot_at
    if change is None:
        return None
    if change == "opened":
        owner = claims.owner_of(key, assessment.window.start)
        if owner is not None:
            _join(owner, key)
            return None
    subject = new_state or state
    assert subject is not None
    if change == "opened":  # the window that showed it, to the minute
        observed, exp = assessment.window.observed, assessment.window.expected
    else:  # the hours since it started
        offset = int((subject.started_at - first) / HOUR)
        observed = int(span[offset:].sum())
        exp = float(sum(expected[offset:-1]) + expected[-1] * minute / 60)
    incident = _incident(session, tenant, kind, category, subject, observed, exp, now, change, row, areas)
    if row is None:
        row = IncidentRow(tenant_id=tenant.id, incident_id=subject.incident_id, category_kind=kind,
                          category=category, started_at=subject.started_at, last_hot_at=now, changes=0, data={})
        existing = session.scalars(select(IncidentRow).where(IncidentRow.incident_id == subject.incident_id)).first()
        row = existing or row
        row.ended_at = None
        session.add(row)
        claims.open_rows[key] = row
    number = row.changes
    row.changes, row.last_change = number + 1, change
    row.data = incident.model_dump(mode="json")
    row.ended_at = now if change == "ended" else None
    session.flush()
    occurrence_key = f"{subject.incident_id}:{change}:{number}"  # published after the commit
    log.info("incident %s of %s: %s (%d observed, %.1f expected)", subject.incident_id, tenant.slug, change,
             observed, exp)
    return occurrence_key


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _incident(session: Session, tenant: TenantRow, kind: str, category: str, state: spikes.OpenIncident,
              observed: int, expected: float, now: datetime, change: str, row: IncidentRow | None,
              areas: list[product_areas.Area]) -> Incident:
    area = product_areas.area_for(areas, kind, category)
    previous = (row.data or {}) if row is not None else {}
    deploy = latest_before(session, now) if change == "opened" else previous.get("deploy")
    lead = None
    if change == "opened" and deploy is not None:
        deploy = deploy if deploy.deployed_at >= state.started_at - timedelta(hours=6) else None
        if deploy is not None:
            lead = max(0.0, (state.started_at - deploy.deployed_at).total_seconds() / 60)
    elif deploy is not None:
        lead = previous.get("deploy_lead_minutes")
    return Incident(
        incident_id=state.incident_id, tenant=tenant.slug, category_kind=kind,  # type: ignore[arg-type]
        category=category, area=area.name if area else None, owner=area.owner if area else None,
        started_at=state.started_at, updated_at=now, ended_at=now if change == "ended" else None,
        observed=observed, expected=round(expected, 2),
        window_hours=max((now - state.started_at) / HOUR, 1 / 60),
        examples=examples(session, tenant, kind, category, state.started_at, areas),
        deploy=deploy, deploy_lead_minutes=lead,
        related=[RelatedCategory.model_validate(r) for r in previous.get("related") or []])


def examples(session: Session, tenant: TenantRow, kind: str, category: str, since: datetime,
              areas: list[product_areas.Area]) -> list[ExampleTicket]:
    """The latest tickets of the incident: subject and link only, never who wrote or what."""
    rows = session.execute(select(TicketRow.external_id, TicketRow.subject, TicketRow.intent, TicketRow.tags,
                                  TicketRow.cluster_key).where(TicketRow.created_at >= since)
                           .order_by(TicketRow.created_at.desc()).limit(500)).all()
    template = _url_template(tenant.helpdesk)
    found = []
    for r in rows:
        if not _belongs(kind, category, r.intent, list(r.tags or []), r.cluster_key, areas):
            continue
        url = template.format(domain=tenant.domain, id=r.external_id) if template and tenant.domain else None
        found.append(ExampleTicket(external_id=r.external_id[:255], subject=(r.subject or "")[:300], url=url))
        if len(found) == EXAMPLES:
            break
    return found


def _belongs(kind: str, category: str, intent: str | None, tags: list[str], cluster_key: int | None,
             areas: list[product_areas.Area]) -> bool:
    if kind == "intent":
        return intent == category
    if kind == "tag":
        return category in tags
    if kind == "area":
        return any(a.name == category for a in product_areas.areas_of(areas, intent, tags))
    if emerging.is_emerging(category):
        return intent is None and emerging.category(cluster_key) == category
    return str(cluster_key) == category


def _url_template(helpdesk: str) -> str | None:
    from core.helpdesk.contract import registered

    integration = registered().get(helpdesk)
    return integration.ticket_url_template if integration is not None else None


def recent_incidents(runtime: Runtime, slug: str, limit: int = 50) -> list[Incident]:
    """The tenant's incidents, open ones and the latest first, as last published."""
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        rows = session.scalars(select(IncidentRow).order_by(IncidentRow.ended_at.is_not(None),
                                                            IncidentRow.started_at.desc()).limit(limit)).all()
        return [Incident.model_validate(r.data) for r in rows]
