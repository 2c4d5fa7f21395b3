"""A local server that answers like Slack's Web API (docs.slack.dev), for slack-sdk unmodified.

``chat.postMessage`` answers 200 ``{"ok": true, "channel", "ts", "message"}`` with a ts per
message (epoch seconds and a sequence, as Slack's) and keeps its metadata; ``chat.update``
replaces the message at ``channel``+``ts``; ``users.lookupByEmail`` names known users;
``conversations.history`` lists a channel's messages since ``oldest``, newest first, with their
metadata when ``include_all_metadata`` is set. A wrong token is ``{"ok": false, "error":
"invalid_auth"}`` with HTTP 200, as Slack answers it; ``rate_limit(method, times)`` answers 429
with ``Retry-After: 1`` and ``{"ok": false, "error": "ratelimited"}``. JSON and form bodies are
both accepted.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from tests.fake_api import serve

TOKEN = "xoxb-test-0000-secret-token"


@dataclass
class FakeSlack:
    users: dict[str, str] = field(default_factory=lambda: {"owner@acme.test": "U0OWNER"})
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    limited: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def rate_limit(self, method: str, times: int = 1) -> None:
        self.limited[method] = times


def _app(state: FakeSlack) -> Flask:
    app = Flask("fake_slack")
    numbers = itertools.count(100)

    def body() -> dict[str, Any]:
        return request.get_json(silent=True) or request.values.to_dict()

    @app.post("/api/<method>")
    @app.get("/api/<method>")
    def call(method: str):
        state.calls.append(method)
        if state.limited.get(method, 0) > 0:
            state.limited[method] -= 1
            return jsonify(ok=False, error="ratelimited"), 429, {"Retry-After": "1"}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return jsonify(ok=False, error="invalid_auth")
        data = body()
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(numbers):06d}"  # Slack's ts: epoch seconds, then a sequence
            message = {"text": data.get("text"), "blocks": data.get("blocks"), "ts": ts,
                       "metadata": data.get("metadata")}
            state.messages[(data["channel"], ts)] = message
            return jsonify(ok=True, channel=data["channel"], ts=ts, message=message)
        if method == "chat.update":
            key = (data["channel"], data["ts"])
            if key not in state.messages:
                return jsonify(ok=False, error="message_not_found")
            state.messages[key] = {**state.messages[key], "text": data.get("text"), "blocks": data.get("blocks")}
            return jsonify(ok=True, channel=data["channel"], ts=data["ts"], text=data.get("text"))
        if method == "conversations.history":
            with_metadata = str(data.get("include_all_metadata", "")).lower() in ("1", "true")
            found = [{"type": "message", "ts": m["ts"], "text": m["text"],
                      **({"metadata": m["metadata"]} if with_metadata and m.get("metadata") else {})}
                     for (channel, ts), m in sorted(state.messages.items(), reverse=True)
                     if channel == data.get("channel") and float(ts) >= float(data.get("oldest") or 0)]
            return jsonify(ok=True, messages=found, has_more=False)
        if method == "users.lookupByEmail":
            user = state.users.get(data.get("email", ""))
            return jsonify(ok=True, user={"id": user}) if user else jsonify(ok=False, error="users_not_found")
        return jsonify(ok=False, error="unknown_method")

    return app


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    state = FakeSlack()
    with serve(_app(state)) as url:
        state.url = url + "/api/"
        yield state
