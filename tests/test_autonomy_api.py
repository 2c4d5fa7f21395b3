"""The autonomy API: the measures, the status, the latest kept backtest, and the kill switch
(pause and resume, audited, taken up by every process's cached policy), each kept to its tenant
and its scope; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from core.access.audit import list_events
from core.autonomy.backtest_runs import keep_backtest, latest_backtest
from core.autonomy.measures import autonomy_measures
from core.autonomy.policy import Mode, forget_policies, policy_of
from core.autonomy.settings import set_mode, set_sensitive
from core.cli import main
from tests.access_support import authorized_client, signed_in_client
from tests.autonomy_support import CARD, seed_autonomy_history

ROOT = "/api/v1/tenants/acme/autonomy"
REPORT = {"tenant": "acme", "since": None, "target_precision": 0.95, "close_enough": 0.6, "tickets": 40,
          "sent": 12, "right": 11, "auto_resolution_rate": 0.275, "wrong_reply_share": 0.0833,
          "intents": [{"intent": CARD, "tickets": 40, "drafts": 30, "predicted_right": 35, "mean_similarity": 0.7,
                       "close_to_agent": 20, "reopened": 1, "bad_csat": 0, "threshold": 0.8, "sent": 12, "right": 11,
                       "precision_lower_bound": 0.96, "auto_resolution_rate": 0.275, "wrong_reply_share": 0.0833,
                       "example": None}]}


@pytest.fixture
def app(app, db):
    forget_policies()
    seed_autonomy_history(db, "acme", datetime.now(UTC))
    db.ensure_tenant("beta")
    yield app
    forget_policies()


def test_the_measures_are_the_functions_over_the_days_asked(app):
    client = authorized_client(app, scopes=("read",))
    answer = client.get(f"{ROOT}/measures")
    assert answer.status_code == 200
    body = answer.json
    assert body["days"] == 28 and body["overall"]["new_tickets"] == 12 and len(body["weeks"]) == 4
    assert body["overall"]["auto_resolved"] == 3 and body["overall"]["wrong_replies"] == 3
    week = client.get(f"{ROOT}/measures?days=7").json
    assert week["overall"]["new_tickets"] == 6 and len(week["weeks"]) == 1
    direct = autonomy_measures(app.extensions["deskloop"], "acme", days=7,
                               now=datetime.fromisoformat(week["until"]))
    assert week["overall"] == direct.overall.model_dump(mode="json")
    for bad in ("3", "366", "seven"):
        refused = client.get(f"{ROOT}/measures?days={bad}")
        assert refused.status_code == 400 and refused.json["error"]["field"] == "days"


def test_the_status_says_the_modes_and_the_kill_switch(app):
    runtime = app.extensions["deskloop"]
    set_mode(runtime, "acme", CARD, Mode.AUTONOMOUS, "cli:tester", threshold=0.9)
    set_sensitive(runtime, "acme", "intent", "fraud", "cli:tester")
    body = authorized_client(app, scopes=("read",)).get(f"{ROOT}/status").json
    assert body["paused"] is None and body["sensitive_intents"] == ["fraud"]
    by_intent = {i["intent"]: i for i in body["intents"]}
    assert by_intent[CARD] == {**by_intent[CARD], "mode": "autonomous", "effective": "autonomous", "threshold": 0.9}
    assert by_intent["fraud"]["sensitive"] and by_intent["fraud"]["mode"] == "off"


def test_pause_and_resume_reach_the_cached_policy_and_the_audit_trail(app):
    runtime = app.extensions["deskloop"]
    set_mode(runtime, "acme", CARD, Mode.AUTONOMOUS, "cli:tester")
    assert policy_of(runtime, "acme").paused is None  # cached now
    client = authorized_client(app, scopes=("admin",))
    paused = client.post(f"{ROOT}/pause")
    assert paused.status_code == 200 and paused.json["paused"]["by"].startswith("token:dlk_")
    assert policy_of(runtime, "acme").paused is not None
    assert {i["intent"]: i["effective"] for i in paused.json["intents"]}[CARD] == "shadow"
    resumed = client.post(f"{ROOT}/resume")
    assert resumed.status_code == 200 and resumed.json["paused"] is None
    assert policy_of(runtime, "acme").paused is None
    actions = [e.action for e in list_events(runtime, tenant="acme")]
    assert "autonomy.pause" in actions and "autonomy.resume" in actions


def test_the_kill_switch_needs_the_admin_scope_and_the_tenant(app):
    runtime = app.extensions["deskloop"]
    reader = authorized_client(app, scopes=("read",))
    assert reader.post(f"{ROOT}/pause").status_code == 403
    other = authorized_client(app, tenant="beta")
    for method, path in (("POST", "pause"), ("POST", "resume"), ("GET", "measures"), ("GET", "status"),
                         ("GET", "backtest")):
        answer = other.open(f"{ROOT}/{path}", method=method)
        assert answer.status_code == 404 and answer.json["error"]["reason"] == "no tenant named 'acme'"
    assert policy_of(runtime, "acme").paused is None


def test_a_signed_in_viewer_cannot_pause_and_an_admin_needs_the_csrf_token(app):
    viewer, csrf = signed_in_client(app, "viewer", tenants=("acme",))
    assert viewer.post(f"{ROOT}/pause", headers={"X-CSRFToken": csrf}).status_code == 403
    admin, csrf = signed_in_client(app, "admin")
    assert admin.post(f"{ROOT}/pause").status_code == 400  # no CSRF token: refused before anything is written
    assert policy_of(app.extensions["deskloop"], "acme").paused is None
    answer = admin.post(f"{ROOT}/pause", headers={"X-CSRFToken": csrf})
    assert answer.status_code == 200 and answer.json["paused"]["by"].startswith("user:")


def test_the_backtest_is_the_latest_kept_one_or_a_404_that_says_how(app):
    runtime = app.extensions["deskloop"]
    client = authorized_client(app, scopes=("read",))
    missing = client.get(f"{ROOT}/backtest")
    assert missing.status_code == 404 and "deskloop autonomy backtest --tenant acme" in missing.json["error"]["reason"]
    keep_backtest(runtime, "acme", {**REPORT, "tickets": 1}, "cli:older")
    since = datetime(2026, 10, 1, tzinfo=UTC)
    kept = keep_backtest(runtime, "acme", REPORT, "cli:tester", since=since)
    body = client.get(f"{ROOT}/backtest").json
    assert body["id"] == kept and body["run_by"] == "cli:tester" and body["tickets"] == 40
    assert datetime.fromisoformat(body["since"]) == since
    assert body["intents"][0]["threshold"] == 0.8 and body["intents"][0]["predicted_right"] == 35
    assert datetime.now(UTC) - datetime.fromisoformat(body["run_at"]) < timedelta(minutes=1)
    assert authorized_client(app, tenant="beta").get("/api/v1/tenants/beta/autonomy/backtest").status_code == 404


def test_the_cli_backtest_keeps_its_report(app, monkeypatch):
    """The command stores what it printed (the replay itself is the backtest's own tests' business)."""
    runtime = app.extensions["deskloop"]
    monkeypatch.setattr("core.autonomy.backtest.backtest", lambda rt, tenant, since: dict(REPORT))
    result = CliRunner().invoke(main, ["autonomy", "backtest", "--tenant", "acme", "--since", "2026-10-01"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    found = latest_backtest(runtime, "acme")
    assert found is not None and found.tickets == 40 and found.since == datetime(2026, 10, 1, tzinfo=UTC)
