"""``/widget/v1``: the endpoints the in-app help widget calls from a customer's browser (the
contract is ``docs/widget-api.md``).

Each request names the tenant's public widget key in its JSON body and is checked, in this order:
a key (401 without one), a key some tenant holds (404), the ``Origin`` header among that tenant's
allowed origins (403), the body's shape and sizes (400), and, when the tenant signs identities, the
customer's HMAC (403). CORS headers go only to an allowed origin, never ``*``; a preflight carries
no key, so it is answered for an origin some tenant allows, and the request itself is then held to
its own key's origins. Questions and identities are never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, send_from_directory
from pydantic import BaseModel

from core.helpdesk.contract import HelpdeskError
from core.logs import bind
from core.web.access import public, widget
from core.web.errors import ApiError, error_response
from core.web.limits import rate_limited
from core.widget.answering import suggest_for_page
from core.widget.config import WidgetConfig, config_for_key, origin_known
from core.widget.filing import Request, file_ticket
from core.widget.guide import build_guide
from core.widget.keys import identity_matches, request_origin
from core.widget.names import taught_pairs
from core.widget.requests import AskIn, FeedbackIn, GuideIn, TicketIn, page_context
from core.widget.sessions import Caller, SessionRefused, find_session, record_exchange, set_helpful
from core.widget.signals import record_feedback, record_guide

PREFIX = "/widget/v1"
#: How long a browser may reuse a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = 600
NO_ANSWER_MESSAGE = "I don't know the answer to this one yet. A person from the team can help."
NOT_HELPFUL_MESSAGE = "Sorry that did not help. You can send this to the support team as a ticket."
#: The widget script host pages load (``<script async src=".../widget/v1/widget.js">``).
SCRIPT_DIR = Path(__file__).parent / "static" / "widget"
#: A day: every page view of every host loads it, and its URL carries no version, so a fixed
#: script reaches browsers within a day (revalidated cheaply by its ETag after that).
SCRIPT_MAX_AGE = 86400

blueprint = Blueprint("widget_api", __name__, url_prefix=PREFIX)


def _runtime():
    return current_app.extensions["deskloop"]


def _body() -> dict[str, Any]:
    """The JSON object sent, whatever its ``Content-Type`` (a script may send ``text/plain`` to
    spare the preflight)."""
    data = request.get_json(force=True, silent=True) if request.content_length else None
    if not isinstance(data, dict):
        raise ApiError(401, "send a JSON object with the tenant's widget key as `key`", "key")
    return data


def _widget(data: dict[str, Any]) -> tuple[WidgetConfig, str | None]:
    """The widget the body's key names, its identity secret, and the origin checked against it."""
    key = data.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError(401, "send the tenant's widget key as `key`", "key")
    found = config_for_key(_runtime(), key.strip())
    if found is None:
        raise ApiError(404, "no widget has this key (it may have been rotated)", "key")
    config, secret = found
    bind(tenant=config.tenant)
    origin = request_origin(request.headers.get("Origin"))
    if not config.allows(origin):
        raise ApiError(403, "this page's origin is not one the widget's tenant allows", "Origin")
    g.widget_origin_allowed = True
    return config, secret


def _caller(model: BaseModel, secret: str | None) -> Caller:
    identity = getattr(model, "identity", None)
    if secret is None:
        return Caller(identity.user_id if identity is not None else None, False)
    if identity is None:
        raise ApiError(403, "this widget requires a signed identity: identity.user_id and identity.user_hash",
                       "identity")
    if not identity_matches(secret, identity.user_id, identity.user_hash):
        raise ApiError(403, "identity.user_hash is not the HMAC-SHA256 of identity.user_id with the tenant's "
                            "identity secret", "identity.user_hash")
    return Caller(identity.user_id, True)


def _checked(model_type: type[BaseModel]) -> tuple[WidgetConfig, Any, Caller]:
    data = _body()
    config, secret = _widget(data)
    model = model_type.model_validate(data)
    return config, model, _caller(model, secret)


@blueprint.errorhandler(SessionRefused)
def _refused(exc: SessionRefused):
    return error_response(403, exc.reason, exc.field)


