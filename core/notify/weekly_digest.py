"""The weekly digest goes out once per tenant and ISO week: computed
(:func:`core.insights.digest.weekly_digest`) and told to the ``digest`` listeners (Slack, for a
tenant whose Slack notifier has ``digest=on``) under the key ``digest:<slug>:<2026-W49>``.

A digest is due from Monday 08:00 UTC for the week that ended at midnight: the scheduler queues it
at its first tick after that (and the embedded default's insights loop publishes it), then every
later tick finds it recorded and does nothing. The record is a posted-alert row of the notifier
``digest`` (:mod:`core.notify.store`), written only once every listener's job was queued, so a
queue outage means the next tick tries again, and the fixed key means no listener acts twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from core.dispatch.listeners import Occurrence, publish
from core.insights.digest import WeeklyDigest, weekly_digest
from core.insights.weeks import IsoWeek, last_complete_week, parse_week
from core.notify.store import posted_alert, remember_posted
from core.runtime import Runtime
from core.store.tables import PostedAlertRow, TenantRow

DIGEST_TOPIC: Final = "digest"
#: The record's notifier name (a posted-alert row per tenant and week).
PUBLISHED: Final = "digest"
#: How long after Monday 00:00 UTC the week's digest is due: the start of a European working day.
DUE_AFTER = timedelta(hours=8)


def digest_key(slug: str, week: IsoWeek) -> str:
    return f"digest:{slug}:{week.label}"


def due_week(now: datetime) -> IsoWeek:
    """The week whose digest is due at ``now``: last week, from Monday 08:00 UTC on."""
    return last_complete_week(now - DUE_AFTER)


def publish_digest(runtime: Runtime, slug: str, week: IsoWeek, force: bool = False) -> dict[str, Any]:
    """Compute and publish the tenant's digest of ``week`` unless it already was (``force``: tell
    the listeners again; their fixed key still keeps them from acting twice)."""
    key = digest_key(slug, week)
    if not force and posted_alert(runtime, slug, PUBLISHED, key) is not None:
        return {"tenant": slug, "week": week.label, "skipped": "already published"}
    digest = weekly_digest(runtime, slug, week)
    return {"tenant": slug, "week": week.label, "published": tell(runtime, digest), "notes": digest.notes}


def tell(runtime: Runtime, digest: WeeklyDigest) -> bool:
    """Tell the ``digest`` listeners about ``digest`` and record it as published once every job
    was queued (False: the queue was unreachable, the next tick tries again)."""
    key = digest_key(digest.tenant, parse_week(digest.week))
    told = publish(runtime, Occurrence(topic=DIGEST_TOPIC, tenant=digest.tenant, source="insights", kind="weekly",
                                       key=key, data=digest.model_dump(mode="json"), extra={}))
    if told:
        remember_posted(runtime, digest.tenant, PUBLISHED, key, "digest", DIGEST_TOPIC, digest.week, None, key)
    return told


def unpublished_tenants(runtime: Runtime, week: IsoWeek) -> list[str]:
    """The tenants whose digest of ``week`` is not recorded as published, by slug: one read."""
    with runtime.db.admin_session() as session:
        slugs = session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all()
        done = set(session.scalars(select(PostedAlertRow.incident_id).where(
            PostedAlertRow.notifier == PUBLISHED, PostedAlertRow.incident_id.like(f"digest:%:{week.label}"))
            .execution_options(all_tenants=True)))
    return [slug for slug in slugs if digest_key(slug, week) not in done]


def publish_due(runtime: Runtime, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every tenant's due digest not yet published (the embedded default's weekly run)."""
    week = due_week(now or datetime.now(UTC))
    return [publish_digest(runtime, slug, week) for slug in unpublished_tenants(runtime, week)]
