"""Shared by the Slack and Linear alert tests: a tenant, incidents built directly (no detector),
and publishing one change of an incident the way the detector will."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.dispatch.listeners import Occurrence, publish
from core.insights.incidents import DeployMarker, ExampleTicket, Incident
from core.runtime import Runtime
from core.store.tables import TenantRow

#: Twelve hours ago: an incident built here ended six hours ago, well within any cooldown.
STARTED = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=12)


@pytest.fixture
def runtime(settings, db, monkeypatch) -> Runtime:
    """A runtime with tenant ``acme``; local fake APIs are reached without any proxy."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with db.transaction() as session:
        session.add(TenantRow(slug="acme", helpdesk="zendesk", domain="acme.zendesk.com", settings={}))
    return Runtime(settings)


def incident(observed: int = 40, ended: bool = False, incident_id: str = "inc-1", category: str = "refund_request",
             subject: str = "Refund <@U999> & charge > twice", grown_by: int = 0) -> Incident:
    return Incident(
        incident_id=incident_id, tenant="acme", category_kind="intent", category=category, area="billing",
        owner="owner@acme.test", started_at=STARTED, updated_at=STARTED + timedelta(hours=1 + grown_by),
        ended_at=STARTED + timedelta(hours=6) if ended else None, observed=observed, expected=8.0, window_hours=3,
        examples=[ExampleTicket(external_id="101", subject=subject, url="https://acme.zendesk.com/agent/tickets/101"),
                  ExampleTicket(external_id="102", subject="Charged twice", url=None)],
        deploy=DeployMarker(service="billing-api", version="v2.4.1", deployed_at=STARTED - timedelta(minutes=20),
                            link="https://ci.acme.test/deploys/42"),
        deploy_lead_minutes=20, page_url="https://deskloop.acme.test/insights")


def publish_change(runtime: Runtime, change: Incident, kind: str, key: str | None = None) -> None:
    publish(runtime, Occurrence(topic="incident", tenant=change.tenant, source="insights", kind=kind,
                                key=key or f"{change.incident_id}:{kind}:{change.observed}",
                                data=change.model_dump(mode="json"), extra={}))
