"""``deskloop simulate --incidents``: the spike benchmark's histories as files a tenant imports,
with their deploy markers and the truth about what was planted; ``deskloop deploy mark --from``."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime

from click.testing import CliRunner

from core.cli import main
from core.demo.incident_history import write_incident_history
from core.insights.deploys import checked
from core.types import Ticket


def test_the_history_its_deploys_and_its_planted_incidents_are_written(tmp_path):
    out = tmp_path / "history.jsonl"
    files = write_incident_history(out, seed=4, weeks=2, incidents=2, end=date(2026, 3, 4))
    tickets = [Ticket.model_validate_json(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(tickets) == files.tickets > 1000
    assert max(t.created_at for t in tickets) < datetime(2026, 3, 2, tzinfo=UTC)  # ends on the Monday before
    assert min(t.created_at for t in tickets) >= datetime(2026, 2, 16, tzinfo=UTC)
    intents = {t.intent for t in tickets}
    assert len(intents) == 16
    with files.incidents.open(encoding="utf-8") as handle:
        planted = list(csv.DictReader(handle))
    assert len(planted) == 2 and all(p["intent"] in intents for p in planted)
    assert all(datetime.fromisoformat(p["started_at"]) >= datetime(2026, 2, 23, tzinfo=UTC) for p in planted)
    deploys = [checked(json.loads(line)) for line in files.deploys.read_text(encoding="utf-8").splitlines()]
    assert deploys and all(d.deployed_at.tzinfo for d in deploys)


def test_a_quiet_history_plants_nothing_and_the_same_seed_writes_the_same(tmp_path):
    first = write_incident_history(tmp_path / "a.jsonl", seed=5, weeks=2, incidents=0, end=date(2026, 3, 4))
    write_incident_history(tmp_path / "b.jsonl", seed=5, weeks=2, incidents=0, end=date(2026, 3, 4))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.incidents.read_text(encoding="utf-8").strip().count("\n") == 0  # the header alone


def test_simulate_refuses_mixed_or_misplaced_options(tmp_path):
    runner = CliRunner()
    for args in (["--incidents", "2", "--accounts", "30"], ["--busy"], ["--incidents", "21"],
                 ["--incidents", "1", "--weeks", "1"]):
        result = runner.invoke(main, ["simulate", "--out", str(tmp_path / "h.jsonl"), *args])
        assert result.exit_code == 2, (args, result.output)
    result = runner.invoke(main, ["simulate", "--out", str(tmp_path / "missing" / "h.jsonl"), "--incidents", "1"])
    assert result.exit_code == 2 and "no folder" in result.output


def test_deploy_mark_from_a_file_checks_every_line_before_writing_any(settings, db, tmp_path):
    db.ensure_tenant("acme")
    good = {"service": "api", "version": "v1", "deployed_at": "2026-03-01T10:00:00Z"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good) + "\n" + json.dumps({"service": "api", "deployed_at": "2026-03-01"}) + "\n")
    runner = CliRunner()
    refused = runner.invoke(main, ["deploy", "mark", "--tenant", "acme", "--from", str(bad)])
    assert refused.exit_code == 2 and "line 2" in refused.output and "version" in refused.output
    for junk in (b"\xff\xfe", b"[1, 2]\n", b"{not json\n"):
        bad.write_bytes(junk)
        assert runner.invoke(main, ["deploy", "mark", "--tenant", "acme", "--from", str(bad)]).exit_code == 2
    with db.tenant_session(db.tenant_id("acme")) as session:
        from sqlalchemy import func, select

        from core.store.tables import DeployMarkerRow

        assert session.scalar(select(func.count(DeployMarkerRow.id))) == 0
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "version": "v2"}) + "\n")
    done = runner.invoke(main, ["deploy", "mark", "--tenant", "acme", "--from", str(ok)])
    assert done.exit_code == 0 and "2 deploys marked" in done.output
