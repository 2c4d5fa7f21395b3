"""``/apps/intercom``: the Canvas Kit inbox app, Deskloop's suggestion in a conversation's details.

Intercom POSTs ``/initialize`` when a teammate opens a conversation and ``/submit`` when they
click a button; both answer with a card (:mod:`.canvas`). The teammate reads the suggested
intent and tags, edits the draft in place, and sends it as a reply or a note: Intercom gives an
inbox app no way to write into the teammate's composer, so Deskloop posts it through the REST
API as that teammate (``admin.id`` of the request), then records the draft-versus-sent signal.

Unlike a webhook, these requests do their work inline (a suggestion, an Intercom call): the
teammate is looking at the card and the answer is the result. So calls to Intercom get a short
leash (:data:`ATTEMPTS`, :data:`LONGEST_WAIT`, :data:`TIMEOUT`), and a failure is a card that
says what happened, never an HTTP error, which Intercom would show as a broken app.

Every request proves where it comes from before anything is read: the raw body's
``X-Body-Signature`` must verify with the ``client_secret`` of the tenant whose
``intercom_workspace_id`` (``deskloop tenant app NAME --set intercom_workspace_id=ID``) is the body's
``workspace_id``. Otherwise: 401 and no tenant data. A malformed request is a 400 with the reason.
The signature carries no timestamp, so a captured request could be replayed: a draft already
sent from this app is never posted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from core.errors import BadInput, NotFound
from core.events import BadSignature, MalformedPayload
from core.helpdesk.connections import connection
from core.helpdesk.contract import Connection
from core.ml.registry import ModelLoadError
from core.panel.access import tenant_with_setting
from core.panel.suggestions import (
    PanelSuggestion,
    panel_suggestion,
    record_sent,
    record_wrong,
    was_sent,
)
from core.runtime import Runtime
from core.web.access import signed
from core.web.errors import ApiError, validation_reason
from core.web.panel_api import NOT_TRAINED_MESSAGE, abstain_message
from integrations.intercom import canvas
from integrations.intercom.canvas import (
    CardState,
    InitializeRequest,
    SimilarTicket,
    SubmitRequest,
)
from integrations.intercom.errors import (
    IntercomError,
    IntercomNotFound,
    IntercomRateLimited,
    IntercomUnauthorized,
    IntercomUnavailable,
)

if TYPE_CHECKING:
    from integrations.intercom.client import IntercomClient

log = logging.getLogger(__name__)

PREFIX = "/apps/intercom"
#: The tenant setting naming the tenant's Intercom workspace.
WORKSPACE_SETTING = "intercom_workspace_id"
#: Keys the signals this app records (:func:`core.panel.suggestions.sent_event`).
ORIGIN = "intercom-inbox"
#: A teammate waits on every call: one retry at most, two seconds apart at most, ten seconds a request.
ATTEMPTS = 2
LONGEST_WAIT = 2.0
TIMEOUT = 10.0
NOT_ACCEPTED = (f"{canvas.SIGNATURE_HEADER} not accepted: the request is not signed by the Intercom app of a "
                "workspace connected to Deskloop")

blueprint = Blueprint("intercom_inbox_app", __name__, url_prefix=PREFIX)

Parsed = TypeVar("Parsed", bound=BaseModel)
Card = dict[str, Any]


def _verified(model: type[Parsed]) -> tuple[Runtime, Connection, Parsed]:
    """The tenant and the parsed request, once the raw body's signature is verified."""
    runtime = current_app.extensions["deskloop"]
    body = request.get_data(cache=True)
    signature = request.headers.get(canvas.SIGNATURE_HEADER)
    if not (signature or "").strip():
        raise ApiError(401, f"{canvas.SIGNATURE_HEADER} header missing")
    try:
        data = canvas.read_body(body)
        workspace = canvas.workspace_id(data)
    except MalformedPayload as exc:
        raise ApiError(400, f"malformed Canvas Kit request: {exc}") from None
    tenant = tenant_with_setting(runtime, "intercom", WORKSPACE_SETTING, workspace)
    if tenant is None:
        log.warning("intercom inbox app: request for workspace %r, which no tenant has", workspace)
        raise ApiError(401, NOT_ACCEPTED)
    try:
        conn = connection(runtime, tenant)
        canvas.verify(body, signature, conn.secrets.get("client_secret", ""))
    except (NotFound, BadSignature) as exc:
        log.warning("intercom inbox app for %s rejected: %s", tenant, exc)
        raise ApiError(401, NOT_ACCEPTED) from None
    try:
        return runtime, conn, model.model_validate(data)
    except ValidationError as exc:
        reason, field = validation_reason(exc)
        raise ApiError(400, f"malformed Canvas Kit request: {f'{field}: ' if field else ''}{reason}", field) from None


