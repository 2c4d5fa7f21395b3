"""What a person reads on the insights page: a category's hourly volume beside what the spike test
expected of each hour, the categories worth picking, the deploy markers and the emerging groups
with example tickets.

Each hour's expectation is the one the scan held when that hour was the current one: the same
eight weeks of history before it, the same rhythm and today's level
(:func:`core.insights.rhythm.expected_recent`), and its band comes from the test's own
distribution (:mod:`core.insights.spikes`). So a count drawn above the band's top is one the scan
saw as unusual, and one above ``opening`` is one that opens an incident, rather than a smoother
curve fitted after the fact. Volumes are those counted by the latest scan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.errors import BadInput, NotFound
from core.insights import areas as product_areas
from core.insights import emerging, rhythm, spikes
from core.insights.deploys import between
from core.insights.incidents import CategoryKind, DeployMarker, ExampleTicket
from core.insights.run import HISTORY, examples, hour_of_week
from core.insights.volumes import busiest, dense, hour_of, hourly
from core.runtime import Runtime
from core.store.tables import IncidentRow, TenantRow

HOUR = timedelta(hours=1)
#: The longest span a chart or listing covers: four weeks of hours.
MAX_HOURS = 24 * 28
CATEGORY_KINDS: tuple[CategoryKind, ...] = ("intent", "tag", "cluster", "area")
#: Deploy markers listed at most, the latest kept: a pipeline that marks every commit still draws.
MAX_DEPLOYS = 500


class VolumePoint(BaseModel):
    hour: datetime  # the hour's start, UTC
    observed: int = Field(ge=0)
    expected: float = Field(ge=0)
    lower: int = Field(ge=0)  # the usual range: a count outside it is a 1-in-100 chance or less
    upper: int = Field(ge=0)
    opening: int = Field(ge=1)  # this many tickets in one hour open an incident
    complete: bool  # False for the current hour, still counting


class VolumeSeries(BaseModel):
    kind: CategoryKind
    category: str
    points: list[VolumePoint]


class CategoryVolume(BaseModel):
    kind: CategoryKind
    category: str
    tickets: int = Field(ge=0)  # in the hours asked for
    incidents: int = Field(ge=0)  # incidents started in those hours, or still open
    open_incident: bool


class CategoryList(BaseModel):
    hours: int
    categories: list[CategoryVolume]


class DeployList(BaseModel):
    deploys: list[DeployMarker]


class EmergingGroup(BaseModel):
    category: str  # ``unfamiliar:<cluster>``
    tickets: int = Field(ge=0)
    open_incident: bool
    examples: list[ExampleTicket]  # the latest, subject and link only


class EmergingList(BaseModel):
    hours: int
    groups: list[EmergingGroup]


def checked_kind(kind: str | None) -> CategoryKind:
    if kind not in CATEGORY_KINDS:
        raise BadInput(f"kind must be one of {', '.join(CATEGORY_KINDS)}", field="kind")
    return kind


def volume_series(runtime: Runtime, slug: str, kind: CategoryKind, category: str, hours: int,
                  now: datetime | None = None) -> VolumeSeries:
    """The last ``hours`` hours of one category, the current one included, each with what the scan
    expected of it. :class:`NotFound` when the category counted no ticket in them or the history
    the first of them was tested against (a misspelt name is not a silent flat line)."""
    current = hour_of(now or datetime.now(UTC))
    first_shown = current - (hours - 1) * HOUR
    since = first_shown - HISTORY
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        by_hour = hourly(session, [(kind, category)], since)[(kind, category)]
    if not by_hour:
        raise NotFound(f"no {kind} {category!r} counted in these {hours} hours or the "
                       f"{HISTORY.days // 7} weeks before them", field="category")
    series = dense(by_hour, since, current)
    history = int(HISTORY / HOUR)
    points = []
    for offset in range(hours):  # the series the scan read when this hour was the current one
        scanned = series[offset:offset + history + 1]
        expected = rhythm.expected_recent(scanned, hour_of_week(since + offset * HOUR),
                                           spikes.SHORT_LOOKBACK_HOURS, 1)[0]
        lower, upper = spikes.usual_range(expected)
        points.append(VolumePoint(hour=first_shown + offset * HOUR, observed=int(scanned[-1]),
                                  expected=round(expected, 3), lower=lower, upper=upper,
                                  opening=spikes.opening_count(expected), complete=offset < hours - 1))
    return VolumeSeries(kind=kind, category=category, points=points)


def busiest_categories(runtime: Runtime, slug: str, hours: int, limit: int,
                       now: datetime | None = None) -> CategoryList:
    """The categories that counted tickets in the last ``hours`` hours, the busiest first, with the
    incidents each had then (or still has open)."""
    start = hour_of(now or datetime.now(UTC)) - (hours - 1) * HOUR
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        rows = busiest(session, start, limit)
        incidents = _incidents_since(session, start)
    return CategoryList(hours=hours, categories=[
        CategoryVolume(kind=kind, category=category, tickets=tickets,  # type: ignore[arg-type]  # a stored kind
                       incidents=len(incidents.get((kind, category), [])),
                       open_incident=any(incidents.get((kind, category), [])))
        for kind, category, tickets in rows])


def _incidents_since(session, start: datetime) -> dict[tuple[str, str], list[bool]]:
    """Per category, whether each incident started since ``start`` or still open is open."""
    rows = session.execute(select(IncidentRow.category_kind, IncidentRow.category, IncidentRow.ended_at)
                           .where((IncidentRow.started_at >= start) | IncidentRow.ended_at.is_(None))).all()
    found: dict[tuple[str, str], list[bool]] = {}
    for r in rows:
        found.setdefault((r.category_kind, r.category), []).append(r.ended_at is None)
    return found


def deploys(runtime: Runtime, slug: str, hours: int, now: datetime | None = None) -> DeployList:
    """The deploy markers of the last ``hours`` hours, oldest first (the latest
    :data:`MAX_DEPLOYS` when there are more)."""
    end = now or datetime.now(UTC)
    start = hour_of(end) - (hours - 1) * HOUR
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        return DeployList(deploys=between(session, start, end, MAX_DEPLOYS))


def emerging_groups(runtime: Runtime, slug: str, hours: int, limit: int,
                    now: datetime | None = None) -> EmergingList:
    """Groups of tickets the model found unlike anything it knows, the busiest first, each with
    the example tickets an incident of the group would carry (:func:`core.insights.run.examples`)."""
    start = hour_of(now or datetime.now(UTC)) - (hours - 1) * HOUR
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.tenant_session(tenant_id) as session:
        tenant = session.get(TenantRow, tenant_id)
        assert tenant is not None
        areas = product_areas.load(tenant.settings)
        rows = busiest(session, start, limit, kind="cluster", prefix=emerging.PREFIX)
        incidents = _incidents_since(session, start)
        groups = [EmergingGroup(category=category, tickets=tickets,
                                open_incident=any(incidents.get((kind, category), [])),
                                examples=examples(session, tenant, kind, category, start, areas))
                  for kind, category, tickets in rows]
    return EmergingList(hours=hours, groups=groups)
