"""The learning pages: the audit trail of signals (with revoke), the replay's learning curve, and
where intents come from (label sources and discovered intents)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from core.learning.audit import audited_signals
from core.store.db import UnknownTenantError
from core.suggesting.replay import latest_replay_run
from core.web.access import operator

blueprint = Blueprint("learning", __name__)


def _runtime():
    return current_app.extensions["deskloop"]


@blueprint.get("/tenants/<slug>/signals")
@operator("read")
def signals_page(slug: str):
    try:
        rows = audited_signals(_runtime(), slug, limit=200)
    except UnknownTenantError:
        abort(404)
    return render_template("signals.html", slug=slug, rows=rows)


@blueprint.get("/tenants/<slug>/learning")
@operator("read")
def learning_page(slug: str):
    try:
        run = latest_replay_run(_runtime(), slug)
    except UnknownTenantError:
        abort(404)
    return render_template("learning.html", slug=slug, run=run)


@blueprint.get("/tenants/<slug>/intents")
@operator("read")
def intents_page(slug: str):
    """The page itself carries no tenant data: its script reads and changes everything through the
    JSON API (``/api/v1/tenants/<slug>/labels`` and ``.../intents``)."""
    try:
        _runtime().db.tenant_id(slug)
    except UnknownTenantError:
        abort(404)
    return render_template("intents.html", slug=slug)
