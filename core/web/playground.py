"""The playground page: pick or paste a ticket, see the suggestion, edit the draft, send, see the signal."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

blueprint = Blueprint("playground", __name__)


@blueprint.get("/")
def home():
    return redirect(url_for("playground.page"))


@blueprint.get("/playground")
def page():
    return render_template("playground.html")
