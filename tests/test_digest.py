"""The weekly digest on a seeded tenant (:mod:`tests.digest_support`): every section says what the
seed planted, a section that fails is left out with a note while the rest still comes, nobody's
name or address is in it, and the API and the CLI answer it (a malformed week: 400, exit code 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from core.cli import main
from core.insights import digest as digests
from core.insights.digest import weekly_digest
from core.insights.weeks import parse_week
from core.runtime import Runtime
from tests.access_support import authorized_client
from tests.digest_support import DRAFTS, WEEK, personal_details, seed_digest


@pytest.fixture
def seeded(app):
    runtime: Runtime = app.extensions["deskloop"]
    seed_digest(runtime)
    return runtime


def test_every_section_says_what_the_week_held(seeded):
    found = weekly_digest(seeded, "acme", WEEK)
    assert found.week == "2026-W18" and found.notes == []
    assert 1 <= len(found.churn_risks) <= 5 and all(len(r.reasons) <= 2 and r.reasons for r in found.churn_risks)
    assert [r.score for r in found.churn_risks] == sorted((r.score for r in found.churn_risks), reverse=True)
    assert all("@" not in r.account for r in found.churn_risks)  # lone requesters are left out
    rising = {c.label: c for c in found.rising_capabilities}
    assert rising and all(c.trend in ("rising", "new") and c.requests_this_week >= 1 for c in rising.values())
    assert any("csv" in label.lower() for label in rising)
    assert found.knowledge_gaps and found.knowledge_gaps[0].key == "intent:refund_status"
    assert any("abst" in reason.lower() for reason in found.knowledge_gaps[0].reasons)
    [spike] = found.incidents
    assert (spike.category, spike.observed, spike.expected, spike.deploy) == ("login_problem", 42, 7.5,
                                                                              "auth-api v3.1.0")
    loop = found.learning
    unchanged, edited = DRAFTS[-1]
    assert loop.signals_by_kind == {"draft_edited": edited, "draft_sent": unchanged, "intent_changed": 1}
    assert (loop.sent_unchanged, loop.drafts_sent, loop.acceptance) == (unchanged, unchanged + edited, 0.75)
    assert [w.week for w in loop.trend] == ["2026-W15", "2026-W16", "2026-W17", "2026-W18"]
    assert [w.acceptance for w in loop.trend] == [round(u / (u + e), 3) for u, e in DRAFTS]
    assert [w.accuracy for w in loop.trend] == [1.0, 1.0, 1.0, round(1 - 1 / sum(DRAFTS[-1]), 3)]


def test_a_section_that_fails_is_left_out_with_a_note_and_the_rest_still_comes(seeded, monkeypatch):
    def broken(runtime, slug, week):
        raise ZeroDivisionError("a bug in the gap measures")

    monkeypatch.setitem(digests.SECTIONS, "knowledge_gaps", broken)
    found = weekly_digest(seeded, "acme", WEEK)
    assert found.knowledge_gaps is None
    assert found.notes == ["knowledge gaps: could not be computed this time (ZeroDivisionError)"]
    assert found.churn_risks and found.incidents and found.learning is not None


def test_the_digest_names_no_requester(seeded):
    text = weekly_digest(seeded, "acme", WEEK).model_dump_json().lower()
    details = personal_details()
    assert len(details) > 50
    assert [d for d in details if d.lower() in text] == []


def test_the_api_answers_a_reader_and_refuses_a_malformed_week(app, seeded):
    client = authorized_client(app, scopes=("read",), tenant="acme")
    answer = client.get("/api/v1/tenants/acme/insights/digest?week=2026-W18")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["week"] == "2026-W18" and answer.get_json()["incidents"][0]["category"] == "login_problem"
    for bad in ("2026-W54", "W18", "2026-18", "2026-W1x"):
        refused = client.get(f"/api/v1/tenants/acme/insights/digest?week={bad}")
        assert refused.status_code == 400 and "week" in json.dumps(refused.get_json())
    assert client.get("/api/v1/tenants/nobody/insights/digest").status_code in (403, 404)


def test_the_cli_prints_the_digest_and_exits_2_on_a_bad_week(app, seeded):
    runner = CliRunner()
    done = runner.invoke(main, ["insights", "digest", "--tenant", "acme", "--week", "2026-W18"])
    assert done.exit_code == 0, done.output
    assert "weekly digest 2026-W18" in done.output and "login_problem" in done.output
    assert "acceptance 75%" in done.output
    bad = runner.invoke(main, ["insights", "digest", "--tenant", "acme", "--week", "2026-W60"])
    assert bad.exit_code == 2 and "2026 has no ISO week 60" in bad.output


def test_weeks_are_iso_weeks():
    week = parse_week("2026-W01")
    assert week.start.isoformat() == "2025-12-29T00:00:00+00:00" and week.previous().label == "2025-W52"
