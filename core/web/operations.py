"""What a production platform asks of a web process: ``/livez``, ``/readyz`` and ``/metrics``.

The probes are public (a load balancer or orchestrator has no token) and say only which check
failed, in fixed words. ``/metrics`` counts every tenant's traffic and names every tenant's slug, so
it needs proof: an API token with the ``metrics`` scope for every tenant (``deskloop token create
--name prometheus --scope metrics --all-tenants``), sent by Prometheus as a bearer token. A token
limited to one tenant is refused: the numbers cover all of them.

Under gunicorn each worker keeps its counts in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever
worker answers it, adds up every worker's files (prometheus-client's multiprocess mode); the
``process_*`` figures are then those of the worker that answered.
"""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from core.runtime import Runtime
from core.web.access import current_principal, operator, public
from core.web.errors import error_response
from core.web.readiness import readiness
from core.web.scrape import StateCollector

blueprint = Blueprint("operations", __name__)


def _runtime() -> Runtime:
    return current_app.extensions["deskloop"]


@blueprint.get("/livez")
@public
def livez():
    """The process answers; nothing else is asked (see :mod:`core.web.readiness`)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
@public
def readyz():
    ready, checks = readiness(_runtime())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _counted() -> CollectorRegistry:
    """The counters and histograms: every gunicorn worker's, added up, when the workers share a
    multiprocess directory; this process's own (with its default process metrics) otherwise."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def exposition(runtime: Runtime) -> bytes:
    """The whole scrape in Prometheus' text format."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(runtime))
    return generate_latest(_counted()) + generate_latest(state)


@blueprint.get("/metrics")
@operator("metrics")
def metrics():
    if current_principal().tenants is not None:
        return error_response(403, "/metrics covers every tenant: use a token issued for all tenants")
    return Response(exposition(_runtime()), mimetype=None, content_type=CONTENT_TYPE_LATEST)
