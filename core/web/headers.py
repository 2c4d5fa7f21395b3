"""Security headers on every answer.

A strict Content-Security-Policy (scripts and styles only from Deskloop itself, no inline script),
``nosniff``, a same-origin referrer, and no framing: ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``. The one page a helpdesk frames (the Zendesk sidebar) opens framing to
its own tenant's helpdesk domain only, by setting :func:`allow_framing` after it has verified the
request; that rule depends on the tenant, which a fixed per-view header setting cannot express, so
the few headers are set here rather than by an extension.
"""

from __future__ import annotations

from flask import Flask, g

_BASE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def allow_framing(origins: list[str], scripts: tuple[str, ...] = ()) -> None:
    """Let ``origins`` frame this answer (and load ``scripts`` from elsewhere), for this request only."""
    g.frame_ancestors = list(origins)
    g.extra_scripts = list(scripts)


def _render(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


#: The policy of every answer that nothing widened, written once: every request (a webhook
#: delivery hundreds of times a second) sends it.
_BASE_HEADER = _render(_BASE_POLICY)


def policy() -> str:
    framers, scripts = g.get("frame_ancestors"), g.get("extra_scripts")
    if not framers and not scripts:
        return _BASE_HEADER
    directives = {k: list(v) for k, v in _BASE_POLICY.items()}
    if framers:
        directives["frame-ancestors"] = framers
    directives["script-src"] += scripts or []
    return _render(directives)


def _secure(response):
    headers = response.headers
    headers["Content-Security-Policy"] = policy()
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "same-origin")
    if not g.get("frame_ancestors"):
        headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def init_headers(app: Flask) -> None:
    app.after_request(_secure)
