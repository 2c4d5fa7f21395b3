"""A worker machine trains a tenant's model and a web machine serves it, sharing no disk.

Each "machine" is a network namespace made here, joined to this one by a veth pair, with its own
DESKLOOP_HOME; both reach the one PostgreSQL and Redis through forwarders on this side of their
veth (the servers listen on loopback only, which a namespace cannot reach). The worker runs
``deskloop worker``, the web machine gunicorn, as production runs them (see the Procfile)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import select

from core.access.tokens import issue_token
from core.background import tasks
from core.dispatch.queue import enqueue
from core.runtime import Runtime
from core.store.tables import ModelVersionRow
from core.store.tickets import upsert_tickets
from tests.factories import small_inbox
from tests.tcp_forwarder import Forwarder

BIN = Path(sys.executable).parent


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass(frozen=True)
class Host:
    """A namespace and the addresses of its veth: ``address`` inside, ``gateway`` on this side."""

    namespace: str
    address: str
    gateway: str

    def run(self, command: list[str], env: dict[str, str], **options) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *command], env=env,
                                start_new_session=True, **options)


@contextmanager
def _host(role: str, network: str, first: int) -> Iterator[Host]:
    """A namespace with a veth pair to this one, on the /30 of ``network`` (three octets) whose
    first address is ``first``; removed (with its veth) however the test ends."""
    tag = secrets.token_hex(3)
    namespace, outside, inside = f"deskloop-{role}-{tag}", f"dl{role[0]}{tag}h", f"dl{role[0]}{tag}n"
    host = Host(namespace, f"{network}.{first + 1}", f"{network}.{first}")
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("addr", "add", f"{host.gateway}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", namespace, "addr", "add", f"{host.address}/30", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        yield host
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)


def _through(url: str, forwarder: Forwarder, gateway: str) -> str:
    """``url`` with its host and port replaced by the forwarder's on ``gateway``."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{gateway}:{forwarder.port}"))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _wait_for_health(url: str, web: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert web.poll() is None, f"gunicorn exited before it answered:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the web host did not answer within 90 s")


def _hosts_env(settings, home: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """What a machine of its own is configured with: its own home, the shared services. n-gram
    models (no sentence encoder) keep the test about storage, not about exporting an encoder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKLOOP_")}
    return {**env, "DESKLOOP_HOME": str(home), "DESKLOOP_DATABASE_URL": database_url,
            "DESKLOOP_REDIS_URL": redis_url, "DESKLOOP_SECRET_KEY": settings.secret_key or "",
            "DESKLOOP_ENCODER": "none", "PATH": f"{BIN}:{env.get('PATH', '')}"}


def _train_on(worker_host: Host, env: dict[str, str], settings, redis_url: str, force: bool) -> str:
    """Enqueue the training job and let a burst worker on the worker host run it; the version."""
    queued = enqueue(tasks.train_tenant, "acme", force, job_id=f"train:acme:{secrets.token_hex(4)}",
                     settings=replace(settings, redis_url=redis_url))
    assert queued.mode == "queued"
    worker = worker_host.run([str(BIN / "deskloop"), "worker", "--burst", "--nice", "0"], env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = worker.communicate(timeout=300)
    finally:
        _stop(worker)
    assert worker.returncode == 0, output
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from core.dispatch.queue import redis_connection

    job = Job.fetch(queued.job_id, connection=redis_connection(replace(settings, redis_url=redis_url)),
                    serializer=JSONSerializer)
    assert job.is_finished, output
    return job.return_value()["version"]


@pytest.mark.parametrize("backend", ["postgresql"])  # the production setup: machines share PostgreSQL
def test_a_model_trained_on_the_worker_host_is_served_by_the_web_host(db, settings, redis_url, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add)")
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    runtime = Runtime(settings)
    token, _ = issue_token(runtime, "two hosts", ("suggest",), "acme", "tests")
    runtime.close()
    network = f"10.231.{secrets.randbelow(250) + 1}"
    pg, redis = urlsplit(settings.database_url), urlsplit(redis_url)
    with ExitStack() as stack:
        hosts = {role: stack.enter_context(_host(role, network, first))
                 for role, first in (("worker", 1), ("web", 5))}
        envs = {}
        for role, host in hosts.items():
            to_pg = Forwarder(host.gateway, (pg.hostname or "127.0.0.1", pg.port or 5432))
            to_redis = Forwarder(host.gateway, (redis.hostname or "127.0.0.1", redis.port or 6379))
            stack.callback(to_pg.close)
            stack.callback(to_redis.close)
            envs[role] = _hosts_env(settings, tmp_path / f"{role}-home", _through(settings.database_url, to_pg,
                                    host.gateway), _through(redis_url, to_redis, host.gateway))

        web_host = hosts["web"]
        web_log = tmp_path / "web.log"  # a file, not a pipe: nothing reads it while gunicorn runs
        web = web_host.run([str(BIN / "gunicorn"), "--bind", f"{web_host.address}:8000", "--workers", "2",
                            "core.app:create_app()"], envs["web"], stdout=subprocess.DEVNULL,
                           stderr=stack.enter_context(web_log.open("w")))
        stack.callback(_stop, web)
        base = f"http://{web_host.address}:8000"
        _wait_for_health(base, web, web_log)
        headers = {"Authorization": f"Bearer {token}"}

        def suggestion() -> httpx.Response:
            return httpx.post(f"{base}/api/v1/tenants/acme/suggest", headers=headers, timeout=60,
                              json={"text": "where is my card? it has not arrived"})

        assert suggestion().status_code == 409  # no model anywhere yet

        first = _train_on(hosts["worker"], envs["worker"], settings, redis_url, force=False)
        worker_copy = tmp_path / "worker-home" / "models" / "acme" / "suggestions" / first / "model.joblib"
        web_copy = tmp_path / "web-home" / "models" / "acme" / "suggestions" / first / "model.joblib"
        assert worker_copy.is_file() and not web_copy.exists()
        for _ in range(4):  # both gunicorn workers, whichever answers
            answer = suggestion()
            assert answer.status_code == 200, answer.text
            assert answer.json()["model_version"] == first
        assert web_copy.read_bytes() == worker_copy.read_bytes()  # fetched from the database, verified

        second = _train_on(hosts["worker"], envs["worker"], settings, redis_url, force=True)
        assert second != first
        assert {suggestion().json()["model_version"] for _ in range(4)} == {second}
    with db.tenant_session(tenant_id) as session:
        assert set(session.scalars(select(ModelVersionRow.version))) == {first, second}
    gone = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert all(h.namespace not in gone for h in hosts.values())  # cleaned up with the stack
