"""Linear's GraphQL API over ``requests``: ``POST {"query", "variables"}`` with
``Authorization: <API key>`` (linear.app/developers).

Linear reports some failures with HTTP 200 and an ``errors`` list, so every answer's ``errors``
is checked. Rate limits come as HTTP 429, or as HTTP 400 with ``extensions.code`` ``RATELIMITED``
(type ``ratelimited``) and ``X-RateLimit-Requests-Reset`` in epoch milliseconds (or
``Retry-After`` in seconds): a short wait is taken here once; a longer one becomes
:class:`NotifierRateLimited`, which the listener job's backoff retries. Messages carry Linear's
error text, never the key.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from core.notify.contract import (
    NotifierError,
    NotifierRateLimited,
    NotifierRejected,
    NotifierUnauthorized,
    NotifierUnavailable,
)
from core.notify.store import Notifier

ENDPOINT = "https://api.linear.app/graphql"
#: The longest rate-limit wait taken inside a call; longer waits go back to the job's backoff.
MAX_WAIT_SECONDS = 5.0

ISSUE_FIELDS = "id identifier url"


class LinearClient:
    def __init__(self, notifier: Notifier, timeout: float = 15) -> None:
        self._endpoint = notifier.settings.get("api_url") or ENDPOINT
        self._session = requests.Session()
        self._session.headers.update({"Authorization": notifier.secrets["api_key"],
                                      "Content-Type": "application/json"})
        self._timeout = timeout

    def user_id(self, email: str) -> str | None:
        data = self.query("query($e: String!) { users(filter: {email: {eq: $e}}) { nodes { id } } }", {"e": email})
        nodes = data["users"]["nodes"]
        return nodes[0]["id"] if nodes else None

    def create_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        data = self.query("mutation($i: IssueCreateInput!) { issueCreate(input: $i) { success issue { "
                          + ISSUE_FIELDS + " } } }", {"i": fields})
        return _succeeded(data, "issueCreate")["issue"]

    def update_issue(self, issue_id: str, fields: dict[str, Any]) -> None:
        data = self.query("mutation($id: String!, $i: IssueUpdateInput!) { issueUpdate(id: $id, input: $i) { "
                          "success } }", {"id": issue_id, "i": fields})
        _succeeded(data, "issueUpdate")

    def issue(self, issue_id: str) -> dict[str, Any] | None:
        try:
            found = self.query("query($id: String!) { issue(id: $id) { " + ISSUE_FIELDS + " } }", {"id": issue_id})
        except NotifierRejected:  # Linear answers an unknown id with an "Entity not found" error
            return None
        return found["issue"]

    def create_comment(self, comment_id: str, issue_id: str, body: str) -> None:
        data = self.query("mutation($i: CommentCreateInput!) { commentCreate(input: $i) { success comment { id } } }",
                          {"i": {"id": comment_id, "issueId": issue_id, "body": body}})
        _succeeded(data, "commentCreate")

    def comment_exists(self, comment_id: str) -> bool:
        try:
            found = self.query("query($id: String!) { comment(id: $id) { id } }", {"id": comment_id})
        except NotifierRejected:
            return False
        return found["comment"] is not None

    def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                answer = self._session.post(self._endpoint, json={"query": query, "variables": variables},
                                            timeout=self._timeout)
            except requests.RequestException as exc:
                raise NotifierUnavailable(f"linear could not be reached: {type(exc).__name__}") from None
            try:
                body = answer.json()
            except ValueError:
                body = {}
            error = _error(answer, body if isinstance(body, dict) else {})
            if error is None:
                return body["data"]
            if isinstance(error, NotifierRateLimited) and attempt == 1 and (error.retry_after or 0) <= MAX_WAIT_SECONDS:
                time.sleep(error.retry_after or 1)
                continue
            raise error
        raise AssertionError("unreachable")


def _succeeded(data: dict[str, Any], mutation: str) -> dict[str, Any]:
    result = data.get(mutation) or {}
    if not result.get("success"):
        raise NotifierRejected(f"linear's {mutation} did not succeed")
    return result


def _error(answer: requests.Response, body: dict[str, Any]) -> NotifierError | None:
    errors = body.get("errors") or []
    status = answer.status_code
    if status == 200 and not errors and isinstance(body.get("data"), dict):
        return None
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") or {}
    code = str(extensions.get("code") or "").upper()
    kind = str(extensions.get("type") or "").lower()
    message = f"linear answered {status}: {str(first.get('message') or 'no message')[:200]}"
    if status == 429 or code == "RATELIMITED" or kind == "ratelimited":
        return NotifierRateLimited(message, status, _retry_after(answer))
    if status in (401, 403) or code == "AUTHENTICATION_ERROR" or kind == "authentication error":
        return NotifierUnauthorized(message, status)
    if status >= 500:
        return NotifierUnavailable(message, status)
    return NotifierRejected(message, status)


def _retry_after(answer: requests.Response) -> float | None:
    """Seconds to wait: ``Retry-After``, else the requests bucket's reset (epoch ms)."""
    header = answer.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    reset = answer.headers.get("X-RateLimit-Requests-Reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) / 1000 - time.time())
    return None
