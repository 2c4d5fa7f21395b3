"""Background jobs. Each takes primitive arguments and builds what it needs from the environment,
so it runs the same in-process or in an RQ worker (see :mod:`core.dispatch.queue`)."""

from __future__ import annotations

from core import runtime as runtimes


def train_tenant(tenant_slug: str, force: bool = False) -> dict:
    """Train a new model version for the tenant and promote it unless it is worse than the one in
    service; returns its version, metrics and the promotion verdict."""
    from core.learning.training import ModelRefused
    from core.learning.training import train_tenant as train

    try:
        stored = train(runtimes.for_jobs(), tenant_slug, force=force)
    except ModelRefused as refused:
        return {"tenant": tenant_slug, "version": None, "promoted": False, "reason": refused.verdict.reason,
                "metrics": {}}
    return {"tenant": tenant_slug, "version": stored.version, "promoted": True,
            "reason": stored.metadata.get("promotion", {}).get("reason", ""),
            "metrics": stored.metadata.get("metrics", {})}


def after_backfill(tenant_slug: str) -> dict:
    """What follows a finished backfill: rank the tenant's label sources (kept in its settings as
    ``label_report``, for the admin), then train. With no intent labels yet the model still
    answers with similar tickets, drafts and tags; the report says where intents could come from."""
    from core.errors import BadInput
    from core.labelling.settings import rank_and_keep

    try:
        report = rank_and_keep(runtimes.for_jobs(), tenant_slug)
    except BadInput as exc:  # no tickets: nothing to train either
        return {"tenant": tenant_slug, "promoted": False, "reason": exc.reason, "labels": []}
    result = train_tenant(tenant_slug)
    return {**result, "labels": report["candidates"]}


def discover_intents(tenant_slug: str) -> dict:
    """Propose intents from the customers' words of the tickets no accepted intent holds (replacing
    earlier proposals; see :func:`core.labelling.proposals.discover`); returns the listing. Encoding
    every ticket takes minutes on a large history, hence a job."""
    from core.labelling.proposals import discover

    return discover(runtimes.for_jobs(), tenant_slug)


def scan_insights(tenant_slug: str) -> dict:
    """Count the tenant's new tickets and open, grow or end its incidents (:mod:`core.insights.run`)."""
    from core.insights.run import scan_tenant

    result = scan_tenant(runtimes.for_jobs(), tenant_slug)
    return {"tenant": tenant_slug, "counted": result.counted, "assessed": result.assessed, "changes": result.changes}


def sync_capabilities(tenant_slug: str) -> dict:
    """Open or update the tenant's Linear issue per requested capability, when it has opted in
    (:mod:`core.notify.capability_sync`); a tenant that has not is skipped."""
    from core.notify.capability_sync import sync_capabilities as sync

    return sync(runtimes.for_jobs(), tenant_slug)


def publish_weekly_digest(tenant_slug: str, week: str) -> dict:
    """Compute and publish the tenant's digest of ``week`` (``2026-W49``) unless it already was
    (:mod:`core.notify.weekly_digest`)."""
    from core.insights.weeks import parse_week
    from core.notify.weekly_digest import publish_digest

    return publish_digest(runtimes.for_jobs(), tenant_slug, parse_week(week))


def solve_quiet_replies(tenant_slug: str) -> dict:
    """Solve the tickets whose autonomous reply had no answer for the tenant's N days, when it
    chose ``solved_after_days`` (:func:`core.autonomy.responder.solve_quiet_replies`)."""
    from core.autonomy.responder import solve_quiet_replies as solve

    return {"tenant": tenant_slug, "solved": solve(runtimes.for_jobs(), tenant_slug)}
