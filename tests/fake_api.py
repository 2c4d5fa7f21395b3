"""A local HTTP server that answers like a helpdesk's REST API, for the real client libraries.

Each helpdesk's test module builds a Flask app with the routes that helpdesk's API has (answering
from the integration's ``fixtures/api`` files) and serves it with :func:`serve`. The server is a
real socket on 127.0.0.1, so zenpy, python-freshdesk and python-intercom run unmodified: only the
address they are given differs.

:class:`FaultPlan` injects what real APIs do to clients: a 429 with ``Retry-After``, a 5xx. Every
request is recorded (method, path, query, JSON body) so tests can check what the client sent, and
:class:`FixtureBook` records which fixture files were served, so a test can check all were used.

:class:`Sorting` says, in plain values, how a generated ticket is sorted in the fake helpdesk
(type, group, form, custom fields, tags); each fake writes it in its vendor's shape (groups and
forms by id, their names in the account's lists), so a test can build a "helpdesk-shaped"
history whose labels live where that helpdesk keeps them. :class:`Content` says what a generated
ticket says (subject, the customer's message, the agent's public reply, status, requester,
channel); each fake writes it where that helpdesk keeps it, so a test can serve a history whose
tickets read differently, one from another, instead of the fixture's one conversation.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flask import Flask, Response, request
from werkzeug.serving import make_server


@dataclass
class Fault:
    """Answer the next request whose path starts with ``path_prefix`` (and whose method is
    ``method``, when given) with ``status``."""

    path_prefix: str
    status: int
    retry_after: int | None = None
    times: int = 1
    method: str | None = None


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path_prefix: str, status: int, retry_after: int | None = None, times: int = 1,
            method: str | None = None) -> None:
        with self.lock:
            self.faults.append(Fault(path_prefix, status, retry_after, times, method))

    def take(self, path: str, method: str | None = None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.times > 0 and fault.method in (None, method):
                    fault.times -= 1
                    return fault
        return None


@dataclass(frozen=True)
class Sorting:
    """How one generated ticket is sorted. ``None`` (or an empty map) keeps what the fixture
    template says. ``group`` and ``form`` are names: the fake gives a new name an id and lists it
    with the account's groups or forms. ``custom_fields`` are merged into the template's, keyed
    as the vendor keys them (Zendesk field ids, Freshdesk ``cf_`` names, Intercom attribute names)."""

    ticket_type: str | None = None
    group: str | None = None
    form: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None


#: What a fake's ``make_app(sorting=...)`` takes: a function of the ticket's number, or a map
#: from number to its sorting (numbers it does not name keep the template's).
SortingSource = Callable[[int], Sorting | None] | Mapping[int, Sorting] | None


def sorting_for(source: SortingSource, number: int) -> Sorting:
    if source is None:
        return Sorting()
    found = source.get(number) if isinstance(source, Mapping) else source(number)
    return found or Sorting()


@dataclass(frozen=True)
class Content:
    """What one generated ticket says, in plain values; a ticket without one keeps the fixture
    template's conversation. With one, the ticket is the customer's message and, when
    ``agent_reply`` is set, one public reply from the fixture's agent: the template's private
    note and follow-ups are left out, since they would make every ticket read alike.

    ``status`` is written in the vendor's vocabulary (Zendesk ``open``/``solved``/``closed``,
    Freshdesk 2/4/5, Intercom ``open``/``closed``); ``channel`` too (Zendesk ``via.channel``,
    Freshdesk's ``source`` code, Intercom's ``source.type``); ``None`` keeps the template's."""

    customer_message: str
    subject: str = ""
    agent_reply: str | None = None
    status: Literal["open", "solved", "closed"] = "solved"
    requester_name: str | None = None
    channel: Literal["email", "web", "chat"] | None = None

    def requester_email(self, number: int) -> str | None:
        """An address for the requester, unique per ticket (``None`` without a name)."""
        if not self.requester_name:
            return None
        return f"{'.'.join(self.requester_name.lower().split())}+{number}@example.com"


#: What a fake's ``make_app(content=...)`` takes, keyed like :data:`SortingSource`.
ContentSource = Callable[[int], Content | None] | Mapping[int, Content] | None


def content_for(source: ContentSource, number: int) -> Content | None:
    if source is None:
        return None
    return source.get(number) if isinstance(source, Mapping) else source(number)


def html_paragraphs(text: str) -> str:
    """Plain text as the HTML helpdesks store message bodies in: a paragraph per blank-line
    separated block, line breaks kept."""
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks)


class NamedIds:
    """The ids a fake account gives group or form names: the fixture's own first, then a new id
    (``base`` + n) for each new name, in the order they are first asked for."""

    def __init__(self, known: Mapping[str, int], base: int) -> None:
        self.ids: dict[str, int] = dict(known)
        self._next = base
        self._lock = threading.Lock()

    def id_for(self, name: str) -> int:
        with self._lock:
            if name not in self.ids:
                self._next += 1
                self.ids[name] = self._next
            return self.ids[name]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    json: object | None
    headers: dict[str, str]


class FixtureBook:
    """Reads fixture files by name and remembers which were read."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()

    def load(self, name: str):
        self.used.add(name)
        return json.loads((self.directory / name).read_text())

    def unused(self) -> set[str]:
        return {p.name for p in self.directory.glob("*.json")} - self.used


def instrument(app: Flask) -> tuple[FaultPlan, list[Recorded]]:
    """Add fault injection and request recording to ``app`` (before its own routes run)."""
    plan, log = FaultPlan(), []

    @app.before_request
    def _record_and_fault():
        log.append(Recorded(request.method, request.path, dict(request.args), request.get_json(silent=True),
                            dict(request.headers)))
        fault = plan.take(request.path, request.method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return Response(json.dumps({"error": f"injected {fault.status}"}), fault.status, headers,
                            content_type="application/json")
        return None

    return plan, log


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
