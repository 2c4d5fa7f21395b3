"""Every API error is JSON with a reason: ``{"error": {"status": 400, "reason": "...", "field": ...}}``.

Bad input is the caller's problem and must say what to fix; anything else is ours and is logged
with its traceback while the caller sees a plain 500 (no internals, no secrets).

A misconfiguration on our side (no usable ``DESKLOOP_SECRET_KEY``, credentials it cannot decrypt)
is a 503 with ``Retry-After``: a helpdesk reads a 4xx as "do not send this again" and would drop
the delivery, while a 5xx is retried once the operator has fixed the server. It is logged as one
error line naming the problem (never a secret), not as a traceback.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core.errors import BadInput, NotFound
from core.helpdesk.accounts import AccountClaimed
from core.helpdesk.secrets import SecretsUnavailable
from core.ml.registry import ModelLoadError, ModelUnusable
from core.store.db import UnknownTenantError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error with a reason the caller can act on."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field = status, reason, field


def error_response(status: int, reason: str, field: str | None = None):
    body = {"status": status, "reason": reason}
    if field is not None:
        body["field"] = field
    return jsonify(error=body), status


#: Seconds a helpdesk is asked to wait before retrying what our misconfiguration refused.
MISCONFIGURED_RETRY_AFTER = 60


def misconfigured(reason: str, retry_after: int = MISCONFIGURED_RETRY_AFTER):
    """503 for a fault of ours the caller cannot fix: logged loudly, retried by the helpdesk."""
    log.error("cannot serve %s %s: %s", request.method, request.path, reason)
    # The caller (often the open internet) learns that it should retry, not how the server is set up.
    response, status = error_response(503, "Deskloop cannot serve this request until its operator fixes the "
                                           "server's configuration; retry later")
    response.headers["Retry-After"] = str(retry_after)
    return response, status


def validation_reason(exc: ValidationError) -> tuple[str, str | None]:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    return first.get("msg", "invalid value"), field


#: Paths that programs call (API clients, helpdesks, side panels, Canvas Kit, the in-app widget):
#: errors are JSON there.
JSON_PATHS = ("/api/", "/webhooks/", "/apps/", "/widget/")


def _answers_json() -> bool:
    """Programs get JSON; a browser on a page (sign-in, the playground) gets Werkzeug's HTML page."""
    if request.path.startswith(JSON_PATHS):
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _http_reason(exc: HTTPException) -> str:
    if isinstance(exc, RequestEntityTooLarge):
        cap = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"the request body is larger than the {cap} bytes accepted" if cap else "the request body is too large"
    if exc.code == 429:  # Flask-Limiter's description is the limit, such as "10 per 1 minute"
        return f"too many requests ({exc.description}); retry after the seconds in the Retry-After header"
    return exc.description or exc.name


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.reason, exc.field)

    @app.errorhandler(SecretsUnavailable)
    def _secrets_unavailable(exc: SecretsUnavailable):
        return misconfigured(exc.reason)

    @app.errorhandler(AccountClaimed)
    def _claimed(exc: AccountClaimed):
        return error_response(409, exc.reason, exc.field)

    @app.errorhandler(BadInput)
    def _bad_input(exc: BadInput):
        return error_response(404 if isinstance(exc, NotFound) else 400, exc.reason, exc.field)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        reason, field = validation_reason(exc)
        return error_response(400, reason, field)

    @app.errorhandler(UnknownTenantError)
    def _unknown_tenant(exc: UnknownTenantError):
        return error_response(404, str(exc))

    @app.errorhandler(ModelUnusable)
    def _unusable_model(exc: ModelUnusable):
        return misconfigured(str(exc))

    @app.errorhandler(ModelLoadError)
    def _no_model(exc: ModelLoadError):
        return error_response(409, str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not _answers_json():
            return exc
        response, status = error_response(exc.code or 500, _http_reason(exc))
        for name, value in exc.get_headers():  # such as Allow on a 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the server log has the details")
