"""The playground page: pick or paste a ticket, see the suggestion, edit the draft, send, see the signal."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from core.web.access import operator, public

blueprint = Blueprint("playground", __name__)


@blueprint.get("/")
@public
def home():
    return redirect(url_for("playground.page"))


@blueprint.get("/playground")
@operator("read")
def page():
    return render_template("playground.html")
