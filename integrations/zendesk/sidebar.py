"""The Zendesk ticket sidebar: the page Zendesk opens beside a ticket, served by Deskloop.

Zendesk POSTs the page with its signed-URL token (see :mod:`.signed_urls`). Only after the token
verifies does the page get a panel session, which its requests to ``/apps/api`` carry; a missing,
forged or expired token gets a 401 page that names no tenant. The query string (``origin``,
``app_guid``) stays as Zendesk sent it, because ``ZAFClient.init()`` reads it.

The reply the agent sends is reported at ``ticket.save`` through Zendesk's request proxy with the
app's secure ``deskloop_app_token`` parameter (``static/sidebar.js``): the save can come hours
after the page loaded, and the proxy keeps the token out of the browser. The page's session
rides along in the body, so the signal names the agent while the session is valid.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, request

from core.helpdesk.accounts import ACCOUNT, holder
from core.helpdesk.connections import connection
from core.helpdesk.contract import Connection
from core.panel.access import AccessDenied, issue_session
from core.runtime import Runtime
from core.web.access import panel
from core.web.errors import MISCONFIGURED_RETRY_AFTER
from core.web.headers import allow_framing
from core.web.panel_api import PREFIX as PANEL_API_PREFIX
from integrations.zendesk.account import account_host
from integrations.zendesk.signed_urls import (
    AppNotConfigured,
    KeyUnavailable,
    identity_from_claims,
    unverified_issuer,
    verify_token,
)

log = logging.getLogger(__name__)

#: The ZAF SDK Zendesk serves; the sidebar page loads it as every ZAF app does.
ZAF_SDK_ORIGIN = "https://static.zdassets.com"
ZAF_SDK_URL = f"{ZAF_SDK_ORIGIN}/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"

blueprint = Blueprint("zendesk_sidebar", __name__, url_prefix="/apps/zendesk", template_folder="templates",
                      static_folder="static", static_url_path="/static")


def _tenant_for_account(runtime: Runtime, host: str) -> Connection:
    """The tenant holding the account (one indexed read: :mod:`core.helpdesk.accounts`)."""
    with runtime.db.admin_session() as session:
        slug = holder(session, "zendesk", ACCOUNT, account_host(host))
    if slug is None:
        raise AccessDenied(f"no tenant is connected to the Zendesk account {host}")
    return connection(runtime, slug)


def _unavailable(reason: str, retry_after: int):
    """503: the page cannot be verified for a reason of ours (or Zendesk's), never the agent's."""
    allow_framing(["https://*.zendesk.com"])
    body = render_template("zendesk_sidebar_refused.html", reason=reason)
    return body, 503, {"Cache-Control": "no-store", "Retry-After": str(retry_after)}


def _refused(reason: str):
    """401, with a page that says what to do and nothing about any tenant. It holds no data, so any
    Zendesk account may frame it: the agent then reads the reason instead of a blank frame."""
    allow_framing(["https://*.zendesk.com"])
    body = render_template("zendesk_sidebar_refused.html", reason=reason)
    return body, 401, {"Cache-Control": "no-store"}


@blueprint.route("/sidebar", methods=["GET", "POST"])
@panel
def sidebar():
    runtime = current_app.extensions["deskloop"]
    token = request.form.get("token") if request.method == "POST" else None
    if not token:
        return _refused("Open Deskloop from a ticket in Zendesk: this page needs the token Zendesk signs it with.")
    try:
        conn = _tenant_for_account(runtime, unverified_issuer(token))
        claims = verify_token(token, conn)
    except AppNotConfigured as exc:
        log.error("Zendesk sidebar cannot verify tokens: %s", exc)
        return _unavailable("Deskloop's Zendesk app is not set up completely yet. Ask your Deskloop admin to "
                            "finish its setup, then reload the ticket.", MISCONFIGURED_RETRY_AFTER)
    except KeyUnavailable as exc:
        log.warning("Zendesk sidebar: %s", exc)  # logged as an error once, when the fetch failed
        return _unavailable("Deskloop cannot reach Zendesk to check this page's signature right now. Reload "
                            "the ticket in a minute.", exc.retry_after)
    except AccessDenied as exc:
        log.warning("Zendesk sidebar refused: %s", exc)  # the reason, never the token
        return _refused("Zendesk's signature on this page could not be verified. Reload the ticket; if this "
                        "persists, ask your Deskloop admin to check the app's setup.")
    session = issue_session(runtime, identity_from_claims(conn.tenant, claims))
    allow_framing([f"https://{account_host(conn.domain)}"], scripts=(ZAF_SDK_ORIGIN,))
    page = render_template("zendesk_sidebar.html", session=session, zaf_sdk_url=ZAF_SDK_URL,
                           api_base=request.script_root + PANEL_API_PREFIX)
    return page, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
