"""Signing in and out: a password form, and single sign-on through an OpenID Connect provider
(Google Workspace, Okta, Entra ID...) when ``DESKLOOP_OIDC_ISSUER`` is set.

Sessions are Flask-Login's, in Flask's signed cookie (HttpOnly, SameSite=Lax, Secure unless
turned off for a plain-HTTP demo). A session lasts ``DESKLOOP_SESSION_HOURS`` from sign-in however
active it is. Single sign-on proves an email address; it signs in the operator an admin created for
that address (``deskloop user add``), never creates one, so the provider alone grants nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import requests
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from core.access import audit
from core.access.operators import Operator, authenticate, end_sessions, find_operator, record_login
from core.errors import BadInput
from core.web.access import SessionOperator, public, safe_next, sign_out
from core.web.limits import rate_limited

log = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__)

#: How long a call to the sign-in provider (discovery, keys, token) may take.
PROVIDER_TIMEOUT_SECONDS = 10


def _runtime():
    return current_app.extensions["deskloop"]


def _oidc():
    return current_app.extensions.get("deskloop_oidc")


def _start_session(found: Operator, how: str, nxt: str | None):
    sign_out()  # a fresh session id: nothing from before sign-in carries over
    session.permanent = True
    session["signed_in_at"] = datetime.now(UTC).timestamp()
    login_user(SessionOperator(found))
    audit.record(_runtime(), f"user:{found.email}", "user.sign_in", detail={"via": how})
    return redirect(safe_next(nxt) or url_for("playground.page"))


@blueprint.route("/login", methods=["GET", "POST"])
@public
@rate_limited("login")
def login():
    if request.method == "GET":
        return render_template("login.html", next=safe_next(request.args.get("next")), sso=_oidc() is not None)
    email = (request.form.get("email") or "").strip()[:320]
    found = authenticate(_runtime(), email, request.form.get("password") or "")
    if found is None:
        log.info("sign-in refused")  # neither the email nor the password reaches the log
        flash("That email and password do not match an active account.")
        return render_template("login.html", next=safe_next(request.form.get("next")), sso=_oidc() is not None,
                               email=email), 401
    return _start_session(found, "password", request.form.get("next"))


@blueprint.post("/logout")
@public
def logout():
    """Sign out everywhere: the session cookie is signed, not stored, so only a new session version
    makes a copy of it (in another tab, device or a stolen backup) stop working."""
    if current_user.is_authenticated:
        end_sessions(_runtime(), current_user.operator.id)
    sign_out()
    return redirect(url_for("auth.login"))


def _sso_problem(message: str, status: int, sso: bool = True):
    return render_template("login.html", sso=sso, next=None, problem=message), status


def _sso_missing():
    return _sso_problem("Single sign-on is not set up on this server.", 404, sso=False)


def _unreachable(exc: Exception):
    """A provider that is down or answers garbage is an outage, not a refusal: 502, said plainly."""
    log.warning("single sign-on provider unreachable: %s", type(exc).__name__)
    return _sso_problem("The sign-in provider could not be reached. Try again in a moment.", 502)


@blueprint.get("/login/sso")
@public
@rate_limited("login")
def sso_start():
    client = _oidc()
    if client is None:
        return _sso_missing()
    session["sso_next"] = safe_next(request.args.get("next"))
    try:
        return client.authorize_redirect(url_for("auth.sso_callback", _external=True))
    except requests.RequestException as exc:  # discovery could not be fetched
        return _unreachable(exc)


def _id_token_rules() -> dict:
    """What the ID token must say besides its signature, nonce and lifetime (which Authlib checks).

    Authlib checks ``iss`` against whatever issuer the discovery document names, and ``aud`` not
    at all (only ``azp``), so both are pinned here: the issuer an admin configured (an issuer's
    identifier may end in "/", e.g. Auth0's, while settings strip it) and this client's id, so a
    token the same provider issued to another application signs no one in here."""
    issuer = _runtime().settings.oidc_issuer
    return {"iss": {"essential": True, "values": [issuer, f"{issuer}/"]},
            "aud": {"essential": True, "value": _oidc().client_id}}


def _verified_email(claims) -> str | None:
    """The email the ID token proves. An unverified address proves nothing (anyone can type one
    into some providers' profiles), so the claim must say it is verified, not merely not deny it."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") not in (True, "true"):
        return None
    return email


def _active_operator(email: str) -> Operator | None:
    try:
        found = find_operator(_runtime(), email)
    except BadInput:  # NotFound, or an address Deskloop would never have stored
        return None
    return None if found.disabled else found


@blueprint.get("/login/sso/callback")
@public
@rate_limited("login")
def sso_callback():
    client = _oidc()
    if client is None:
        return _sso_missing()
    try:
        token = client.authorize_access_token(claims_options=_id_token_rules())
    except requests.RequestException as exc:
        return _unreachable(exc)
    except Exception as exc:  # Authlib and its JOSE library raise their own errors for a bad state, code or ID token
        log.warning("single sign-on refused: %s: %s", type(exc).__name__, str(exc)[:200])
        return _sso_problem("The sign-in provider's answer could not be verified. Try again.", 401)
    email = _verified_email(token.get("userinfo") or {})
    if email is None:
        return _sso_problem("The sign-in provider did not confirm an email address.", 401)
    found = _active_operator(email)
    if found is None:
        log.info("single sign-on refused: no active operator has the proven email")
        return _sso_problem("No active Deskloop account has this email; ask an admin to add you.", 403)
    record_login(_runtime(), found.id)
    return _start_session(found, "sso", session.get("sso_next"))


def init_sso(app, settings) -> None:
    """Register the OpenID Connect client (Authlib) when an issuer is configured.

    The authorization code flow with PKCE (S256), so an intercepted code is useless without the
    verifier kept in this browser's session; calls to the provider time out rather than hold a
    worker forever."""
    if not settings.oidc_issuer:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    app.extensions["deskloop_oidc"] = oauth.register(
        "sso", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                       "default_timeout": PROVIDER_TIMEOUT_SECONDS})
