"""Background jobs. Each takes primitive arguments and builds what it needs from the environment,
so it runs the same in-process or in an RQ worker (see :mod:`core.jobs`)."""

from __future__ import annotations

from core import runtime as runtimes


def train_tenant(tenant_slug: str, force: bool = False) -> dict:
    """Train a new model version for the tenant and promote it unless it is worse than the one in
    service; returns its version, metrics and the promotion verdict."""
    from core.ml.training import ModelRefused
    from core.ml.training import train_tenant as train

    try:
        stored = train(runtimes.for_jobs(), tenant_slug, force=force)
    except ModelRefused as refused:
        return {"tenant": tenant_slug, "version": None, "promoted": False, "reason": refused.verdict.reason,
                "metrics": {}}
    return {"tenant": tenant_slug, "version": stored.version, "promoted": True,
            "reason": stored.metadata.get("promotion", {}).get("reason", ""), "metrics": stored.metadata.get("metrics", {})}
