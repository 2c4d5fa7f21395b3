"""The Flask app factory: ``gunicorn 'core.app:create_app()'`` in production, ``deskloop serve`` locally."""

from __future__ import annotations

from flask import Flask

from core.config import Settings
from core.runtime import Runtime


def create_app(settings: Settings | None = None) -> Flask:
    """An app bound to one Runtime (settings and a migrated database), shared by its requests."""
    from core.helpdesks import registered
    from core.web import api, learning_pages, panel_api, playground, webhooks
    from core.web.errors import register_error_handlers

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.json.sort_keys = False
    app.extensions["deskloop"] = Runtime(settings or Settings.from_env())
    app.register_blueprint(api.blueprint)
    app.register_blueprint(playground.blueprint)
    app.register_blueprint(learning_pages.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(panel_api.blueprint)
    app.register_blueprint(panel_api.assets)
    for desk in registered().values():  # loaded now, not in the first webhook's request
        side_panel = getattr(desk, "app_blueprint", lambda: None)()
        if side_panel is not None:
            app.register_blueprint(side_panel)
    register_error_handlers(app)
    return app
