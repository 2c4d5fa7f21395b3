"""The Procfile's web line really serves the app under gunicorn."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfile_has_web_worker_and_scheduler():
    assert set(_procfile()) == {"web", "worker", "scheduler"}


def test_web_process_serves_the_api(settings):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", "DESKLOOP_LOG_FORMAT": "json"}
    command = _procfile()["web"]
    command = command.replace("${PORT:-5000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "1")
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=15)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["database"] == settings.database_url.split(":")[0].split("+")[0]
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    # One line per request, Deskloop's own (its route, not the raw path); gunicorn's access log,
    # which a logging configuration turns on, stays off.
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    ours = [line["message"] for line in lines if line["logger"] == "deskloop.requests"]
    assert ours and all(message.startswith("GET /api/v1/health answered 200 in ") for message in ours)
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [str(Path(sys.executable).with_name(argv[0])), *argv[1:]]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_worker_line_logs_json_and_the_command_line_stays_readable(settings, redis_url):
    """The Procfile's worker (one burst here) writes one JSON object per line; the same command typed
    by a person writes text; a log format that does not exist is refused with exit code 2."""
    env = {**os.environ, "DESKLOOP_REDIS_URL": redis_url}
    env.pop("DESKLOOP_LOG_FORMAT", None)
    production = _run([*shlex.split(_procfile()["worker"]), "--burst"], env)
    assert production.returncode == 0, production.stderr
    lines = [line for line in production.stderr.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert any(json.loads(line)["logger"] == "rq.worker" for line in lines)

    typed = _run(["deskloop", "worker", "--burst"], env)
    assert typed.returncode == 0 and "INFO rq.worker: " in typed.stderr and not typed.stderr.startswith("{")
    refused = _run(["deskloop", "worker", "--burst"], {**env, "DESKLOOP_LOG_FORMAT": "yaml"})
    assert refused.returncode == 2 and "DESKLOOP_LOG_FORMAT must be text or json" in refused.stderr
