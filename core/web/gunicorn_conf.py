"""gunicorn's settings for the Procfile's ``web`` process (``gunicorn --config python:core.web.gunicorn_conf``).

Metrics: each worker is its own process, and a scrape reaches one of them, so every worker writes
its counts to a file in ``PROMETHEUS_MULTIPROC_DIR`` and the scrape adds them up. The directory must
be known before a worker imports prometheus-client, hence here, at configuration time: the
environment's value, else ``<DESKLOOP_HOME>/metrics``. It is emptied when gunicorn starts (files of
an earlier run would count again) and a worker that exits is marked dead, so its live gauges go
and its counters stay counted. One gunicorn per directory: two sharing one would empty each other's.

Logs: one JSON object per line (:class:`core.logs.JsonFormatter`), gunicorn's own lines included,
unless ``DESKLOOP_LOG_FORMAT=text``. Each request writes one line itself (route, status, time), so
gunicorn's access log stays off (:class:`NoAccessLog`).
"""

from __future__ import annotations

import os
from pathlib import Path

from gunicorn.glogging import Logger  # type: ignore[import-untyped]  # gunicorn ships no type hints

from core.config import Settings
from core.logs import TEXT_FORMAT, parse_format

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir() -> Path:
    """The multiprocess directory, set in the environment for the workers gunicorn forks."""
    chosen = os.environ.get(MULTIPROC_ENV)
    folder = Path(chosen) if chosen else Settings.from_env().metrics_dir
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def _logging(log_format: str) -> dict:
    formatter = {"()": "core.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    quiet = {name: {"level": "WARNING"} for name in ("alembic", "httpx", "httpcore", "urllib3", "zenpy")}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"deskloop": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "deskloop",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            **quiet,
        },
    }


class NoAccessLog(Logger):
    """gunicorn's logger without its access log. gunicorn turns the access log on whenever a
    logging configuration is given (``logconfig_dict`` below), and its line spells out the raw path
    (which can name a customer's account) and the client's address: every request was logged twice,
    once without either, and gunicorn gathered every environ variable and header for the second
    line (a tenth of a webhook delivery's CPU at hundreds a second)."""

    def _compute_access_log_enabled(self) -> bool:
        return False


metrics_dir = _metrics_dir()
logger_class = NoAccessLog
#: Seconds an idle keep-alive connection stays open. gunicorn's default (2 s) is meant for a
#: server that clients reach directly; behind a load balancer (whose idle timeout is typically
#: 60 s) and under helpdesks' steady deliveries, a connection closed under the caller's feet makes
#: its next request fail and be retried. Idle connections wait in the poller, not in a thread.
keepalive = 75
#: JSON unless the environment asks for text: this is the production server.
logconfig_dict = _logging(parse_format(os.environ.get("DESKLOOP_LOG_FORMAT") or "json"))


def on_starting(server) -> None:
    """Start with an empty metrics directory: counts of an earlier run's workers are not this run's."""
    metrics_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """A worker is gone: its live gauges stop counting (prometheus-client's multiprocess bookkeeping)."""
    from prometheus_client import multiprocess  # imported here: only after the directory is set

    multiprocess.mark_process_dead(worker.pid, str(metrics_dir))
