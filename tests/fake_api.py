"""A local HTTP server that answers like a helpdesk's REST API, for the real client libraries.

Each helpdesk's test module builds a Flask app with the routes that helpdesk's API has (answering
from the integration's ``fixtures/api`` files) and serves it with :func:`serve`. The server is a
real socket on 127.0.0.1, so zenpy, python-freshdesk and python-intercom run unmodified: only the
address they are given differs.

:class:`FaultPlan` injects what real APIs do to clients: a 429 with ``Retry-After``, a 5xx. Every
request is recorded (method, path, query, JSON body) so tests can check what the client sent, and
:class:`FixtureBook` records which fixture files were served, so a test can check all were used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.serving import make_server


@dataclass
class Fault:
    """Answer the next request whose path starts with ``path_prefix`` with ``status``."""

    path_prefix: str
    status: int
    retry_after: int | None = None
    times: int = 1


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path_prefix: str, status: int, retry_after: int | None = None, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(path_prefix, status, retry_after, times))

    def take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None


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
        fault = plan.take(request.path)
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
