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

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user

from core.access import audit
from core.access.operators import Operator, authenticate, find_operator, record_login
from core.errors import NotFound
from core.web.access import SessionOperator, public, safe_next, sign_out
from core.web.limits import rate_limited

log = logging.getLogger(__name__)

blueprint = Blueprint("auth", __name__)


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
    sign_out()
    return redirect(url_for("auth.login"))


@blueprint.get("/login/sso")
@public
@rate_limited("login")
def sso_start():
    client = _oidc()
    if client is None:
        return render_template("login.html", sso=False, next=None,
                               problem="Single sign-on is not set up on this server."), 404
    session["sso_next"] = safe_next(request.args.get("next"))
    return client.authorize_redirect(url_for("auth.sso_callback", _external=True))


@blueprint.get("/login/sso/callback")
@public
@rate_limited("login")
def sso_callback():
    client = _oidc()
    if client is None:
        return render_template("login.html", sso=False, next=None,
                               problem="Single sign-on is not set up on this server."), 404
    try:
        token = client.authorize_access_token()
    except Exception as exc:  # Authlib raises its own errors for a bad state, code or ID token
        log.warning("single sign-on refused: %s", type(exc).__name__)
        return render_template("login.html", sso=True, next=None,
                               problem="The sign-in provider's answer could not be verified. Try again."), 401
    claims = token.get("userinfo") or {}
    email = str(claims.get("email") or "")
    if not email or claims.get("email_verified") is False:
        return render_template("login.html", sso=True, next=None,
                               problem="The sign-in provider did not confirm an email address."), 401
    try:
        found = find_operator(_runtime(), email)
    except NotFound:
        found = None
    if found is None or found.disabled:
        return render_template("login.html", sso=True, next=None,
                               problem="No active Deskloop account has this email; ask an admin to add you."), 403
    record_login(_runtime(), found.id)
    return _start_session(found, "sso", session.get("sso_next"))


def init_sso(app, settings) -> None:
    """Register the OpenID Connect client (Authlib) when an issuer is configured."""
    if not settings.oidc_issuer:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    app.extensions["deskloop_oidc"] = oauth.register(
        "sso", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile"})
