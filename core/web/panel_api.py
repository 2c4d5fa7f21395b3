"""``/apps/api``: the endpoints the side-panel apps call from inside a helpdesk.

Every request proves its tenant with an app token or a panel session (:mod:`core.panel.access`);
without one it gets 401 and no tenant data. The tenant comes from that proof, never from the URL,
so one tenant's panel cannot read another's tickets. Errors are JSON with a reason, as in the API.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Literal

from flask import Blueprint, current_app, jsonify, request, send_from_directory
from pydantic import BaseModel, ConfigDict, Field

import manifests
from core.errors import NotFound
from core.helpdesk.connections import connection
from core.logs import bind
from core.panel.access import (
    AccessDenied,
    PanelIdentity,
    identity_for_bearer,
    identity_for_session,
)
from core.panel.suggestions import PanelSuggestion, panel_suggestion, record_sent, record_wrong
from core.text.limits import MESSAGE_RAW_CHARS
from core.types import Suggestion
from core.web.access import panel, public
from core.web.errors import ApiError, error_response
from core.web.limits import rate_limited
from core.web.schemas import MAX_TEXT

PREFIX = "/apps/api"
#: What the panel says when Deskloop abstains, by reason: the agent must not read "no answer" as
#: "broken", and should know whether the question is new, a choice between two intents, or doubt.
ABSTAIN_MESSAGE = "No suggestion: this one needs a human."
UNFAMILIAR_MESSAGE = ("No suggestion: this question looks new. Nothing like it is in the tickets Deskloop learned "
                      "from, so it needs a human; the closest past tickets are below.")
LOW_CONFIDENCE_MESSAGE = "No suggestion: Deskloop is not sure enough about this one, so it needs a human."
#: Shown while the tenant has no intent labels: similar tickets and drafts work from day one.
NOT_TRAINED_MESSAGE = "Intent model not trained yet: suggestions come from similar resolved tickets."
NOT_TRAINED_ABSTAIN_MESSAGE = ("No draft: no past ticket is close enough yet, and the intent model is not trained. "
                               "The closest past tickets are below.")


def abstain_message(s: Suggestion) -> str:
    """Why there is no draft, in the agent's words (see :attr:`Suggestion.abstain_reason`)."""
    if s.intent_model == "not_trained":
        return NOT_TRAINED_ABSTAIN_MESSAGE
    if s.abstain_reason == "unfamiliar":
        return UNFAMILIAR_MESSAGE
    if s.abstain_reason == "ambiguous" and len(s.ambiguous_between) >= 2:
        first, second = (name.replace("_", " ") for name in s.ambiguous_between[:2])
        return (f"No suggestion: this is either {first} or {second}, and Deskloop cannot tell which. "
                "The reply you send teaches it.")
    if s.abstain_reason == "low_confidence":
        return LOW_CONFIDENCE_MESSAGE
    return ABSTAIN_MESSAGE

blueprint = Blueprint("panel_api", __name__, url_prefix=PREFIX)
#: The shared panel script and style (``manifests/panel``), for the pages Deskloop serves itself.
assets = Blueprint("panel_assets", __name__, url_prefix="/apps/panel")
PANEL_DIR = Path(manifests.__file__).parent / "panel"


@assets.get("/<name>")
@public
def asset(name: str):
    return send_from_directory(PANEL_DIR, name, max_age=300)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SuggestionRequest(_Body):
    text: str | None = Field(default=None, max_length=MESSAGE_RAW_CHARS,
                             description="The ticket's text as the panel reads it, used when Deskloop has not "
                                         "stored the ticket yet. Models read its first 20,000 cleaned "
                                         "characters; a longer text is cut there and marked.")


class SentRequest(_Body):
    text: str = Field(min_length=1, max_length=MAX_TEXT,
                      description="The reply as sent; it is compared with the draft, so it is bounded as a "
                                  "ticket's text is.")
    channel: Literal["reply", "note"] = "reply"
    session: str | None = Field(default=None, max_length=4096,
                                description="The page's panel session, when the report comes through a helpdesk "
                                            "proxy with the app token: it names the agent who sent the reply.")


class WrongRequest(_Body):
    intent: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=2000)


@blueprint.errorhandler(AccessDenied)
def _denied(exc: AccessDenied):
    return error_response(401, str(exc))


def _identity() -> PanelIdentity:
    """The proven tenant, also named on the request's log lines (a panel's URL names none)."""
    identity = identity_for_bearer(current_app.extensions["deskloop"], request.headers.get("Authorization"))
    bind(tenant=identity.tenant)
    return identity


def _body(model):
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict):
        raise ApiError(400, "the body is not a JSON object")
    return model.model_validate(data)


def _domain(identity: PanelIdentity) -> str | None:
    try:
        return connection(current_app.extensions["deskloop"], identity.tenant).domain
    except NotFound:  # a tenant with imported history only: no helpdesk to link into
        return None


def panel_payload(made: PanelSuggestion) -> dict:
    """The JSON a panel renders: the suggestion, with no draft to lean on when Deskloop abstains."""
    s = made.suggestion
    return {
        "suggestion_id": s.id, "ticket_known": made.ticket_known, "abstained": s.abstained,
        "abstain_reason": s.abstain_reason, "ambiguous_between": s.ambiguous_between,
        "message": abstain_message(s) if s.abstained else None, "intent": s.intent, "confidence": s.confidence,
        "intent_model": s.intent_model,
        "notice": NOT_TRAINED_MESSAGE if s.intent_model == "not_trained" and not s.abstained else None,
        "tags": [t.model_dump() for t in s.tags], "draft": None if s.abstained else s.draft,
        "entities": [e.model_dump() for e in s.entities], "similar": [asdict(x) for x in made.similar],
        "model_version": s.model_version, "page": asdict(made.page) if made.page else None,
    }


@blueprint.post("/tickets/<external_id>/suggestion")
@panel
@rate_limited("suggest")
def suggestion(external_id: str):
    identity = _identity()
    body = _body(SuggestionRequest)
    made = panel_suggestion(current_app.extensions["deskloop"], identity.tenant, identity.helpdesk,
                            _domain(identity), external_id, body.text)
    return jsonify(panel_payload(made))


def _agent(identity: PanelIdentity, session: str | None) -> str | None:
    """The agent behind a report: the request's own identity, else a session of the same tenant
    the page passed along (an expired or foreign one names nobody; the report still counts)."""
    if identity.agent or not session:
        return identity.agent
    try:
        named = identity_for_session(current_app.extensions["deskloop"], session)
    except AccessDenied:
        return None
    return named.agent if (named.tenant, named.helpdesk) == (identity.tenant, identity.helpdesk) else None


@blueprint.post("/suggestions/<int:suggestion_id>/sent")
@panel
def sent(suggestion_id: int):
    identity = _identity()
    body = _body(SentRequest)
    signal, created = record_sent(current_app.extensions["deskloop"], identity.tenant,
                                  f"{identity.helpdesk}-panel", suggestion_id, body.text,
                                  _agent(identity, body.session), body.channel)
    return jsonify(signal_id=signal.id, kind=signal.kind, similarity=signal.payload.get("similarity"),
                   created=created), 201 if created else 200


@blueprint.post("/suggestions/<int:suggestion_id>/wrong")
@panel
def wrong(suggestion_id: int):
    identity = _identity()
    body = _body(WrongRequest)
    signal, created = record_wrong(current_app.extensions["deskloop"], identity.tenant,
                                   f"{identity.helpdesk}-panel", suggestion_id, identity.agent, body.intent,
                                   body.note)
    return jsonify(signal_id=signal.id, kind=signal.kind, created=created), 201 if created else 200
