"""Abuse limits on the HTTP surface: body size, JSON depth and request rates.

- **Size**: ``MAX_CONTENT_LENGTH`` (``DESKLOOP_MAX_BODY_BYTES``, 1 MiB by default) makes Werkzeug
  refuse a larger body with 413 from its ``Content-Length`` before reading it; a chunked body is
  read up to the cap and refused with 413 there (:func:`_whole_body`). Helpdesk webhooks and
  Canvas Kit requests are a few kilobytes.
- **Depth**: Python's JSON parser recurses; a body of 100,000 ``[`` would end in a RecursionError
  (a 500). Every JSON-looking body is measured first, in linear time, and refused with 400 past
  :data:`MAX_JSON_DEPTH`, whichever parser (Flask's or an adapter's) reads it next.
- **Rates** (Flask-Limiter, moving window): sign-in attempts per address and route (``login``:
  the password form's POSTs, the single sign-on start and callback), suggestions per caller
  (``suggest``: the operator or API token, the panel's tenant and agent, else the address; one
  budget for all the suggestion routes), the in-app widget's calls (``widget``: per widget key and per
  address, one budget for all its routes), and failed proofs per address (:mod:`core.web.access`).
  With ``DESKLOOP_REDIS_URL`` the counts live in Redis, so every machine
  of a deployment counts together, under ``deskloop-limits:<queue name>:``: deployments sharing a
  Redis are told apart by their queue name (``DESKLOOP_QUEUE``), as their jobs are. Without it the
  counts are in memory, per process (the embedded default).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import cast

from flask import Flask, current_app, g, request
from flask.typing import RouteCallable
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge

from core.config import Settings
from core.helpdesk.secrets import SecretsUnavailable
from core.panel.access import AccessDenied, identity_for_bearer
from core.web.errors import error_response

MAX_JSON_DEPTH = 64
#: A JSON string, from a quote to the next unescaped one or, when it never closes, to the end: an
#: unterminated string is then skipped once, not rescanned from every later quote (which made a
#: body of ``"\"\"\"...`` quadratic: minutes of CPU for one request).
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}

LIMIT_ATTRIBUTE = "deskloop_rate_limit"
GROUPS = ("login", "suggest", "widget")


def json_depth(body: bytes) -> int:
    """How deeply ``body``'s arrays and objects nest (brackets inside strings do not count)."""
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate((_STEP[b] for b in brackets), initial=0))


def _as_json_reads_it(body: bytes) -> bytes:
    """The body as UTF-8 without a BOM. ``json.loads`` of bytes (Flask's ``get_json``) also reads
    UTF-16, UTF-32 and a UTF-8 BOM, so a deep body in those encodings must be measured too."""
    encoding = json.detect_encoding(body)
    if encoding == "utf-8":
        return body
    return body.decode(encoding, errors="replace").encode("utf-8", errors="replace")


def _whole_body() -> bytes:
    """The body, read once and cached for the views, or 413 past ``MAX_CONTENT_LENGTH``.

    A body with a ``Content-Length`` over the cap is refused before a byte is read. A streamed
    (chunked) one is read up to the cap, where Werkzeug stops and returns what it read as if the
    body ended there: one more byte tells a body that really ended at the cap from a longer one,
    which the views would otherwise receive cut short (a truncated signature check, form or JSON).
    """
    body = request.get_data(cache=True)
    cap = request.max_content_length
    if request.content_length is None and cap is not None and len(body) >= cap:
        if request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    return body


