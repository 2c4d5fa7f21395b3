"""The Procfile's web line really serves the app under gunicorn."""

from __future__ import annotations

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
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1"}
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
        process.wait(timeout=10)
