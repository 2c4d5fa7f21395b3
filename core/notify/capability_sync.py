"""The opt-in Linear issue per requested capability, kept up to date by itself: the scheduler
(and, on the embedded default, the web process's insights loop) runs the feature-request report
once a day for every tenant whose Linear notifier has ``feature_requests=on`` and tells the
``capability`` listeners (:func:`core.insights.feature_requests.publish_capabilities`).

A tenant that has not opted in costs one read of its notifier settings and nothing else: no
report, no job, nothing sent. Which capabilities are new or grew is the listener's business; a
day with nothing new sends nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.insights.feature_requests import feature_request_report, publish_capabilities
from core.runtime import Runtime
from core.store.tables import NotifierRow, TenantRow

#: The notifier kind that opens issues per capability, and the setting that opts a tenant in.
LINEAR = "linear"
OPT_IN_SETTING = "feature_requests"
#: The window the scheduled report reads (the CLI's and the API's default).
SYNC_DAYS = 180


def opted_in_tenants(runtime: Runtime) -> list[str]:
    """The tenants whose Linear notifier has ``feature_requests=on``, by slug."""
    with runtime.db.admin_session() as session:
        rows = session.execute(select(TenantRow.slug, NotifierRow.settings)
                               .join(TenantRow, TenantRow.id == NotifierRow.tenant_id)
                               .where(NotifierRow.kind == LINEAR).order_by(TenantRow.slug)
                               .execution_options(all_tenants=True)).all()
    return [slug for slug, settings in rows if (settings or {}).get(OPT_IN_SETTING) == "on"]


def opted_in(runtime: Runtime, slug: str) -> bool:
    return slug in opted_in_tenants(runtime)


def sync_capabilities(runtime: Runtime, slug: str) -> dict[str, Any]:
    """Tell Linear about the tenant's capabilities when it has opted in; else do nothing. The
    opt-in is read again here, not only when the job was queued: it may have been turned off since."""
    if not opted_in(runtime, slug):
        return {"tenant": slug, "skipped": "not opted in"}
    report = feature_request_report(runtime, slug, days=SYNC_DAYS)
    return {"tenant": slug, "capabilities": publish_capabilities(runtime, report)}


def sync_all(runtime: Runtime) -> list[dict[str, Any]]:
    """Every opted-in tenant's sync, one after the other (the embedded default's daily run)."""
    return [sync_capabilities(runtime, slug) for slug in opted_in_tenants(runtime)]
