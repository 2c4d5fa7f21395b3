"""A local server that answers Linear's GraphQL API in its documented shapes (linear.app/developers).

It reads just enough of each query to answer: ``users(filter: {email: {eq}})``, ``issueCreate``
(honouring the client's own ``id``; a reused id is refused with an ``errors`` entry, which is our
guess at Linear's answer), ``issueUpdate``, ``issue(id)``, ``commentCreate`` (own ``id`` too) and
``comment(id)``. Success is ``{"data": {...}}``; failures are ``{"errors": [{"message",
"extensions": {"type", "code", "userError"}}]}``: 401 for a wrong key, 400 ``RATELIMITED`` with
the ``X-RateLimit-*`` headers (reset in epoch milliseconds), 5xx on request (``fail(status,
times)``), and HTTP 200 with only ``errors`` (``fail("invalid", operation=...)``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from tests.fake_api import serve

API_KEY = "lin_api_test_secret_key_0000"


@dataclass
class FakeLinear:
    users: dict[str, str] = field(default_factory=lambda: {"owner@acme.test": "user-owner"})
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)
    faults: list[tuple[str, int, str | None]] = field(default_factory=list)  # (kind, times, operation or any)
    url: str = ""

    def rate_limit(self, times: int = 1) -> None:
        self.faults.append(("ratelimited", times, None))

    def fail(self, status: int | str, times: int = 1, operation: str | None = None) -> None:
        self.faults.append((str(status), times, operation))


def _error(status: int, message: str, kind: str, code: str, headers: dict[str, str] | None = None):
    body = {"errors": [{"message": message, "extensions": {"type": kind, "code": code, "userError": True,
                                                           "userPresentableMessage": message}}]}
    return jsonify(body), status, headers or {}


def _app(state: FakeLinear) -> Flask:
    app = Flask("fake_linear")

    @app.post("/graphql")
    def graphql():
        query, variables = request.json["query"], request.json.get("variables") or {}
        operation = next(op for op in ("issueCreate", "issueUpdate", "commentCreate", "users(", "issue(", "comment(")
                         if op in query)
        state.operations.append(operation)
        if state.faults and state.faults[0][2] in (None, operation):
            kind, times, only = state.faults[0]
            state.faults[0] = (kind, times - 1, only)
            if times - 1 <= 0:
                state.faults.pop(0)
            if kind == "ratelimited":
                reset = str(int((time.time() + 1) * 1000))
                return _error(400, "Rate limit exceeded", "ratelimited", "RATELIMITED",
                              {"X-RateLimit-Requests-Limit": "5000", "X-RateLimit-Requests-Remaining": "0",
                               "X-RateLimit-Requests-Reset": reset})
            if kind == "invalid":  # GraphQL's way: HTTP 200, no data, an errors entry
                return _error(200, "Argument Validation Error: teamId must be a UUID", "invalid input", "INVALID_INPUT")
            return _error(int(kind), "Internal server error", "internal error", "INTERNAL_ERROR")
        if request.headers.get("Authorization") != API_KEY:
            return _error(401, "Authentication required, not authenticated", "authentication error",
                          "AUTHENTICATION_ERROR")
        if operation == "users(":
            found = state.users.get(variables["e"])
            return jsonify(data={"users": {"nodes": [{"id": found}] if found else []}})
        if operation == "issueCreate":
            fields = variables["i"]
            if fields["id"] in state.issues:
                return _error(200, "Entity already exists", "invalid input", "INVALID_INPUT")
            number = len(state.issues) + 1
            issue = {"id": fields["id"], "identifier": f"OPS-{number}", "url": f"https://linear.app/acme/issue/OPS-{number}",
                     "fields": fields}
            state.issues[fields["id"]] = issue
            return jsonify(data={"issueCreate": {"success": True, "lastSyncId": number, "issue": _public(issue)}})
        if operation == "issueUpdate":
            issue = state.issues.get(variables["id"])
            if issue is None:
                return _error(200, "Entity not found", "invalid input", "INVALID_INPUT")
            issue["fields"].update(variables["i"])
            return jsonify(data={"issueUpdate": {"success": True, "lastSyncId": 2, "issue": _public(issue)}})
        if operation == "issue(":
            issue = state.issues.get(variables["id"])
            if issue is None:
                return _error(200, "Entity not found", "invalid input", "INVALID_INPUT")
            return jsonify(data={"issue": _public(issue)})
        if operation == "commentCreate":
            fields = variables["i"]
            if fields["id"] in state.comments:
                return _error(200, "Entity already exists", "invalid input", "INVALID_INPUT")
            if fields["issueId"] not in state.issues:
                return _error(200, "Entity not found: Issue", "invalid input", "INVALID_INPUT")
            state.comments[fields["id"]] = fields
            return jsonify(data={"commentCreate": {"success": True, "lastSyncId": 1, "comment": {"id": fields["id"]}}})
        found = state.comments.get(variables["id"])
        if found is None:
            return _error(200, "Entity not found", "invalid input", "INVALID_INPUT")
        return jsonify(data={"comment": {"id": found["id"]}})

    return app


def _public(issue: dict[str, Any]) -> dict[str, Any]:
    return {k: issue[k] for k in ("id", "identifier", "url")}


@contextmanager
def fake_linear() -> Iterator[FakeLinear]:
    state = FakeLinear()
    with serve(_app(state)) as url:
        state.url = url + "/graphql"
        yield state
