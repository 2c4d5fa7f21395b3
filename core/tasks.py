"""Background jobs. Each takes primitive arguments and builds what it needs from the environment,
so it runs the same in-process or in an RQ worker (see :mod:`core.jobs`)."""

from __future__ import annotations

from core import runtime as runtimes


def train_tenant(tenant_slug: str) -> dict:
    """Train and promote a new model version for the tenant; returns its version and metrics."""
    from core.ml.training import train_tenant as train

    stored = train(runtimes.for_jobs(), tenant_slug)
    return {"tenant": tenant_slug, "version": stored.version, "metrics": stored.metadata.get("metrics", {})}
