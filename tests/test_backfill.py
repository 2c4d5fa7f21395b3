"""``deskloop backfill``: a 10,000-ticket history through the real client library, killed halfway
and resumed, against a local server that answers like the helpdesk's API.

The backfill runs as its own process (the command an admin runs) so it can be killed for real
(SIGKILL, no chance to clean up); the fake Intercom API runs in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.helpdesk.connections import add_tenant, forget_connections
from core.runtime import Runtime
from core.store.tables import BackfillStateRow, MessageRow, TicketRow
from tests.fake_api import serve
from tests.integrations.intercom import fake_intercom

DESKLOOP = str(Path(sys.executable).with_name("deskloop"))


def _connect(settings, url: str) -> Runtime:
    forget_connections()
    runtime = Runtime(settings)
    add_tenant(runtime, "acme", "intercom", "api.intercom.io",
               {"access_token": fake_intercom.ACCESS_TOKEN, "client_secret": "cs-acme"},
               {"api_url": url, "write_back_tags": False})
    return runtime


def _counts(runtime: Runtime) -> tuple[int, int, int]:
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.tenant_session(tenant_id) as session:
        tickets = session.scalar(select(func.count(TicketRow.id)))
        distinct = session.scalar(select(func.count(func.distinct(TicketRow.external_id))))
        committed = session.scalar(select(BackfillStateRow.tickets)) or 0
    return tickets, distinct, committed


def test_a_small_backfill_stores_whole_conversations(settings, db):
    app = fake_intercom.make_app(conversations=12, per_page_max=5)
    with serve(app) as url:
        runtime = _connect(settings, url)
        done = subprocess.run([DESKLOOP, "backfill", "--tenant", "acme", "--no-train"], env=os.environ.copy(),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "12 tickets in 3 pages (12 new" in done.stdout
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.tenant_session(tenant_id) as session:
        tickets = session.scalars(select(TicketRow)).all()
        assert len(tickets) == 12 and all(t.source == "intercom" and t.text for t in tickets)
        assert session.scalar(select(func.count(MessageRow.id))) >= 12
        state = session.scalar(select(BackfillStateRow))
        assert state.finished_at is not None and state.cursor is None
    runtime.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_ten_thousand_tickets_killed_halfway_resume_without_loss_or_repeat(settings, db, tmp_path):
    app = fake_intercom.make_app(conversations=10_000)
    fake = fake_intercom.state(app)
    with serve(app) as url:
        runtime = _connect(settings, url)
        started = time.perf_counter()
        log = tmp_path / "first-run.log"
        with log.open("w") as output:  # a file, not a pipe: nobody reads a pipe while we wait
            first = subprocess.Popen([DESKLOOP, "backfill", "--tenant", "acme", "--no-train"], env=os.environ.copy(),
                                     stdout=output, stderr=subprocess.STDOUT)
        while _counts(runtime)[2] < 5_000:
            assert first.poll() is None, log.read_text()
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        tickets_at_kill, _, committed = _counts(runtime)
        assert 5_000 <= committed < 10_000 and tickets_at_kill == committed
        requests_before = len(fake.requests)

        second = subprocess.run([DESKLOOP, "backfill", "--tenant", "acme", "--no-train"], env=os.environ.copy(),
                                capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - started
    assert second.returncode == 0, second.stderr
    assert "backfill resumed" in second.stdout
    assert f"{10_000 - committed:,} tickets" in second.stdout  # exactly what was left, nothing again
    tickets, distinct, _ = _counts(runtime)
    assert tickets == distinct == 10_000
    searches_after = [r for r in fake.requests[requests_before:] if r.path.endswith("/conversations/search")]
    assert searches_after and "starting_after" in json.dumps(searches_after[0].json)  # resumed, not restarted
    print(f"10,000 tickets backfilled in {seconds:.1f} s including a kill and a resume")
    runtime.close()
