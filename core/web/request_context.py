"""Every request: its id, its log context, its line in the log and its place in the metrics.

The id comes from the caller's ``X-Request-ID`` when it is well-formed (a load balancer chose it and
names it in its own logs), else it is made here; either way the answer echoes it, every log line of
the request carries it, and so does every job the request enqueues (:mod:`core.dispatch.queue`).

Routes are named by their URL rule (``/api/v1/tenants/<slug>/tickets/<int:ticket_id>``), never the
path a client sent: paths carry ids, and a label per id would grow the metrics without bound. An
unmatched path is ``<unmatched>``.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

from core.logs import bind, log_context, request_id_from
from core.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("deskloop.requests")

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "<unmatched>"


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED


def _begin() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    args = request.view_args or {}
    tenant = args.get("slug") or args.get("tenant")  # the URL's claim; panels bind theirs once proven
    g.log_context_token = log_context.set({})
    bind(request_id=g.request_id, route=_route(), tenant=str(tenant)[:63] if tenant else None)


#: (method, route, status) -> the request counter's and the latency histogram's series. Labels
#: are URL rules, methods and statuses, so few; prometheus-client's ``labels()`` validates and
#: locks on every call, which a webhook delivery paid twice, hundreds of times a second.
_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _metrics(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, route, status)
    found = _series.get(key)
    if found is None:
        found = _series[key] = (HTTP_REQUESTS.labels(method=method, route=route, status=str(status)),
                                HTTP_LATENCY.labels(method=method, route=route))
    return found


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:  # a request that failed before _begin ran
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    route, elapsed = _route(), time.perf_counter() - g.started
    requests, latency = _metrics(request.method, route, response.status_code)
    requests.inc()
    latency.observe(elapsed)
    log.info("%s %s answered %d in %.1f ms", request.method, route, response.status_code, elapsed * 1000)
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("log_context_token", None)
    if token is not None:
        log_context.reset(token)


def init_request_context(app: Flask) -> None:
    """Register first, so the access check's own log lines already carry the request id."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