def _refuse_deep_json():
    if not request.content_length and not request.environ.get("wsgi.input_terminated"):
        return None  # no body: without a length Werkzeug reads none unless the server ends the stream
    body = _whole_body()
    if not body:
        return None
    body = _as_json_reads_it(body).lstrip()
    if body[:1] not in (b"[", b"{"):
        return None  # not JSON, or a scalar: nothing for a parser to recurse into
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return None  # cannot nest deeper than it opens (most bodies): no scan needed
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        return error_response(400, f"the JSON body nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    return None


def _refuse_nul_in_path():
    """No tenant, helpdesk or intent key holds a NUL character, so a path with one (``%00``) names
    nothing: 404 here, before PostgreSQL is asked for it (it refuses such a string with an error)."""
    if "\x00" in request.path:
        return error_response(404, "nothing here is named with a NUL character")
    return None


def rate_limited(group: str):
    """Mark a view for the ``group``'s rate (``login``, ``suggest`` or ``widget``), applied per app."""
    if group not in GROUPS:
        raise ValueError(f"unknown rate group {group!r}")

    def decorate(view):
        setattr(view, LIMIT_ATTRIBUTE, group)
        return view

    return decorate


def _caller_key() -> str:
    """Suggestions are counted per proven caller: an operator or API token (set by the access
    check), a panel's tenant and agent, else the address. A panel's proof is read again here
    because the limit is checked before its view runs; a proof that fails counts by address (the
    view then answers 401, itself counted as a failed proof)."""
    principal = getattr(g, "principal", None)
    if principal is not None:
        return principal.actor
    rule = getattr(g, "access_rule", None)
    if rule is not None and rule.kind == "panel":
        try:
            identity = identity_for_bearer(current_app.extensions["deskloop"], request.headers.get("Authorization"))
        except (AccessDenied, SecretsUnavailable):  # the view answers (401, or 503 for our missing key)
            return get_remote_address()
        return f"panel:{identity.tenant}:{identity.agent or '-'}"
    return get_remote_address()


def _widget_key() -> str:
    """The widget key the body names (every customer of one tenant's app shares its budget); a
    body without one counts by address (the view then refuses it)."""
    body = request.get_json(force=True, silent=True)
    key = body.get("key") if isinstance(body, dict) else None
    return f"widget-key:{key[:64]}" if isinstance(key, str) else f"widget-ip:{get_remote_address()}"


def _counted_methods(app: Flask, endpoint: str) -> list[str] | None:
    """Sign-in routes count their attempts: the form's POST, not the page that shows it (GET);
    a GET-only route such as the single sign-on callback counts every call."""
    methods = set().union(*(rule.methods or () for rule in app.url_map.iter_rules(endpoint)))
    return ["POST"] if "POST" in methods else None


def init_limits(app: Flask, settings: Settings) -> Limiter:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["DESKLOOP_RATE_AUTH_FAILURES"] = settings.rate_auth_failures
    options: dict[str, str | int] = (
        {"key_prefix": f"deskloop-limits:{settings.queue_name}"} if settings.redis_url else {})
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.redis_url or "memory://",
                      storage_options=options, headers_enabled=True, strategy="moving-window",
                      swallow_errors=True)  # Redis down: serve without limits (and log), not 500
    app.extensions["deskloop_limiter"] = limiter
    suggestions = limiter.shared_limit(settings.rate_suggest, scope="suggest", key_func=_caller_key)
    per_key = limiter.shared_limit(settings.rate_widget_key, scope="widget-key", key_func=_widget_key,
                                   methods=["POST"])
    per_address = limiter.shared_limit(settings.rate_widget_ip, scope="widget-ip", key_func=get_remote_address,
                                       methods=["POST"])
    # flask-limiter's decorators return the view they wrap; their annotations pick the async
    # overload for Flask's sync-or-async view type, hence the casts.
    for endpoint, view in list(app.view_functions.items()):
        group = getattr(view, LIMIT_ATTRIBUTE, None)
        if group == "suggest":
            app.view_functions[endpoint] = cast(RouteCallable, suggestions(view))
        elif group == "widget":  # a preflight (OPTIONS) is not counted: the browser sends one per call
            app.view_functions[endpoint] = cast(RouteCallable, per_address(per_key(view)))
        elif group == "login":  # per route: a password sign-in and a single sign-on are two calls apart
            sign_in = limiter.limit(settings.rate_login, key_func=get_remote_address,
                                    methods=_counted_methods(app, endpoint))
            app.view_functions[endpoint] = cast(RouteCallable, sign_in(view))
    # Routes in no group skip the limiter's own per-request work (a webhook delivery pays it
    # otherwise); failed proofs are counted by the access check, not by Flask-Limiter.
    limited = frozenset(endpoint for endpoint, view in app.view_functions.items()
                        if getattr(view, LIMIT_ATTRIBUTE, None) in GROUPS)
    limiter.request_filter(lambda: request.endpoint not in limited)
    _run_limiter_hooks_only_for(app, limiter, limited)
    app.before_request(_refuse_deep_json)
    app.before_request(_refuse_nul_in_path)
    return limiter


def _run_limiter_hooks_only_for(app: Flask, limiter: Limiter, limited: frozenset[str]) -> None:
    """Flask-Limiter's request hooks (before, after, teardown) run only for ``limited`` endpoints.

    For every other route its filter above already exempts the request, but only after the hooks
    have looked up the view, resolved its (empty) limits and built a per-request context: about a
    tenth of a webhook delivery's CPU, for nothing. A hook not found means Flask-Limiter changed
    how it registers them: refused at start, not silently left running (or skipped) everywhere."""
    def gate(hook, answer):
        def gated(*args):
            return hook(*args) if request.endpoint in limited else answer(*args)
        return gated

    def unchanged(*args):
        return args[0] if args else None

    for table, belongs in ((app.before_request_funcs, lambda f: f == limiter._check_request_limit),
                           (app.after_request_funcs, lambda f: getattr(f, "args", (None,))[:1] == (limiter,)),
                           (app.teardown_request_funcs,
                            lambda f: getattr(f, "__self__", None) is limiter and "release" in f.__name__)):
        hooks = table.get(None, [])
        found = [i for i, f in enumerate(hooks) if belongs(f)]
        if len(found) != 1:
            raise RuntimeError("Flask-Limiter's request hooks are not where expected (an upgrade?)")
        hooks[found[0]] = gate(hooks[found[0]], unchanged if table is app.after_request_funcs else lambda *a: None)


def reset_limits(app: Flask | None = None) -> None:
    """Forget every count of this deployment (tests, and an operator unblocking an address after a
    false alarm)."""
    (app or current_app).extensions["deskloop_limiter"].reset()
