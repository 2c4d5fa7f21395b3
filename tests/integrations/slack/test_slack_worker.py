"""Through the real queue: a published incident change becomes an RQ job that the Procfile's
worker, a fresh process that never imported the Slack package, finds by name and runs; a lasting
rate limit leaves the job scheduled for the listeners' backoff instead of failing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rq.job import Job
from rq.serializers import JSONSerializer

from core.config import Settings
from core.dispatch.queue import redis_connection
from core.notify.store import add_notifier, posted_alert
from core.runtime import Runtime
from tests.integrations.slack.fake_slack import TOKEN, fake_slack
from tests.notify_support import incident, publish_change, runtime  # noqa: F401  (fixture)


def _worker() -> str:
    done = subprocess.run([str(Path(sys.executable).with_name("deskloop")), "worker", "--burst"],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_a_queued_alert_is_run_by_a_fresh_worker_and_a_lasting_429_is_retried_later(runtime, redis_url, monkeypatch):
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    queued = Runtime(Settings.from_env())
    with fake_slack() as slack:
        add_notifier(queued, "acme", "slack", {"bot_token": TOKEN}, [("channel", "C0ALERTS"), ("api_url", slack.url)])
        publish_change(queued, incident(), "opened", key="inc-1:opened")
        publish_change(queued, incident(), "opened", key="inc-1:opened")  # the same change again: one job
        assert slack.calls == []  # queued, not run inline
        _worker()
        assert slack.calls.count("chat.postMessage") == 1 and len(slack.messages) == 1
        assert posted_alert(queued, "acme", "slack", "inc-1") is not None

        slack.rate_limit("chat.update", times=10)
        publish_change(queued, incident(observed=70), "grew", key="inc-1:grew:1")
        said = _worker()
        connection = redis_connection(queued.settings)
        [job_id] = [k.decode().removeprefix("rq:job:") for k in connection.keys("rq:job:*grew*")]
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        assert job.get_status() == "scheduled" and job.retries_left == 4
        assert "NotifierRateLimited" in said and TOKEN not in said
