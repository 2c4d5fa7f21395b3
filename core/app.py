"""The Flask app factory: ``gunicorn 'core.app:create_app()'`` in production, ``deskloop serve`` locally."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import Settings
from core.runtime import Runtime


def create_app(settings: Settings | None = None) -> Flask:
    """An app bound to one Runtime (settings and a migrated database), shared by its requests.

    Refuses to start (:class:`core.helpdesk.secrets.SecretsUnavailable`, with the reason) when the database
    holds helpdesk credentials and ``DESKLOOP_SECRET_KEY`` is missing or weak: such a server could
    verify no webhook and would answer every one of them with an error."""
    from core.helpdesk.contract import registered
    from core.web import (
        admin_pages,
        api,
        auth_pages,
        insights_pages,
        learning_pages,
        operations,
        panel_api,
        playground,
        webhooks,
        widget_api,
    )
    from core.web.access import init_access
    from core.web.errors import register_error_handlers
    from core.web.headers import init_headers
    from core.web.limits import init_limits
    from core.web.openapi import RowIdConverter
    from core.web.request_context import init_request_context
    from core.web.session_key import check_credentials_key, session_key
    from core.web.sessions import CookieOnlySessions

    settings = settings or Settings.from_env()
    runtime = Runtime(settings)
    check_credentials_key(runtime)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    cast(DefaultJSONProvider, app.json).sort_keys = False  # Flask's default provider
    app.extensions["deskloop"] = runtime
    app.config.update(
        SECRET_KEY=session_key(settings),
        SESSION_COOKIE_NAME="deskloop_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    app.session_interface = CookieOnlySessions()
    if settings.proxy_hops:
        proxied = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                           x_host=settings.proxy_hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
    app.url_map.converters["int"] = RowIdConverter  # before any rule is added: ids are bounded
    for blueprint in (api.blueprint, playground.blueprint, learning_pages.blueprint, insights_pages.blueprint,
                      webhooks.blueprint, panel_api.blueprint, panel_api.assets, auth_pages.blueprint,
                      admin_pages.blueprint, operations.blueprint, widget_api.blueprint):
        app.register_blueprint(blueprint)
    for desk in registered().values():  # loaded now, not in the first webhook's request
        side_panel = desk.app_blueprint()
        if side_panel is not None:
            app.register_blueprint(side_panel)
    init_request_context(app)  # first: the access check's log lines carry the request id
    init_access(app)
    init_limits(app, settings)
    init_headers(app)
    auth_pages.init_sso(app, settings)
    register_error_handlers(app)
    return app
