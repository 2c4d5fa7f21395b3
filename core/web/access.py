"""Every route declares who may reach it; a route that declares nothing is refused.

Rules, attached to a view by the decorators below and enforced in one ``before_request`` hook:

- ``public``: anyone (health, the OpenAPI document, static files, the login pages).
- ``signature``: a helpdesk's signed request (webhooks, Intercom's Canvas Kit calls); the view
  verifies the signature against the tenant's secret before it reads the payload (401 otherwise).
- ``panel``: a side panel's proof (an app token, a panel session or a helpdesk's signed token),
  verified by the view; the tenant comes from that proof.
- ``widget``: the in-app widget's calls from a customer's browser; the view checks the tenant's
  public widget key, the request's ``Origin`` against the tenant's allowed origins and, when the
  tenant signs identities, the customer's HMAC (:mod:`core.web.widget_api`).
- ``operator(scope)``: a signed-in operator whose role grants ``scope``, or an API token that
  carries it. When the URL names a tenant (``<slug>``), the proof must cover that tenant; one it
  does not cover answers 404, exactly as a tenant that does not exist.

No address is trusted: a request from 127.0.0.1 proves nothing. State-changing requests made
with a browser session must carry the CSRF token (Flask-WTF); API tokens are not cookies, so
requests made with them need none. Failed proofs (401) are counted per client address and, past
the limit, every non-public route answers 429 for the rest of the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from limits import parse_many

from core.access import ROLE_SCOPES, SCOPES
from core.access.operators import Operator, get_operator
from core.access.tokens import TOKEN_PREFIX, ApiToken, verify_token
from core.web.errors import error_response

log = logging.getLogger(__name__)

RULE_ATTRIBUTE = "deskloop_access_rule"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Kind = Literal["public", "signature", "panel", "widget", "operator"]

csrf = CSRFProtect()


@dataclass(frozen=True)
class AccessRule:
    kind: Kind
    scope: str | None = None

    def describe(self) -> str:
        return f"operator:{self.scope}" if self.kind == "operator" else self.kind


def _mark(rule: AccessRule) -> Callable:
    def decorate(view: Callable) -> Callable:
        setattr(view, RULE_ATTRIBUTE, rule)
        return view

    return decorate


public = _mark(AccessRule("public"))
signed = _mark(AccessRule("signature"))
panel = _mark(AccessRule("panel"))
widget = _mark(AccessRule("widget"))


def operator(scope: str) -> Callable:
    """Reachable by an operator session or API token granting ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return _mark(AccessRule("operator", scope))


def rule_for(app: Flask, endpoint: str) -> AccessRule | None:
    """The rule of an endpoint; static files (the app's and blueprints') are public by nature."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return AccessRule("public")
    return getattr(app.view_functions.get(endpoint), RULE_ATTRIBUTE, None)


@dataclass(frozen=True)
class Principal:
    """Who a request proves it is: a signed-in operator or an API token."""

    via: Literal["session", "token"]
    name: str
    scopes: frozenset[str]
    #: Tenants covered; None for every tenant.
    tenants: frozenset[str] | None

    @property
    def actor(self) -> str:
        """How the audit trail names them (a token by its id, never its value)."""
        return f"user:{self.name}" if self.via == "session" else f"token:{self.name}"

    def covers(self, slug: str) -> bool:
        return self.tenants is None or slug in self.tenants

    @classmethod
    def of_operator(cls, found: Operator) -> Principal:
        return cls("session", found.email, ROLE_SCOPES[found.role],
                   None if found.tenants is None else frozenset(found.tenants))

    @classmethod
    def of_token(cls, token: ApiToken) -> Principal:
        return cls("token", f"{TOKEN_PREFIX}{token.prefix}", frozenset(token.scopes),
                   None if token.tenant is None else frozenset({token.tenant}))


class SessionOperator(UserMixin):
    """Flask-Login's view of an operator. The session id carries the operator's session version,
    so disabling them or resetting their password ends every session at its next request."""

    def __init__(self, found: Operator) -> None:
        self.operator = found

    def get_id(self) -> str:
        return f"{self.operator.id}:{self.operator.session_version}"


def _load_operator(session_id: str) -> SessionOperator | None:
    operator_id, _, version = session_id.partition(":")
    if not operator_id.isdigit() or not version.isdigit():
        return None
    found = get_operator(current_app.extensions["deskloop"], int(operator_id))
    if found is None or found.disabled or found.session_version != int(version):
        return None
    started = session.get("signed_in_at")
    lifetime = current_app.permanent_session_lifetime
    if not isinstance(started, int | float) or datetime.now(UTC).timestamp() - started > lifetime.total_seconds():
        return None  # an absolute limit: activity does not keep a session alive forever
    return SessionOperator(found)


def current_principal() -> Principal:
    """The proven principal of an operator route (set by the access check)."""
    return g.principal


def actor() -> str:
    return current_principal().actor


def _wants_html() -> bool:
    return not request.path.startswith("/api/") and request.accept_mimetypes.accept_html


def _unauthenticated(reason: str):
    if _wants_html() and request.method in SAFE_METHODS:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    response, status = error_response(401, reason)
    response.headers["WWW-Authenticate"] = 'Bearer realm="deskloop"'
    return response, status


def _bearer_principal() -> Principal | None | str:
    """The token's principal; a string (the refusal reason) for a header that proves nothing."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip().startswith(TOKEN_PREFIX):
        return "send a Deskloop API token as `Authorization: Bearer dlk_...`"
    found = verify_token(current_app.extensions["deskloop"], token.strip())
    if found is None:
        return "the API token is not valid (revoked, or never issued)"
    return Principal.of_token(found)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _failure_key() -> tuple[str, str, str]:
    """Failed proofs count per address and per tenant the request claims: helpdesks send every
    tenant's webhooks and proxied panel calls from the same few addresses, so one tenant's wrong
    secret must not lock the others out. The claim comes from the URL, else an app token's slug."""
    claimed = "-"  # operators' proofs name no tenant: a guesser gets one budget per address
    rule = g.get("access_rule")
    if rule is not None and rule.kind in ("signature", "panel"):
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        claimed = (request.view_args or {}).get("tenant") or (token.partition(".")[0] if "." in token else "-")
    return "auth-failures", request.remote_addr or "unknown", str(claimed)[:63]


