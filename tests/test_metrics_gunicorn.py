"""``/metrics`` as production serves it: the Procfile's web line, gunicorn with 2 workers, PostgreSQL
and Redis, no ``PROMETHEUS_MULTIPROC_DIR`` set (so the default under ``DESKLOOP_HOME`` is used).

Requests land on both workers; each worker's own file in the multiprocess directory holds its share,
and a scrape, whichever worker answers it, reports their sum. A worker killed and replaced by
gunicorn takes none of its counts with it. Every line gunicorn and the app write is one JSON object.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from core.access.tokens import issue_token
from core.runtime import Runtime
from tests.test_procfile import ROOT, _free_port, _procfile

LIVEZ = "/livez"


def _livez_count(samples) -> float:
    return sum(s.value for s in samples if s.name == "deskloop_http_requests_total"
               and s.labels.get("route") == LIVEZ and s.labels.get("status") == "200")


def _per_worker(metrics_dir: Path) -> dict[int, float]:
    """Each worker's own count of /livez requests, read from its file alone."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        samples = [s for family in MultiProcessCollector.merge([str(path)]) for s in family.samples]
        counts[pid] = _livez_count(samples)
    return counts


@pytest.fixture
def gunicorn(settings, db, redis_url, tmp_path):
    """The Procfile's web process on a free port; yields (base URL, metrics token, log file, process)."""
    runtime = Runtime(settings)
    db.ensure_tenant("acme")
    token, _ = issue_token(runtime, "prometheus", ("metrics",), None, "tests")
    runtime.close()
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("PROMETHEUS_MULTIPROC_DIR",
                                                                           "DESKLOOP_LOG_FORMAT")}
    env.update(PORT=str(port), WEB_CONCURRENCY="2", DESKLOOP_REDIS_URL=redis_url)
    argv = shlex.split(_procfile()["web"].replace("${PORT:-5000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "2"))
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + LIVEZ, timeout=15)
                break
            except requests.ConnectionError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
        yield base, token, log_path, process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _scrape(base: str, token: str) -> list:
    answer = requests.get(base + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert answer.status_code == 200, answer.text
    return [s for family in text_string_to_metric_families(answer.text) for s in family.samples]


def test_counts_from_both_workers_add_up(gunicorn, settings):
    base, token, log_path, process = gunicorn
    metrics_dir = settings.home / "metrics"  # the default: PROMETHEUS_MULTIPROC_DIR was not set
    sent = 1  # the readiness wait above
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _round in range(20):
            answers = list(pool.map(lambda _: requests.get(base + LIVEZ, timeout=15).status_code, range(64)))
            assert answers == [200] * 64
            sent += 64
            if len([n for n in _per_worker(metrics_dir).values() if n]) >= 2:
                break
    per_worker = _per_worker(metrics_dir)
    assert len([n for n in per_worker.values() if n]) == 2, f"requests did not reach both workers: {per_worker}"
    assert sum(per_worker.values()) == sent
    assert _livez_count(_scrape(base, token)) == sent
    assert _livez_count(_scrape(base, token)) == sent  # whichever worker answers, the same sum

    # A worker that dies is replaced; what it counted still counts.
    victim = max(per_worker, key=per_worker.get)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        if len(workers) == 2 and str(victim) not in workers:
            break
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.2)
    for _ in range(5):
        assert requests.get(base + LIVEZ, timeout=15).status_code == 200
    assert _livez_count(_scrape(base, token)) == sent + 5

    samples = _scrape(base, token)
    assert any(s.name == "process_resident_memory_bytes" for s in samples)
    assert any(s.name == "deskloop_scrape_source_up" and s.labels == {"source": "redis"} and s.value == 1
               for s in samples)
    assert any(s.name == "deskloop_job_queue_jobs" for s in samples)

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    assert lines, "gunicorn wrote no log"
    parsed = [json.loads(line) for line in lines]  # every line one JSON object: gunicorn's own and the app's
    assert any(p["logger"] == "gunicorn.error" for p in parsed)
    requests_logged = [p for p in parsed if p["logger"] == "deskloop.requests"]
    assert requests_logged and all(p["route"] and len(p["request_id"]) == 32 for p in requests_logged)


def test_an_outsider_cannot_read_metrics_over_http(gunicorn):
    base, token, _log, _process = gunicorn
    scraper = {"Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"}
    refused = requests.get(base + "/metrics", headers=scraper, timeout=15, allow_redirects=False)
    assert refused.status_code == 401 and "deskloop_" not in refused.text
    browser = requests.get(base + "/metrics", headers={"Accept": "text/html"}, timeout=15, allow_redirects=False)
    assert browser.status_code == 302 and browser.headers["Location"].startswith("/login")
    forged = requests.get(base + "/metrics", headers={**scraper, "Authorization": "Bearer " + token[:-2] + "xx"},
                          timeout=15, allow_redirects=False)
    assert forged.status_code == 401 and "deskloop_" not in forged.text
    ready = requests.get(base + "/readyz", timeout=15)
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
    echoed = requests.get(base + LIVEZ, headers={"X-Request-ID": "lb-7f3a9c2e-0001"}, timeout=15)
    assert echoed.headers["X-Request-ID"] == "lb-7f3a9c2e-0001"


# gunicorn, PostgreSQL and Redis: the production setup only.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])