def _client(conn: Connection) -> IntercomClient:
    """Imported here: python-intercom loads on the first call, not when the web app starts."""
    from integrations.intercom.client import IntercomClient

    return IntercomClient(conn, attempts=ATTEMPTS, longest_wait=LONGEST_WAIT, timeout=TIMEOUT)


# -- initialize ------------------------------------------------------------------------------------

@blueprint.post("/initialize")
@signed
def initialize():
    runtime, conn, found = _verified(InitializeRequest)
    conversation = found.conversation_id
    if conversation is None:
        return jsonify(canvas.message_card("Deskloop works in the details of a conversation in the Inbox."))
    try:
        made = panel_suggestion(runtime, conn.tenant, "intercom", conn.domain, conversation,
                                fallback_text=found.first_customer_message())
    except NotFound:
        return jsonify(canvas.message_card(
            "Deskloop has not received this conversation yet and cannot read a customer message in it. "
            "Reopen it once the customer has written.", header="No suggestion yet"))
    except BadInput as exc:
        return jsonify(canvas.message_card(f"Deskloop cannot suggest for this conversation: {exc.reason}.", "error"))
    except ModelLoadError as exc:
        log.warning("intercom inbox app for %s: no model to suggest with: %s", conn.tenant, exc)
        return jsonify(canvas.message_card(
            "Deskloop has no trained model it can use for this workspace. An admin can train one with "
            "`deskloop train`; the server log says more.",
            header="No suggestion yet"))
    state = _card_state(made, conversation)
    if made.suggestion.abstained:
        return jsonify(canvas.abstention_card(state, abstain_message(made.suggestion)))
    notice = NOT_TRAINED_MESSAGE if made.suggestion.intent_model == "not_trained" else None
    return jsonify(canvas.suggestion_card(state, made.suggestion.draft, notice=notice, notice_style="muted",
                                          first=True))


def _card_state(made: PanelSuggestion, conversation: str) -> CardState:
    s = made.suggestion
    similar = [SimilarTicket(id=x.external_id, title=x.subject.strip() or f"Ticket {x.external_id}",
                             subtitle=f"{canvas.intent_label(x.intent)} · {canvas.percent(x.score)} similar",
                             url=x.url) for x in made.similar]
    # The panel's suggestion is a stored one, so it has its id.
    page = canvas.page_line(made.page.title, made.page.url, made.page.area, made.page.state) if made.page else None
    return CardState(suggestion_id=cast(int, s.id), conversation_id=conversation, intent=s.intent,
                     confidence=s.confidence, tags=[t.tag for t in s.tags], similar=similar, page=page)


# -- submit ----------------------------------------------------------------------------------------

Action = Callable[[Runtime, Connection, SubmitRequest, CardState], Card]
OUT_OF_DATE = "This card is out of date. Reopen the conversation for a fresh suggestion."


@blueprint.post("/submit")
@signed
def submit():
    runtime, conn, found = _verified(SubmitRequest)
    action = SUBMIT_ACTIONS.get(found.component_id)
    try:
        state = CardState.model_validate(found.stored_data)
    except ValidationError:
        state = None
    if action is None or state is None or found.conversation_id not in (None, state.conversation_id):
        log.info("intercom inbox app for %s: submit %r on a card this version does not know",
                 conn.tenant, found.component_id)
        return jsonify(canvas.message_card(OUT_OF_DATE, "error"))
    return jsonify(action(runtime, conn, found, state))