def _failure_limits(app: Flask):
    return parse_many(app.config["DESKLOOP_RATE_AUTH_FAILURES"])


#: How long a process trusts "this address has failed no more than allowed" on a signed route
#: (webhooks, Canvas Kit) without asking the rate store again: a Redis round trip on every
#: delivery otherwise, at hundreds a second. A failure counted by this process drops its trust at
#: once; one counted by another process is seen within this time. A signature is an HMAC of a
#: secret no one can guess, so the few extra attempts this allows gain nothing; routes proved by
#: tokens and passwords ask every time, and every machine counts them together exactly.
ALLOWED_TRUST_SECONDS = 1.0


def _seconds_until_allowed(app: Flask, rule: AccessRule) -> int | None:
    """None while failed proofs are under every limit, else how long until they are not. A rate
    store that cannot be reached (Redis down) limits nothing: refusing every request would be worse."""
    strategy = app.extensions["deskloop_limiter"].limiter
    key = _failure_key()
    runtime = app.extensions["deskloop"]
    trusting = rule.kind == "signature"
    if trusting and runtime.knows(key):
        return None
    try:
        blocked = [item for item in _failure_limits(app) if not strategy.test(item, *key)]
        if not blocked:
            if trusting:
                runtime.remember(key, ALLOWED_TRUST_SECONDS)
            return None
        resets = [strategy.get_window_stats(item, *key).reset_time for item in blocked]
    except Exception:  # the storage's own connection errors
        log.warning("rate-limit storage unreachable; failed proofs are not being counted")
        return None
    return max(1, int(max(resets) - datetime.now(UTC).timestamp()) + 1)


def _count_failure(response):
    if response.status_code == 401:
        strategy = current_app.extensions["deskloop_limiter"].limiter
        key = _failure_key()
        current_app.extensions["deskloop"].forget(key)
        try:
            for item in _failure_limits(current_app):
                strategy.hit(item, *key)
        except Exception:
            log.warning("rate-limit storage unreachable; a failed proof was not counted")
    return response


def _enforce():
    endpoint = request.endpoint
    if endpoint is None:  # no such route (404) or method (405): Flask answers
        return None
    app = current_app._get_current_object()
    rule = rule_for(app, endpoint)
    if rule is None:
        log.error("route %s has no access rule; refused", endpoint)
        return error_response(403, "this route declares no access rule")
    g.access_rule = rule
    wait = _seconds_until_allowed(app, rule) if rule.kind != "public" else None
    if wait is not None:
        response, status = error_response(429, f"too many failed attempts from this address; try again in {wait} s")
        response.headers["Retry-After"] = str(wait)
        return response, status
    if rule.kind in ("signature", "panel", "widget"):
        return None  # the view verifies the helpdesk's signature, the panel's proof or the widget's key itself
    if rule.kind == "public":
        if request.method not in SAFE_METHODS:
            csrf.protect()  # the login form: a site cannot sign a visitor in as someone else
        return None
    principal = _bearer_principal()
    if isinstance(principal, str):
        return _unauthenticated(principal)
    if principal is None:
        if not current_user.is_authenticated:
            return _unauthenticated("sign in, or send an API token as `Authorization: Bearer dlk_...`")
        principal = Principal.of_operator(current_user.operator)
        if request.method not in SAFE_METHODS:
            csrf.protect()
    if rule.scope not in principal.scopes:
        return error_response(403, f"this needs the {rule.scope} scope, which {principal.actor} does not have")
    slug = (request.view_args or {}).get("slug")
    if slug is not None and not principal.covers(slug):
        return error_response(404, f"no tenant named {slug!r}")
    g.principal = principal
    return None


def init_access(app: Flask) -> None:
    """Sessions (Flask-Login), CSRF (Flask-WTF) and the access check, for every route of ``app``."""
    login = LoginManager()
    login.session_protection = "strong"
    login.user_loader(_load_operator)
    login.init_app(app)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked in _enforce, where the proof is known
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the session itself
    csrf.init_app(app)
    app.before_request(_enforce)
    app.after_request(_count_failure)


def sign_out() -> None:
    logout_user()
    session.clear()
