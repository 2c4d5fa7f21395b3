"""Abuse limits on the HTTP surface: body size, JSON depth and request rates.

- **Size**: ``MAX_CONTENT_LENGTH`` (``DESKLOOP_MAX_BODY_BYTES``, 1 MiB by default) makes Werkzeug
  refuse a larger body with 413 from its ``Content-Length`` before reading it, and stop reading a
  chunked body at the cap. Helpdesk webhooks and Canvas Kit requests are a few kilobytes.
- **Depth**: Python's JSON parser recurses; a body of 100,000 ``[`` would end in a RecursionError
  (a 500). Every JSON-looking body is measured first, at C speed, and refused with 400 past
  :data:`MAX_JSON_DEPTH`, whichever parser (Flask's or an adapter's) reads it next.
- **Rates** (Flask-Limiter; Redis storage when ``DESKLOOP_REDIS_URL`` is set, so every machine
  counts together, memory in the embedded default): sign-in attempts per address, suggestions per
  caller, and failed proofs per address (:mod:`core.web.access`).
"""

from __future__ import annotations

import re
from itertools import accumulate

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.config import Settings
from core.web.errors import error_response

MAX_JSON_DEPTH = 64
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}

LIMIT_ATTRIBUTE = "deskloop_rate_limit"


def json_depth(body: bytes) -> int:
    """How deeply ``body``'s arrays and objects nest (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", body))
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def _check_json_depth():
    if not request.content_length and request.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return None
    body = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 past it)
    if body[:1].isspace():
        body = body.lstrip()
    if body[:1] not in (b"[", b"{"):
        return None
    if json_depth(body) > MAX_JSON_DEPTH:
        return error_response(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    return None


def rate_limited(group: str):
    """Mark a view for the ``group``'s rate (``login`` or ``suggest``), applied per app."""

    def decorate(view):
        setattr(view, LIMIT_ATTRIBUTE, group)
        return view

    return decorate


def _caller_key() -> str:
    """Suggestions are counted per proven caller (operator, token or panel tenant), else address."""
    principal = getattr(g, "principal", None)
    return principal.actor if principal is not None else get_remote_address()


def init_limits(app: Flask, settings: Settings) -> Limiter:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["DESKLOOP_RATE_AUTH_FAILURES"] = settings.rate_auth_failures
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.redis_url or "memory://",
                      key_prefix="deskloop-limits:", headers_enabled=True,
                      strategy="moving-window")
    app.extensions["deskloop_limiter"] = limiter
    rates = {"login": settings.rate_login, "suggest": settings.rate_suggest}
    for endpoint, view in list(app.view_functions.items()):
        group = getattr(view, LIMIT_ATTRIBUTE, None)
        if group is not None:
            key = get_remote_address if group == "login" else _caller_key
            methods = ["POST"] if group == "login" else None
            app.view_functions[endpoint] = limiter.limit(rates[group], key_func=key, methods=methods)(view)
    app.before_request(_check_json_depth)
    return limiter


def reset_limits(app: Flask | None = None) -> None:
    """Forget every count (tests, and an operator unblocking an address after a false alarm)."""
    (app or current_app).extensions["deskloop_limiter"].reset()
