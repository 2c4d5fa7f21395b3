"""What several benchmarks share: a free port, a served app, a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, backend: str, port: int, workers: int = 2, threads: int = 1) -> subprocess.Popen:
    """``deskloop serve`` (embedded) or gunicorn (``workers`` processes), answering on ``port``."""
    if backend == "embedded":
        command = [sys.executable, "-m", "core.cli", "serve", "--port", str(port)]
    else:
        command = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads), "core.app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).ok:
                return server
        except requests.RequestException:  # not listening yet, or still loading
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def procfile_process(kind: str, env: dict[str, str], port: int, *extra: str, log_name: str | None = None
                     ) -> subprocess.Popen:
    """The Procfile's ``kind`` line (``web``, ``worker``, ``scheduler``), run as a platform runs it
    (a shell command, ``PORT`` set), with ``extra`` arguments; the process is the command itself
    (``exec``), so a signal reaches it. Its output goes to ``<DESKLOOP_HOME>/<log_name or kind>.log``."""
    line = next(text.split(":", 1)[1].strip() for text in (ROOT / "Procfile").read_text().splitlines()
                if text.startswith(f"{kind}:"))
    env = {**env, "PORT": str(port), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    log = open(Path(env["DESKLOOP_HOME"]) / f"{log_name or kind}.log", "ab")  # noqa: SIM115 (the process owns it)
    return subprocess.Popen(["bash", "-c", f"exec {line} {' '.join(extra)}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def wait_until_serving(port: int, process: subprocess.Popen) -> None:
    """Until ``process`` answers ``/livez`` on ``port`` (a minute at most); raises if it exits first."""
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).ok:
                return
        except requests.RequestException:  # not listening yet, or still loading
            time.sleep(0.1)
    raise RuntimeError("the web process did not start")


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark run, dropped afterwards; yields its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
