"""Deploy markers: a tenant says "service X version Y went out at T", and an incident that
follows names it and how long before it started.

A marker is validated whole before anything is written (the API answers 400, the CLI exits 2),
so a malformed one never lands half-written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.insights.incidents import DeployMarker
from core.runtime import Runtime
from core.store.tables import DeployMarkerRow

#: A deploy further back than this before an incident is not named as its likely cause.
NAMED_WITHIN = timedelta(hours=6)
#: A marker this far in the future is a mistake (a wrong clock or time zone).
FUTURE_SLACK = timedelta(minutes=10)


def checked(raw: dict) -> DeployMarker:
    """A marker from untrusted input, or :class:`BadInput` saying what is wrong."""
    for name in ("service", "version", "link"):  # as sent: trimming must not make a long value fit
        limit = next(m.max_length for m in DeployMarker.model_fields[name].metadata if hasattr(m, "max_length"))
        value = raw.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise BadInput(f"at most {limit} characters", field=name)
    try:
        marker = DeployMarker.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise BadInput(first["msg"], field=field) from None
    if marker.deployed_at.tzinfo is None:
        raise BadInput("the time needs a time zone (e.g. 2026-01-31T14:05:00Z)", field="deployed_at")
    if marker.deployed_at > datetime.now(UTC) + FUTURE_SLACK:
        raise BadInput("the deploy time is in the future", field="deployed_at")
    if marker.link is not None and not marker.link.startswith(("https://", "http://")):
        raise BadInput("the link must be an http(s) address", field="link")
    return marker


def mark(runtime: Runtime, slug: str, raw: dict) -> DeployMarker:
    return mark_all(runtime, slug, [checked(raw)])[0]


def mark_all(runtime: Runtime, slug: str, markers: list[DeployMarker]) -> list[DeployMarker]:
    """Store already :func:`checked` markers in one transaction: all of them or none."""
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.transaction(tenant_id) as session:
        session.add_all([DeployMarkerRow(tenant_id=tenant_id, service=m.service, version=m.version,
                                         deployed_at=m.deployed_at.astimezone(UTC), link=m.link) for m in markers])
    return markers


def between(session: Session, start: datetime, end: datetime, limit: int) -> list[DeployMarker]:
    """The markers deployed in [start, end], oldest first; the latest ``limit`` when there are more."""
    rows = session.scalars(select(DeployMarkerRow).where(DeployMarkerRow.deployed_at >= start,
                                                         DeployMarkerRow.deployed_at <= end)
                           .order_by(DeployMarkerRow.deployed_at.desc(), DeployMarkerRow.id.desc())
                           .limit(limit)).all()
    return [_marker(row) for row in reversed(rows)]


def latest_before(session: Session, moment: datetime, within: timedelta = NAMED_WITHIN) -> DeployMarker | None:
    """The last deploy at or before ``moment`` and no longer than ``within`` before it."""
    row = session.scalars(select(DeployMarkerRow).where(DeployMarkerRow.deployed_at <= moment,
                                                        DeployMarkerRow.deployed_at >= moment - within)
                          .order_by(DeployMarkerRow.deployed_at.desc(), DeployMarkerRow.id.desc()).limit(1)).first()
    return None if row is None else _marker(row)


def _marker(row: DeployMarkerRow) -> DeployMarker:
    deployed_at = row.deployed_at if row.deployed_at.tzinfo else row.deployed_at.replace(tzinfo=UTC)
    return DeployMarker(service=row.service, version=row.version, deployed_at=deployed_at, link=row.link)
