"""The counters and histograms Deskloop's own code moves, for ``/metrics`` (Prometheus).

Defined once per process, at the bottom layer, so any layer may count without importing the web.
Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports this module (see
:mod:`core.web.gunicorn_conf`), and prometheus-client then keeps each worker's values in a file of
its own that the scrape adds up; without it (``deskloop serve``, tests) values live in memory.

What is read from the database or Redis instead (webhook events by state, queue depth, the model in
service) is not here: :mod:`core.web.scrape` reads it when Prometheus asks, so it is right whatever
process changed it.

Labels never carry a raw path, an id or anything a customer wrote: routes are URL rules
(``/api/v1/tenants/<slug>/tickets/<int:ticket_id>``), tenants their slug.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "deskloop_http_requests", "HTTP requests answered, by URL rule (never the raw path) and status.",
    ["method", "route", "status"])

HTTP_LATENCY = Histogram(
    "deskloop_http_request_duration_seconds", "Time from a request's arrival to its answer, by URL rule.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

SUGGESTIONS = Counter(
    "deskloop_suggestions", "Suggestions made, by tenant and outcome (answered or abstained).",
    ["tenant", "outcome"])

ABSTENTIONS = Counter(
    "deskloop_abstentions", "Suggestions that abstained, by tenant and reason (unfamiliar, ambiguous, "
    "low_confidence).", ["tenant", "reason"])


def count_suggestion(tenant: str, abstain_reason: str | None, abstained: bool) -> None:
    """One suggestion made for ``tenant``; an abstention also by its reason."""
    SUGGESTIONS.labels(tenant=tenant, outcome="abstained" if abstained else "answered").inc()
    if abstained:
        ABSTENTIONS.labels(tenant=tenant, reason=abstain_reason or "unknown").inc()
