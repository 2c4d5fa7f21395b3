"""The common shape of an incident: what a notifier receives, and all it may rely on.

An incident is one unusual rise in a category's volume for one tenant, from the hour it started
until it ends. It is published on the ``incident`` topic of :mod:`core.dispatch.listeners` each
time it changes (:data:`INCIDENT_KINDS`: opened, grew, ended), always with the same ``key`` part
per incident and change, so a retried job never posts twice, and a notifier updates what it posted
for ``incident_id`` instead of posting again. Example tickets carry only a subject and a link into
the helpdesk: never a requester's name, address or message body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from core.types import CommonShape

#: The changes an incident is published for (the occurrence's ``kind``).
INCIDENT_KINDS = ("opened", "grew", "ended")

CategoryKind = Literal["intent", "tag", "area", "cluster"]


class ExampleTicket(CommonShape):
    external_id: str = Field(max_length=255)
    subject: str = Field(max_length=300)
    url: str | None = Field(default=None, max_length=2000)  # the ticket's page in the agent interface


class DeployMarker(CommonShape):
    service: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=200)
    deployed_at: datetime
    link: str | None = Field(default=None, max_length=2000)


class RelatedCategory(CommonShape):
    """Another category rising on the same tickets (the intent's tag, its product area): part of
    this incident, never an alert of its own."""

    kind: CategoryKind
    category: str = Field(min_length=1, max_length=255)


class Incident(CommonShape):
    incident_id: str = Field(min_length=1, max_length=100)  # stable for the incident's whole life
    tenant: str
    category_kind: CategoryKind
    category: str = Field(min_length=1, max_length=255)
    area: str | None = None  # the product area the category maps to, when the tenant set one
    owner: str | None = None  # the area's owner (an email), to mention or assign
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    observed: int = Field(ge=0)  # tickets in the incident's window so far
    expected: float = Field(ge=0)  # what the tenant's rhythm predicted for that window
    window_hours: float = Field(gt=0)
    examples: list[ExampleTicket] = Field(default_factory=list, max_length=10)
    deploy: DeployMarker | None = None  # the deploy that preceded it, when one did
    deploy_lead_minutes: float | None = None  # how long before the incident started
    related: list[RelatedCategory] = Field(default_factory=list, max_length=50)
    page_url: str | None = None  # the tenant's insights page, when the server's address is known