@blueprint.errorhandler(HelpdeskError)
def _helpdesk_failed(exc: HelpdeskError):
    response, status = error_response(503, "the helpdesk did not take the ticket; try again shortly")
    response.headers["Retry-After"] = str(int(exc.retry_after or 30))
    return response, status


@blueprint.after_request
def _cors(response):
    """CORS for an allowed origin only: the one the request's key allows, or, for a preflight
    (which carries no key), one some tenant allows. Never ``*``, never credentials."""
    response.vary.add("Origin")
    header = request.headers.get("Origin")
    origin = request_origin(header)
    if request.method == "OPTIONS":
        allowed = origin_known(_runtime(), origin)
        if allowed:
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    else:
        allowed = bool(g.get("widget_origin_allowed")) or _allowed_for_key(origin)
    if allowed and header:
        response.headers["Access-Control-Allow-Origin"] = header
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def _allowed_for_key(origin: str | None) -> bool:
    """For an answer the view did not reach (429 from the rate limits): the key's origins."""
    body = request.get_json(force=True, silent=True) if request.content_length else None
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, str) or origin is None:
        return False
    found = config_for_key(_runtime(), key.strip())
    return found is not None and found[0].allows(origin)


@blueprint.get("/widget.js")
@public
def script():
    """The widget script itself: public (a host page loads it before anything is proved), cached
    a day, and loadable by a host that isolates itself (``Cross-Origin-Resource-Policy``)."""
    response = send_from_directory(SCRIPT_DIR, "widget.js", max_age=SCRIPT_MAX_AGE,
                                   mimetype="text/javascript")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blueprint.post("/ask")
@widget
@rate_limited("widget")
def ask():
    config, body, caller = _checked(AskIn)
    context = page_context(body.context, config)
    if body.session is not None:  # refuse another customer's session before spending a suggestion
        with _runtime().db.tenant_session(config.tenant_id) as session:
            find_session(session, body.session, caller)
    suggestion = suggest_for_page(_runtime(), config.tenant, body.question, context, caller.user_id)
    token, row = record_exchange(_runtime(), config.tenant_id, body.session, caller, body.question, context,
                                 suggestion)
    guide = build_guide(_runtime(), config.tenant_id, row.answer, context) if not row.abstained else None
    return jsonify(session=token, answer=row.answer, abstained=row.abstained, offer_human=row.abstained,
                   message=NO_ANSWER_MESSAGE if row.abstained else None, guide=guide)


def _session_row(config: WidgetConfig, token: str, caller: Caller):
    with _runtime().db.tenant_session(config.tenant_id) as session:
        return find_session(session, token, caller)


@blueprint.post("/feedback")
@widget
@rate_limited("widget")
def feedback():
    config, body, caller = _checked(FeedbackIn)
    row = _session_row(config, body.session, caller)
    signal, created = record_feedback(_runtime(), config.tenant, row, body.helpful)
    set_helpful(_runtime(), config.tenant_id, row.id, body.helpful)
    return jsonify(recorded=created, signal=signal.kind, offer_ticket=not body.helpful,
                   message=None if body.helpful else NOT_HELPFUL_MESSAGE), 201 if created else 200


@blueprint.post("/ticket")
@widget
@rate_limited("widget")
def ticket():
    config, body, caller = _checked(TicketIn)
    filed = file_ticket(_runtime(), config.tenant, config.tenant_id, body.session, caller,
                        Request(body.email, body.name, body.message))
    return jsonify(filed=True, filed_in=filed.filed_in, ticket=filed.external_id,
                   created=filed.created), 201 if filed.created else 200


@blueprint.post("/guide")
@widget
@rate_limited("widget")
def guide():
    config, body, caller = _checked(GuideIn)
    row = _session_row(config, body.session, caller)
    taught = taught_pairs(row.answer, {c.step: c.text for c in body.clicked}) if body.event == "completed" else []
    signal, created = record_guide(_runtime(), config.tenant, row, body.event, body.step, taught)
    return jsonify(recorded=created, signal=signal.kind), 201 if created else 200