def _send(channel: Literal["reply", "note"]) -> Action:
    def send(runtime: Runtime, conn: Connection, found: SubmitRequest, state: CardState) -> Card:
        text = found.input_text(canvas.DRAFT) or ""
        if not text.strip():
            return canvas.suggestion_card(state, text, f"Write the {channel} before sending it.", "error",
                                          draft_error=True)
        if was_sent(runtime, conn.tenant, ORIGIN, state.suggestion_id):
            return canvas.sent_card(channel, None, recorded=False)
        try:
            _client(conn).reply_as_admin(state.conversation_id, found.admin.id, text, note=channel == "note")
        except IntercomError as exc:
            log.warning("intercom inbox app for %s: %s on %s failed: %s", conn.tenant, channel,
                        state.conversation_id, exc)
            return canvas.suggestion_card(state, text, _failure(channel, exc), "error")
        try:
            signal, created = record_sent(runtime, conn.tenant, ORIGIN, state.suggestion_id, text,
                                          actor=found.admin.id, channel=channel)
        except BadInput as exc:  # sent all the same; only the lesson is lost
            log.warning("intercom inbox app for %s: %s sent but not recorded: %s", conn.tenant, channel, exc)
            return canvas.sent_card(channel, None, recorded=False)
        similarity = signal.payload.get("similarity") if signal.kind == "draft_edited" else None
        return canvas.sent_card(channel, similarity, recorded=created)

    return send


def _apply_tags(runtime: Runtime, conn: Connection, found: SubmitRequest, state: CardState) -> Card:
    draft = found.input_text(canvas.DRAFT)
    if not state.tags:
        return canvas.suggestion_card(state, draft, "Deskloop suggested no tags for this conversation.", "muted")
    try:
        _client(conn).apply_tags(state.conversation_id, state.tags)
    except IntercomError as exc:
        log.warning("intercom inbox app for %s: tagging %s failed: %s", conn.tenant, state.conversation_id, exc)
        return canvas.suggestion_card(state, draft, _failure("tags", exc), "error")
    return canvas.suggestion_card(state, draft, "Tags applied: " + canvas.plain(", ".join(state.tags)),
                                  tags_applied=True)


def _wrong(runtime: Runtime, conn: Connection, found: SubmitRequest, state: CardState) -> Card:
    try:
        record_wrong(runtime, conn.tenant, ORIGIN, state.suggestion_id, actor=found.admin.id)
    except BadInput as exc:  # the suggestion is gone (a restored database): the card is stale
        log.warning("intercom inbox app for %s: wrong not recorded: %s", conn.tenant, exc)
        return canvas.message_card(OUT_OF_DATE, "error")
    return canvas.wrong_card()


SUBMIT_ACTIONS: dict[str, Action] = {
    canvas.SEND_REPLY: _send("reply"),
    canvas.ADD_NOTE: _send("note"),
    canvas.APPLY_TAGS: _apply_tags,
    canvas.WRONG: _wrong,
}


def _failure(what: Literal["reply", "note", "tags"], exc: IntercomError) -> str:
    """What the teammate reads when Intercom did not do it (the log has Intercom's own words)."""
    doing = {"reply": "send the reply", "note": "add the note", "tags": "apply the tags"}[what]
    status = f" (HTTP {exc.status})" if exc.status else ""
    if isinstance(exc, IntercomUnauthorized):
        why = f"Intercom refused Deskloop's access token{status}; an admin needs to check the app's access."
    elif isinstance(exc, IntercomNotFound):
        why = f"Intercom does not know this conversation{status}."
    elif isinstance(exc, IntercomRateLimited):
        why = "Intercom asked Deskloop to slow down; try again in a minute."
    elif isinstance(exc, IntercomUnavailable) and what != "tags":
        why = (f"Intercom did not confirm it{status}. Check the conversation before trying again: "
               "it may have gone through.")
    else:
        why = f"Intercom did not accept it{status}; try again."
    return f"Could not {doing}. {why}" + ("" if what == "tags" else " Deskloop recorded nothing.")
