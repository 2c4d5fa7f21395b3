"""The learning pages: the audit trail of signals (with revoke) and the replay's learning curve."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from core.learning.audit import audited_signals
from core.learning.replay import latest_replay_run
from core.store.db import UnknownTenantError

blueprint = Blueprint("learning", __name__)


def _runtime():
    return current_app.extensions["deskloop"]


@blueprint.get("/tenants/<slug>/signals")
def signals_page(slug: str):
    try:
        rows = audited_signals(_runtime(), slug, limit=200)
    except UnknownTenantError:
        abort(404)
    return render_template("signals.html", slug=slug, rows=rows)


@blueprint.get("/tenants/<slug>/learning")
def learning_page(slug: str):
    try:
        run = latest_replay_run(_runtime(), slug)
    except UnknownTenantError:
        abort(404)
    return render_template("learning.html", slug=slug, run=run)
