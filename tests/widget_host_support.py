"""The sample host app the widget's browser tests embed it in (``tests/widget_host``): static pages
served on a port of their own, so the host's origin differs from Deskloop's as in real life."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, request, send_from_directory

from core.commands.widget import script_tag

HOST_DIR = Path(__file__).parent / "widget_host"
MARK = "<!--DESKLOOP-->"


def host_app(deskloop: dict[str, str]) -> Flask:
    """The host's pages with the widget's tag in place of ``MARK`` (``deskloop``'s ``server`` and
    ``key``, read at each request so they may be known after the host has started); ``?widget=0``
    serves a page without it, to compare the layout against."""
    app = Flask(__name__, static_folder=None)

    @app.get("/<name>")
    def page(name: str):
        if not (HOST_DIR / name).is_file():
            abort(404)
        if not name.endswith(".html"):
            return send_from_directory(HOST_DIR, name)
        tag = "" if request.args.get("widget") == "0" else script_tag(deskloop["server"], deskloop["key"])
        return (HOST_DIR / name).read_text(encoding="utf-8").replace(MARK, tag)

    return app
