"""Log lines a person reads at a terminal, or one JSON object each for a log pipeline.

The command line and ``deskloop serve`` keep the human format; production processes (the Procfile's
``web``, ``worker`` and ``scheduler``) write JSON, so a log store can filter on fields instead of
parsing prose. Each JSON line carries the request id of the request (or of the job the request
enqueued) it belongs to, and the route and tenant slug when known, taken from
:data:`log_context`: one id follows a webhook from the web process into the worker that applies it.

What a line says is the caller's message: no field here reads a request's body, headers or query
(the request id excepted, and only when it matches :data:`REQUEST_ID`), so nothing a customer or
helpdesk sent reaches the log through this module.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, cast

from core.errors import BadInput

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
OURS = "deskloop_handler"

#: Fields bound to the current request or job: ``request_id``, ``tenant``, ``route``, ``job_id``.
#: A ContextVar, so each of gunicorn's threads and each job sees its own.
log_context: ContextVar[Mapping[str, str]] = ContextVar("deskloop_log_context",
                                                   default=MappingProxyType({}))

#: An incoming ``X-Request-ID`` is kept only when it is this: short, and characters a log store,
#: a header and a shell all take as they are (no spaces, quotes, newlines or markup).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id_from(header: str | None) -> str:
    """The caller's request id when well-formed (a proxy or load balancer chose it, and its own logs
    name it), else a fresh random one."""
    if header is not None and REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Add ``fields`` (those not None) to every log line written inside the block."""
    token = log_context.set({**log_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        log_context.reset(token)


def bind(**fields: str | None) -> None:
    """Add ``fields`` for the rest of the current context (a request: the web layer clears it at the end)."""
    log_context.set({**log_context.get(), **{k: v for k, v in fields.items() if v is not None}})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
    bound context fields, and ``exception`` with the traceback when there is one. The standard
    library's formatter suffices; a JSON logging package would add a dependency for these lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **log_context.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def parse_format(raw: str | None) -> LogFormat:
    """``DESKLOOP_LOG_FORMAT``'s value; unset means ``text``."""
    value = (raw or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise BadInput(f"DESKLOOP_LOG_FORMAT must be text or json, not {raw!r}")
    return cast(LogFormat, value)  # checked against LOG_FORMATS just above


def configure(log_format: LogFormat, level: int = logging.INFO) -> None:
    """One handler on the root logger, to stderr, in ``log_format``; every library's records go
    through it. Libraries that log a line (or a body) per HTTP call are held at warnings."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, OURS, False)]:
        root.removeHandler(old)
    if log_format == "text" and root.handlers:
        root.setLevel(level)  # someone else prints records already (a test runner): as basicConfig does
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(log_format))
        setattr(handler, OURS, True)
        root.addHandler(handler)
        root.setLevel(level)
    # A line per HTTP request drowns a backfill, and zenpy's debug lines spell out request bodies (notes, drafts).
    # Werkzeug's own request lines (`deskloop serve`) spell out paths, which can name a customer's account
    # (/insights/accounts/<account>); each request logs its route instead (core.web.request_context).
    for chatty in ("alembic", "httpx", "httpcore", "urllib3", "zenpy", "werkzeug"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
