"""A tenant whose customers ask for two capabilities in two product areas (CSV export of invoices
in Billing, single sign-on in Security) and one more by their agents' tag, beside a question, a
problem and a complaint; accounts weighted by plan; one request's subject is markup. Times are
relative to the real clock, because the page shows the days ending now. What the feature-requests
page tests read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.insights.areas import set_areas
from core.insights.feature_requests import set_plans
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket

HOSTILE_SUBJECT = '<img src=x onerror="document.body.dataset.pwned=1">SSO with Okta?'
AREAS = {"Billing": {"tags": ["billing"]}, "Security": {"tags": ["security"]}}
PLANS = {"field": "plan", "weights": {"enterprise": 5, "pro": 2}}

#: (id, subject, customer text, organization, plan, days ago, tags)
REQUESTS = [
    ("t-1", "CSV export", "Can I export the invoices as CSV? Our accountant needs them.", "Initech", "enterprise", 2,
     ["billing"]),
    ("t-2", "Invoices to CSV", "Is there a way to export invoices to CSV instead of PDF?", "Globex", "pro", 5,
     ["billing"]),
    ("t-3", "CSV export plans?", "Any plans for CSV export of invoices?", "Initech", "enterprise", 10, []),
    ("t-4", "CSV please", "Would love a CSV export for invoices, please add it.", None, None, 40, []),
    ("t-5", HOSTILE_SUBJECT, "Do you support SSO with Okta?", "Umbrella", "pro", 3, ["security"]),
    ("t-6", "Okta SSO", "Please add Okta single sign-on (SSO), our IT team requires it.", "Hooli", None, 45, []),
    ("t-7", "Download an invoice", "How do I download an invoice?", "Globex", "pro", 1, []),
    ("t-8", "Error 500", "The invoice page shows an error 500 since this morning.", "Initech", "enterprise", 1, []),
    ("t-9", "No answer", "Your support is useless, three days and no answer. Unacceptable.", "Hooli", None, 6, []),
    ("t-10", "Roadmap vote", "Roadmap vote: gantt", "Vandelay", None, 8, ["feature-request"]),
]


def seed_feature_requests(runtime: Runtime, slug: str = "acme", now: datetime | None = None) -> None:
    db = runtime.db
    now = now or datetime.now(UTC).replace(microsecond=0)
    tenant_id = db.ensure_tenant(slug, "zendesk", f"{slug}.zendesk.com")
    tickets = [make_ticket(ticket_id, text, created=now - timedelta(days=days), subject=subject, organization=org,
                           custom_fields={"plan": plan} if plan else {}, tags=tags)
               for ticket_id, subject, text, org, plan, days, tags in REQUESTS]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    set_areas(runtime, slug, AREAS)
    set_plans(runtime, slug, PLANS)
