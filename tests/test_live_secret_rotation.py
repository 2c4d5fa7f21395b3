"""A webhook secret rotated with the CLI while gunicorn serves (as the Procfile runs it: several
workers, several threads each) is in force within seconds in every worker: the old secret gets 401,
the new one 200, without a restart."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from core.cli import main
from integrations.zendesk import webhooks as zendesk
from tests.test_procfile import ROOT, _free_port, _procfile

FIXTURE = Path(zendesk.__file__).parent / "fixtures" / "webhooks" / "ticket.created.json"
OLD = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-leaked-1"}
NEW = {**OLD, "webhook_secret": "whsec-rotated-2"}
#: Enough requests that each of the workers serves some (gunicorn does not say which one answers).
ROUNDS = 12


def _credentials(tmp_path: Path, name: str, values: dict) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(values))
    return path


def _deliver(base: str, secret: str) -> int:
    payload = json.loads(FIXTURE.read_text())
    payload["id"] = f"evt-{uuid.uuid4().hex}"  # a new event each time: never a duplicate
    payload["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps(payload).encode()
    headers = {**zendesk.sign(body, secret, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
               "Content-Type": "application/json"}
    return requests.post(f"{base}/webhooks/zendesk/acme", data=body, headers=headers, timeout=30).status_code


def _start_gunicorn(settings, port: int) -> subprocess.Popen:
    command = _procfile()["web"].replace("${PORT:-5000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "2")
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    env = {**os.environ, "DESKLOOP_HOME": str(settings.home), "DESKLOOP_DATABASE_URL": settings.database_url,
           "DESKLOOP_SECRET_KEY": settings.secret_key, "DESKLOOP_RATE_AUTH_FAILURES": "1000/minute"}
    env.pop("DESKLOOP_REDIS_URL", None)
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # two workers importing and connecting on a shared, busy machine
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=15).status_code == 200:
                return process
        except requests.RequestException:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"gunicorn did not answer within 120 s: {process.communicate()[0].decode()}")
        time.sleep(0.2)


def test_a_secret_rotated_with_the_cli_is_in_force_in_every_running_worker(db, settings, tmp_path):
    added = CliRunner().invoke(main, ["tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                                      "--credentials", str(_credentials(tmp_path, "old", OLD)), "--no-check",
                                      "--no-write-back-tags"])
    assert added.exit_code == 0, added.output
    port = _free_port()
    process = _start_gunicorn(settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        # Every worker caches the connection with the old secret.
        assert [_deliver(base, OLD["webhook_secret"]) for _ in range(ROUNDS)] == [200] * ROUNDS
        assert _deliver(base, NEW["webhook_secret"]) == 401

        rotated = subprocess.run(
            [str(Path(sys.executable).with_name("deskloop")), "tenant", "add", "acme", "--helpdesk", "zendesk",
             "--domain", "acme.zendesk.com", "--credentials", str(_credentials(tmp_path, "new", NEW)), "--replace",
             "--no-check", "--no-write-back-tags"],
            env={**os.environ, "DESKLOOP_HOME": str(settings.home), "DESKLOOP_DATABASE_URL": settings.database_url,
                 "DESKLOOP_SECRET_KEY": settings.secret_key},
            capture_output=True, text=True, timeout=120)
        assert rotated.returncode == 0, rotated.stderr
        rotated_at = time.monotonic()

        deadline = rotated_at + 5
        while _deliver(base, NEW["webhook_secret"]) != 200:
            assert time.monotonic() < deadline, "the new secret was not accepted within 5 s"
            time.sleep(0.1)
        # Then in every worker and thread: the leaked secret is refused, the new one accepted.
        assert [_deliver(base, OLD["webhook_secret"]) for _ in range(ROUNDS)] == [401] * ROUNDS
        assert [_deliver(base, NEW["webhook_secret"]) for _ in range(ROUNDS)] == [200] * ROUNDS
        assert time.monotonic() - rotated_at < 30
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    for secret in (*OLD.values(), *NEW.values()):
        if secret.startswith(("whsec", "zd-token")):
            assert secret not in output, "a secret reached the server's log"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_rotation_check_fails_without_the_stamp(monkeypatch, backend, db, settings, tmp_path):
    """Guard on the test above: with the stamp check disabled (the cache trusted forever, as before),
    a worker that cached the old secret keeps accepting it. In-process, through the same cache."""
    from core.app import create_app
    from core.helpdesk import connections
    from core.helpdesk.connections import add_tenant, forget_connections

    forget_connections()
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", OLD, {"write_back_tags": False})
    client = app.test_client()

    def deliver(secret: str) -> int:
        payload = json.loads(FIXTURE.read_text())
        payload["id"] = f"evt-{uuid.uuid4().hex}"
        body = json.dumps(payload).encode()
        headers = {**zendesk.sign(body, secret, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
                   "Content-Type": "application/json"}
        return client.post("/webhooks/zendesk/acme", data=body, headers=headers).status_code

    try:
        assert deliver(OLD["webhook_secret"]) == 200
        # Another process rotates: this process's cache is not told (no forget_connections here).
        monkeypatch.setattr(connections, "forget_connections", lambda: None)
        add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", NEW, {"write_back_tags": False}, replace=True)
        assert deliver(OLD["webhook_secret"]) == 401
        assert deliver(NEW["webhook_secret"]) == 200
        # And with the stamp ignored (the insert unconditional, the stamp read answering the cached
        # one), the stale secret would still pass: the check is what matters.
        from core.helpdesk.webhook_events import store_events
        from core.web import webhooks

        monkeypatch.setattr(webhooks, "store_events_at_stamp", lambda tenant_id, helpdesk, events, stamp, db:
                            store_events(runtime, tenant_id, helpdesk, events, db))
        monkeypatch.setattr(connections, "config_version", lambda session, slug: connections._connections[
            (runtime.settings.database_url, slug)][0])
        add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", OLD, {"write_back_tags": False}, replace=True)
        assert deliver(NEW["webhook_secret"]) == 200  # stale: the guard shows the test can fail
    finally:
        runtime.close()
        forget_connections()
