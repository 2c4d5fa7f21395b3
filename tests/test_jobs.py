"""Background jobs: in-process without Redis, RQ with JSON serialization against the real Redis."""

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from core.background import tasks
from core.config import Settings
from core.dispatch.queue import JobArgumentError, enqueue, redis_connection
from core.learning.training import registry_for
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.factories import small_inbox
from tests.flaky_jobs import fails_twice


@pytest.fixture
def trained_inbox(db, settings):
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    return Runtime(settings)


def test_without_redis_the_job_runs_in_process(trained_inbox, settings):
    outcome = enqueue(tasks.train_tenant, "acme", job_id="train:acme", settings=settings)
    assert outcome.mode == "inline"
    assert outcome.result["version"] == registry_for(trained_inbox, "acme").current_version()


def test_with_redis_the_job_goes_through_rq_as_json(trained_inbox, settings, redis_url, monkeypatch):
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    with_redis = Settings.from_env()
    first = enqueue(tasks.train_tenant, "acme", job_id="train:acme:1", settings=with_redis)
    again = enqueue(tasks.train_tenant, "acme", job_id="train:acme:1", settings=with_redis)
    assert (first.mode, again.mode) == ("queued", "duplicate")
    assert registry_for(trained_inbox, "acme").current_version() is None  # nothing ran yet

    connection = redis_connection(with_redis)
    stored = json.loads(zlib.decompress(connection.hget(f"rq:job:{first.job_id}", "data")))  # JSON, not a pickle
    assert stored[0] == "core.background.tasks.train_tenant" and stored[2] == ["acme"]

    # The Procfile's worker, as its own process (a worker forks a work horse per job, which must
    # not inherit this test process's model threads).
    done = subprocess.run([str(Path(sys.executable).with_name("deskloop")), "worker", "--burst"],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job = Job.fetch(first.job_id, connection=connection, serializer=JSONSerializer)
    assert job.is_finished, job.latest_result().exc_string if job.latest_result() else job.get_status()
    assert job.return_value()["version"] == registry_for(trained_inbox, "acme").current_version()


def test_only_json_primitives_can_be_job_arguments(settings):
    with pytest.raises(JobArgumentError):
        enqueue(tasks.train_tenant, object(), settings=settings)
    with pytest.raises(JobArgumentError):
        enqueue(tasks.train_tenant, ("a", "tuple"), settings=settings)


def test_job_ids_with_vendor_characters_stay_distinct():
    from core.dispatch.queue import rq_job_id

    assert rq_job_id("train-acme_1") == "train-acme_1"
    assert rq_job_id("zendesk:a/b") != rq_job_id("zendesk:a_b")
    assert all(c.isalnum() or c in "_-" for c in rq_job_id("zendesk:01H/x.y"))


def test_a_failed_job_is_retried_after_the_waits_it_was_given(settings, redis_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    with_redis = Settings.from_env()
    counter = tmp_path / "runs"
    queued = enqueue(fails_twice, str(counter), job_id="flaky:1", settings=with_redis, retry_after=(1, 1))
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen([str(Path(sys.executable).with_name("deskloop")), "worker"],
                              env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        job = Job.fetch(queued.job_id, connection=redis_connection(with_redis), serializer=JSONSerializer)
        for _ in range(1200):  # generous: a busy machine starts a worker slowly
            if job.get_status(refresh=True) == "finished":
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:  # a warm shutdown still waiting on its retry scheduler
            worker.kill()
            worker.wait(10)
    assert counter.read_text() == "3" and job.return_value() == "written"


def test_without_a_retry_a_failed_job_stays_failed(settings, redis_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    with_redis = Settings.from_env()
    counter = tmp_path / "runs"
    queued = enqueue(fails_twice, str(counter), job_id="flaky:2", settings=with_redis)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([str(Path(sys.executable).with_name("deskloop")), "worker", "--burst"],
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    job = Job.fetch(queued.job_id, connection=redis_connection(with_redis), serializer=JSONSerializer)
    assert job.get_status() == "failed", job.latest_result()
    assert counter.exists() and counter.read_text() == "1", job.latest_result().exc_string


def test_a_job_run_inline_sees_its_callers_settings_not_the_environments(tmp_path, monkeypatch):
    """Without Redis a job runs in the caller's process: it must reach the caller's database (a
    test's, a ``--home`` on the command line), not whatever the environment names."""
    from core import runtime as runtimes
    from core.config import Settings
    from core.dispatch.queue import enqueue

    monkeypatch.setenv("DESKLOOP_HOME", str(tmp_path / "environment"))
    mine = Settings(home=tmp_path / "caller", database_url=f"sqlite:///{tmp_path / 'caller.db'}")
    outcome = enqueue(_home_of_job_runtime, settings=mine)
    assert outcome.mode == "inline" and outcome.result == str(tmp_path / "caller")
    assert runtimes.for_jobs().settings.home == tmp_path / "environment"  # outside a job: the environment


def _home_of_job_runtime() -> str:
    from core import runtime as runtimes

    return str(runtimes.for_jobs().settings.home)
