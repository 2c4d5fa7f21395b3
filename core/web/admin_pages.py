"""The admin pages: operators, API tokens, the audit trail and quarantined webhook events.

Plain HTML forms posted with the CSRF token, so every action works without JavaScript. A POST
that changes something redirects to the page it changed (post/redirect/get), except issuing a
token: its answer is the one place the token is ever shown, sent with ``Cache-Control: no-store``
so neither the browser's history nor a proxy keeps a copy.

Only a principal covering every tenant may use these pages. The URLs name no tenant, so the access
check cannot limit them to one; an admin token bound to one tenant would otherwise list every
tenant's tokens and could issue itself an every-tenant token.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from core.access import SCOPES, audit
from core.access.operators import list_operators
from core.access.tokens import TOKEN_PREFIX, ApiToken, issue_token, list_tokens, revoke_token
from core.errors import BadInput
from core.helpdesk.event_failures import quarantined_events
from core.helpdesk.webhook_events import retry_quarantined
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.web.access import actor, current_principal, operator
from core.web.errors import error_response

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

#: The audit page shows this many entries, newest first.
AUDIT_PAGE_SIZE = 200
#: The tenant-select value for a token that covers every tenant (no slug can be ``*``).
ALL_TENANTS = "*"


def _runtime() -> Runtime:
    return current_app.extensions["deskloop"]


@blueprint.before_request
def _every_tenant_only():
    """Runs after the access check (app hooks first), which has proven the principal by now."""
    if current_principal().tenants is not None:
        return error_response(403, "the admin pages need an admin who sees every tenant")
    return None


def _tenant_slugs() -> list[str]:
    with _runtime().db.admin_session() as session:
        return list(session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all())


def token_id(found: ApiToken) -> str:
    return f"{TOKEN_PREFIX}{found.prefix}"


@blueprint.get("")
@operator("admin")
def overview():
    return render_template("admin_overview.html")


@blueprint.get("/users")
@operator("admin")
def users_page():
    return render_template("admin_users.html", operators=list_operators(_runtime()))


def _tokens_page(problem: str | None = None, entered: dict | None = None, status: int = 200):
    return render_template("admin_tokens.html", tokens=list_tokens(_runtime()), tenants=_tenant_slugs(),
                           scopes=SCOPES, all_tenants=ALL_TENANTS, token_id=token_id, problem=problem,
                           entered=entered or {"name": "", "scopes": (), "tenant": ""}), status


@blueprint.get("/tokens")
@operator("admin")
def tokens_page():
    return _tokens_page()


@blueprint.post("/tokens")
@operator("admin")
def create_token():
    """Issue a token and show it, once. Bad input shows the form again with the reason (400)."""
    name = request.form.get("name", "")
    scopes = tuple(request.form.getlist("scope"))
    choice = request.form.get("tenant", "").strip()
    entered = {"name": name, "scopes": scopes, "tenant": choice}
    if not choice:
        return _tokens_page("choose the tenant the token covers, or every tenant", entered, 400)
    try:
        secret, issued = issue_token(_runtime(), name, scopes, None if choice == ALL_TENANTS else choice, actor())
    except BadInput as exc:  # no scope, an empty name, an unknown tenant
        return _tokens_page(exc.reason, entered, 400)
    audit.record(_runtime(), actor(), "token.create", tenant=issued.tenant, target=token_id(issued),
                 detail={"name": issued.name, "scopes": list(issued.scopes)})
    response = make_response(render_template("admin_token_created.html", token=secret, issued=issued,
                                             token_id=token_id(issued)), 201)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/tokens/<prefix>/revoke")
@operator("admin")
def revoke(prefix: str):
    before = next((t for t in list_tokens(_runtime()) if t.prefix == prefix), None)
    if before is None:
        return _tokens_page(f"no API token {TOKEN_PREFIX}{prefix}", status=404)
    if before.revoked_at is None:
        revoked = revoke_token(_runtime(), prefix)
        audit.record(_runtime(), actor(), "token.revoke", tenant=revoked.tenant, target=token_id(revoked),
                     detail={"name": revoked.name})
    flash(f"Token {token_id(before)} ({before.name}) is revoked: it no longer works.")
    return redirect(url_for("admin.tokens_page"), 303)


@blueprint.get("/audit")
@operator("admin")
def audit_page():
    tenant = request.args.get("tenant", "").strip() or None
    return render_template("admin_audit.html", events=audit.list_events(_runtime(), tenant, AUDIT_PAGE_SIZE),
                           tenant=tenant, tenants=_tenant_slugs(), limit=AUDIT_PAGE_SIZE)


@blueprint.get("/events")
@operator("admin")
def events_page():
    """Every tenant's quarantined webhook events (failed every attempt), with a retry for each."""
    failed = [event for slug in _tenant_slugs() for event in quarantined_events(_runtime(), slug)]
    return render_template("admin_events.html", events=failed)


@blueprint.post("/events/<slug>/<int:event_id>/retry")
@operator("admin")
def retry_event(slug: str, event_id: int):
    """Apply a quarantined event again (after a fix); the page says whether it went in."""
    row = retry_quarantined(_runtime(), slug, event_id)  # not this tenant's: 404; not quarantined: 400
    applied = row.processed_at is not None
    audit.record(_runtime(), actor(), "event.retry", tenant=slug, target=str(event_id), detail={"applied": applied})
    flash(f"Event {event_id} of {slug} applied." if applied
          else f"Event {event_id} of {slug} failed again and is back in quarantine: {row.last_error}")
    return redirect(url_for("admin.events_page"), 303)
