"""Slack's Web API through slack-sdk, its failures turned into :mod:`core.notify.contract` errors.

slack-sdk retries connection errors only by default; :class:`RateLimitErrorRetryHandler` waits
out a 429's ``Retry-After`` in the call (twice at most), after which the 429 becomes
:class:`NotifierRateLimited` and the listener job's backoff takes over. Slack answers most
errors with HTTP 200 and ``{"ok": false, "error": …}``; the SDK raises :class:`SlackApiError`
for those too. Error messages carry Slack's error code, never the token.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from core.notify.contract import (
    NotifierError,
    NotifierRateLimited,
    NotifierRejected,
    NotifierUnauthorized,
    NotifierUnavailable,
)
from core.notify.store import Notifier

log = logging.getLogger(__name__)

#: The message metadata type Deskloop's alerts carry (docs.slack.dev "message metadata").
METADATA_EVENT = "deskloop_incident"

#: Slack's error codes that mean the token is wrong, revoked or lacks a scope.
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                         "missing_scope", "no_permission", "ekm_access_denied"})


class SlackClient:
    def __init__(self, notifier: Notifier, timeout: int = 15) -> None:
        self._web = WebClient(token=notifier.secrets["bot_token"], timeout=timeout,
                              base_url=notifier.settings.get("api_url") or WebClient.BASE_URL,
                              retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(2)])

    def post(self, channel: str, message: dict[str, Any], incident_id: str) -> tuple[str, str]:
        """Post, tagged with the incident in the message's metadata (:meth:`find_posted`); the
        channel id and ts Slack answers with (what :meth:`update` needs)."""
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"incident_id": incident_id}}
        answer = self._call(lambda: self._web.chat_postMessage(channel=channel, metadata=metadata, **message))
        return str(answer["channel"]), str(answer["ts"])

    def find_posted(self, channel: str, incident_id: str, since: float) -> str | None:
        """The ts of the incident's message posted since ``since`` (epoch seconds), when an earlier
        try posted it but could not record it. Needs the ``channels:history`` scope; without it
        (or when Slack says nothing) ``None``, and the caller posts."""
        try:
            answer = self._call(lambda: self._web.conversations_history(
                channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=200))
        except (NotifierRejected, NotifierUnauthorized) as exc:
            log.warning("slack could not list the channel's recent messages (%s); posting again", exc)
            return None
        for message in answer.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("incident_id") == incident_id):
                return str(message["ts"])
        return None

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        self._call(lambda: self._web.chat_update(channel=channel, ts=ts, **message))

    def mention(self, email: str | None) -> str | None:
        """``<@U…>`` for the owner's email, or the email itself when Slack cannot say (the
        ``users:read.email`` scope is optional)."""
        from integrations.slack.message import escape

        if not email:
            return None
        try:
            answer = self._call(lambda: self._web.users_lookupByEmail(email=email))
        except (NotifierRejected, NotifierUnauthorized) as exc:
            log.info("slack could not name the owner (%s); mentioning the email instead", exc)
            return escape(email)
        return f"<@{answer['user']['id']}>"

    def _call(self, call) -> Any:
        try:
            return call()
        except SlackApiError as exc:
            raise _error(exc) from None  # the SDK's exception holds the request, headers included
        except OSError as exc:  # urllib's URLError, timeouts, refused connections
            raise NotifierUnavailable(f"slack could not be reached: {type(exc).__name__}") from None


def _error(exc: SlackApiError) -> NotifierError:
    response = exc.response
    status = response.status_code
    code = (response.data or {}).get("error") if isinstance(response.data, dict) else None
    message = f"slack answered {status} {code or ''}".strip()
    if status == 429 or code == "ratelimited":
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        return NotifierRateLimited(message, status, float(retry_after) if retry_after else None)
    if status in (401, 403) or code in AUTH_ERRORS:
        return NotifierUnauthorized(message, status)
    if status >= 500 or code in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return NotifierUnavailable(message, status)
    return NotifierRejected(message, status)
