"""A tenant's feature requests: which messages ask for something new, grouped into requested
capabilities, each counted by product area, trend and the accounts asking.

Each ticket's customer text (``TicketRow.text``, what ``core.text.normalize.text_for_model`` kept)
gets a kind: the one its agent tags give (``core.insights.message_kinds.TAG_KINDS``), else the
classifier's. Tagged tickets also teach the classifier the tenant's own wording. The feature
requests are grouped (``core.insights.capabilities``) and each group is counted:

- requests, and by product area (``core.insights.areas``; a request in no area is not counted there);
- the trend: requests in the last four weeks against the four before;
- the distinct accounts asking (the organization, else the requester), and the same weighted by
  plan when the tenant names the custom field that carries it (``feature_request_plans``:
  ``{"field": "plan", "weights": {"enterprise": 5, "pro": 2}}``; an account counts at the highest
  weight of its tickets, an unknown plan at 1);
- three example tickets, the most typical first, with their subject and helpdesk link for the page
  (never sent to a notifier: see :func:`publish_capabilities`).

Only organizations are named in the result; a requester is counted, never listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, PrivateAttr
from sqlalchemy import func, select

from core.errors import BadInput
from core.insights import areas as product_areas
from core.insights.capabilities import MAX_GROUPED, group_requests
from core.insights.capability_keys import assign_keys, known_keys, remember_keys
from core.insights.incidents import ExampleTicket
from core.insights.message_kinds import FEATURE_REQUEST, KINDS, LabelledMessage, kind_of_tags, model_for
from core.runtime import Runtime
from core.store.tables import TenantRow, TicketRow
from core.store.tenants import locked_tenant

PLANS_SETTING = "feature_request_plans"
PERIOD = timedelta(weeks=4)
#: Tickets read per report (the newest in the window) and tagged tickets read as examples.
MAX_TICKETS = 20_000
MAX_EXAMPLES = 5_000
EXAMPLES_SHOWN = 3
ORGANIZATIONS_SHOWN = 10

Trend = Literal["new", "rising", "steady", "falling", "quiet"]


class Capability(BaseModel):
    key: str = Field(description="cap-<a request's ticket id>: kept by the capability once published, while most of "
                                 "its requests stay together (core.insights.capability_keys)")
    label: str
    requests: int
    accounts: int
    weighted_accounts: float = Field(description="accounts, each counted at its plan's weight")
    last_4_weeks: int
    previous_4_weeks: int
    last_7_days: int = Field(default=0, description="requests in the last seven days (what the weekly digest counts)")
    trend: Trend
    areas: dict[str, int]
    organizations: list[str] = Field(description="the organizations asking, heaviest plan first (at most 10)")
    example_ticket_ids: list[int]
    example_external_ids: list[str]
    examples: list[ExampleTicket] = Field(
        default_factory=list, description="the example tickets' subject and link into the helpdesk, in the same order")
    #: The requests' ticket ids: what publishing records under the key (never in the answer).
    _request_ids: tuple[int, ...] = PrivateAttr(default=())


class FeatureRequestReport(BaseModel):
    tenant: str
    generated_at: datetime
    since: datetime
    tickets_read: int
    kinds: dict[str, int] = Field(description="tickets of each kind in the window")
    feature_requests: int
    model_version: str
    tenant_examples: int = Field(description="tagged tickets the classifier also learned from")
    plan_field: str | None
    capabilities: list[Capability]


@dataclass(frozen=True)
class _Ticket:
    """What the report reads of a ticket (its time in UTC: SQLite returns it naive)."""

    id: int
    external_id: str
    subject: str | None
    text: str
    tags: list[str]
    intent: str | None
    organization: str | None
    requester_email: str | None
    requester_external_id: str | None
    custom_fields: dict[str, Any]
    when: datetime


def parse_plans(raw: Any) -> dict[str, Any]:
    """``{"field": NAME, "weights": {PLAN: WEIGHT}}`` checked whole, or :class:`BadInput`."""
    if not isinstance(raw, dict) or set(raw) - {"field", "weights"} or "field" not in raw:
        raise BadInput('plans must be {"field": "<custom field>", "weights": {"<plan>": <weight>}}')
    field = raw["field"]
    if not isinstance(field, str) or not field.strip() or len(field) > 128:
        raise BadInput("the plan field must be a custom field name of 1-128 characters", field="field")
    weights = raw.get("weights", {})
    if not isinstance(weights, dict) or not weights:
        raise BadInput("weights must map each plan to a number", field="weights")
    checked = {}
    for plan, weight in weights.items():
        if not isinstance(plan, str) or not plan.strip() or len(plan) > 128:
            raise BadInput("a plan name must be 1-128 characters", field="weights")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1000:
            raise BadInput("a plan's weight must be a number above 0 and at most 1000", field=f"weights.{plan}")
        checked[plan.strip().lower()] = float(weight)
    return {"field": field.strip(), "weights": checked}


def set_plans(runtime: Runtime, slug: str, raw: Any) -> dict[str, Any]:
    """Store which custom field carries the plan and what each plan weighs (replacing any before)."""
    plans = parse_plans(raw)
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.transaction(tenant_id) as session:
        row = locked_tenant(session, tenant_id)
        row.settings = {**(row.settings or {}), PLANS_SETTING: plans}
    return plans


def _trend(recent: int, previous: int) -> Trend:
    if not recent and not previous:
        return "quiet"
    if not previous:
        return "new"
    if recent >= 1.5 * previous and recent - previous >= 2:
        return "rising"
    if previous >= 1.5 * recent and previous - recent >= 2:
        return "falling"
    return "steady"


def _account(row) -> tuple[str, str | None]:
    """(a key for the account, the organization's name or None for a person)."""
    if row.organization:
        return f"org:{row.organization.strip().lower()}", row.organization.strip()
    person = row.requester_email or row.requester_external_id
    return (f"person:{person.strip().lower()}" if person else f"ticket:{row.id}"), None


def _plan_weight(row, plans: dict[str, Any] | None) -> float:
    if not plans:
        return 1.0
    value = (row.custom_fields or {}).get(plans["field"])
    if isinstance(value, list):
        value = value[0] if value else None
    return plans["weights"].get(str(value).strip().lower(), 1.0) if value is not None else 1.0


def _ticket_links(helpdesk: str | None, domain: str | None) -> Callable[[str], str | None]:
    """A ticket's page in the helpdesk's agent interface by its id, when the tenant's integration
    knows the shape (else None for every ticket)."""
    from core.helpdesk.contract import registered

    integration = registered().get(helpdesk) if helpdesk else None
    template = integration.ticket_url_template if integration is not None else None
    if not template or not domain:
        return lambda _external_id: None
    host = domain.removeprefix("https://").strip("/")
    return lambda external_id: template.format(domain=host, id=external_id)


def _capability(group, capability_key: str, rows, areas, plans, now: datetime,
                link: Callable[[str], str | None]) -> Capability:
    members = [rows[i] for i in group.rows]
    accounts: dict[str, tuple[float, str | None]] = {}
    area_counts: Counter[str] = Counter()
    recent = previous = week = 0
    for row in members:
        key, organization = _account(row)
        weight = _plan_weight(row, plans)
        accounts[key] = (max(weight, accounts.get(key, (0.0, None))[0]), organization)
        for area in product_areas.areas_of(areas, row.intent, row.tags or []):
            area_counts[area.name] += 1
        age = now - row.when
        recent += timedelta(0) <= age < PERIOD
        week += timedelta(0) <= age < timedelta(weeks=1)
        previous += PERIOD <= age < 2 * PERIOD
    named = sorted(((w, o) for w, o in accounts.values() if o), key=lambda p: (-p[0], p[1].lower()))
    examples = [rows[i] for i in group.central[:EXAMPLES_SHOWN]]
    capability = Capability(
        key=capability_key, label=group.label, requests=len(members), accounts=len(accounts),
        weighted_accounts=round(sum(w for w, _ in accounts.values()), 2), last_4_weeks=recent,
        previous_4_weeks=previous, last_7_days=week, trend=_trend(recent, previous),
        areas=dict(sorted(area_counts.items())),
        organizations=[o for _, o in named[:ORGANIZATIONS_SHOWN]],
        example_ticket_ids=[r.id for r in examples], example_external_ids=[r.external_id for r in examples],
        examples=[ExampleTicket(external_id=r.external_id[:255], subject=(r.subject or "")[:300],
                                url=link(r.external_id)) for r in examples])
    capability._request_ids = tuple(r.id for r in members)
    return capability


def feature_request_report(runtime: Runtime, slug: str, *, days: int = 180,
                           now: datetime | None = None) -> FeatureRequestReport:
    """The tenant's requested capabilities among tickets created in the last ``days`` days."""
    if not 28 <= days <= 3650:
        raise BadInput("days must be between 28 and 3650", field="days")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since = now - timedelta(days=days)
    tenant_id = runtime.db.tenant_id(slug)
    when = func.coalesce(TicketRow.created_at, TicketRow.imported_at)
    with runtime.db.tenant_session(tenant_id) as session:
        tenant = session.get(TenantRow, tenant_id)
        settings = (tenant.settings if tenant else None) or {}
        link = _ticket_links(tenant.helpdesk if tenant else None, tenant.domain if tenant else None)
        found = session.execute(
            select(TicketRow.id, TicketRow.external_id, TicketRow.subject, TicketRow.text, TicketRow.tags,
                   TicketRow.intent, TicketRow.organization, TicketRow.requester_email, TicketRow.requester_external_id,
                   TicketRow.custom_fields, when.label("when"))
            .where(when >= since, when <= now, TicketRow.text != "").order_by(when.desc(), TicketRow.id.desc())
            .limit(MAX_TICKETS)).all()
        tagged = session.execute(select(TicketRow.text, TicketRow.tags).where(TicketRow.text != "")
                                 .order_by(TicketRow.id.desc()).limit(MAX_EXAMPLES)).all()
    rows = [_Ticket(**{**r._asdict(), "when": r.when if r.when.tzinfo else r.when.replace(tzinfo=UTC)})
            for r in found]
    examples = [LabelledMessage(t.text, kind) for t in tagged if (kind := kind_of_tags(t.tags or []))]
    model = model_for(runtime.settings.models_dir, examples)
    predicted = iter(model.kinds([r.text for r in rows if kind_of_tags(r.tags or []) is None]))
    kinds = [kind_of_tags(r.tags or []) or next(predicted) for r in rows]
    requests = [r for r, k in zip(rows, kinds, strict=True) if k == FEATURE_REQUEST][:MAX_GROUPED]
    plans = settings.get(PLANS_SETTING)
    areas = product_areas.load(settings)
    groups = group_requests([r.text for r in requests])
    with runtime.db.tenant_session(tenant_id) as session:
        known, used = known_keys(session, (r.id for r in requests))
    keys = assign_keys([[requests[i].id for i in g.rows] for g in groups], known, used)
    capabilities = [_capability(g, key, requests, areas, plans, now, link) for g, key in zip(groups, keys, strict=True)]
    capabilities.sort(key=lambda c: (-c.weighted_accounts, -c.requests, c.label))
    counted = Counter(kinds)
    return FeatureRequestReport(
        tenant=slug, generated_at=now, since=since, tickets_read=len(rows), kinds={k: counted[k] for k in KINDS},
        feature_requests=counted[FEATURE_REQUEST], model_version=model.version, tenant_examples=model.tenant_examples,
        plan_field=plans["field"] if plans else None, capabilities=capabilities)


CAPABILITY_TOPIC: Final = "capability"


def publish_capabilities(runtime: Runtime, report: FeatureRequestReport) -> int:
    """Tell the ``capability`` listeners (an opted-in Linear notifier) about every capability, under
    the key ``<capability key>:<requests>``: a capability whose count has not changed since it was
    last told is the same job again (nothing new), and one that grew is a new occurrence. The
    examples' subjects (customer text) stay behind: a notifier gets their ticket ids only. Returns
    how many were told."""
    from core.dispatch.listeners import Occurrence, publish

    tenant_id = runtime.db.tenant_id(report.tenant)
    with runtime.db.transaction(tenant_id) as session:  # before telling: a retry finds the same keys
        remember_keys(session, tenant_id, {c.key: c._request_ids for c in report.capabilities})
    for capability in report.capabilities:
        publish(runtime, Occurrence(topic=CAPABILITY_TOPIC, tenant=report.tenant, source="insights", kind="requested",
                                    key=f"{capability.key}:{capability.requests}",
                                    data=capability.model_dump(mode="json", exclude={"examples"}), extra={}))
    return len(report.capabilities)


CSV_HEADER = ["capability", "label", "requests", "accounts", "weighted_accounts", "last_4_weeks", "previous_4_weeks",
              "trend", "areas", "organizations", "example_ticket_ids", "example_external_ids"]


def report_csv(report: FeatureRequestReport) -> str:
    """One row per capability (spreadsheet-safe: see ``core.insights.spreadsheet``)."""
    from core.insights.spreadsheet import csv_text

    return csv_text(CSV_HEADER, ([c.key, c.label, c.requests, c.accounts, c.weighted_accounts, c.last_4_weeks,
                                  c.previous_4_weeks, c.trend, "; ".join(f"{a}: {n}" for a, n in c.areas.items()),
                                  "; ".join(c.organizations), " ".join(map(str, c.example_ticket_ids)),
                                  " ".join(c.example_external_ids)] for c in report.capabilities))
