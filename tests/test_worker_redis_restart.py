"""The Procfile's worker outlives a Redis restart: RQ's worker quits when Redis goes away in the
middle of a job, and a machine without workers until someone notices is an outage of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from rq.job import Job
from rq.serializers import JSONSerializer

from bench.services import RedisServer
from core.dispatch.queue import enqueue, redis_connection
from tests.flaky_jobs import slow_write

ROOT = Path(__file__).resolve().parent.parent


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_worker_whose_redis_restarts_mid_job_works_again_afterwards(settings, tmp_path):
    redis = RedisServer()
    with_redis = replace(settings, redis_url=redis.url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESKLOOP_REDIS_URL": redis.url}
    worker = subprocess.Popen([str(Path(sys.executable).with_name("deskloop")), "worker", "--nice", "0"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started, done = tmp_path / "started", tmp_path / "done"
        enqueue(slow_write, str(started), 3.0, str(done), job_id="slow:1", settings=with_redis)
        assert _wait_for(started.exists, 120), "the worker never started the job"
        redis.kill()  # mid-job, and still down when the job ends: RQ cannot record its end, and quits
        assert _wait_for(done.exists, 30)
        time.sleep(2)
        redis.start()
        time.sleep(2)  # ours waited for Redis meanwhile, and starts over
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        redis_connection(with_redis).ping()
        after = tmp_path / "after"
        queued = enqueue(slow_write, str(after), 0.0, str(tmp_path / "after-done"), job_id="after:1",
                         settings=with_redis)
        job = Job.fetch(queued.job_id, connection=redis_connection(with_redis), serializer=JSONSerializer)
        assert _wait_for(lambda: job.get_status(refresh=True) == "finished", 60), job.get_status()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        redis.close()
