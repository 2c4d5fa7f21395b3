"""Autonomy modes per intent: off by default; a sensitive intent or account, or the kill switch, is
never autonomous whatever its mode; a pause reaches another process within seconds; the CLI
refuses bad input with exit code 2 and writes nothing."""

from __future__ import annotations

import json
import os
import select as io_select
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.autonomy.policy import STAMP_CHECK_SECONDS, Mode, Policy, decide, decide_mode, forget_policies
from core.autonomy.settings import set_mode, set_paused, set_sensitive
from core.cli import main
from core.errors import BadInput
from core.runtime import Runtime
from core.store.tables import AutonomyModeRow, AutonomySensitiveRow, TenantRow

ACTOR = "cli:tester"


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def runtime(settings, db):
    forget_policies()
    with db.transaction() as session:
        session.add(TenantRow(slug="acme", settings={}))
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
    forget_policies()


def _policy(**changes) -> Policy:
    base = dict(tenant="acme", stamp=1, modes={"card_arrival": Mode.AUTONOMOUS, "refund": Mode.SHADOW},
                sensitive_intents=frozenset(), sensitive_accounts=frozenset(), paused=None, target_precision=0.98)
    return Policy(**{**base, **changes})


def test_what_each_rule_decides():
    assert decide(_policy(), "card_arrival").mode is Mode.AUTONOMOUS
    assert decide(_policy(), "refund").mode is Mode.SHADOW
    assert decide(_policy(), "never_set") == decide(_policy(), "never_set")
    assert decide(_policy(), "never_set").mode is Mode.OFF and "default" in decide(_policy(), "never_set").reason
    assert decide(_policy(), None).mode is Mode.OFF
    sensitive = decide(_policy(sensitive_intents=frozenset({"card_arrival"})), "card_arrival")
    assert sensitive.mode is Mode.SHADOW and "sensitive" in sensitive.reason
    vip = _policy(sensitive_accounts=frozenset({"megacorp"}))
    assert decide(vip, "card_arrival", "  MegaCorp ").mode is Mode.SHADOW
    assert decide(vip, "card_arrival", "smallshop").mode is Mode.AUTONOMOUS
    paused = decide(_policy(paused={"by": ACTOR, "at": "now"}), "card_arrival")
    assert paused.mode is Mode.SHADOW and "paused" in paused.reason
    # Nothing raises a mode: a sensitive intent in shadow stays in shadow, an off one stays off.
    assert decide(_policy(sensitive_intents=frozenset({"refund"})), "refund").mode is Mode.SHADOW


def test_modes_and_sensitive_lists_through_the_database(runtime):
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.OFF
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.AUTONOMOUS
    set_sensitive(runtime, "acme", "account", "VIP Bank", ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival", "vip bank").mode is Mode.SHADOW
    assert decide_mode(runtime, "acme", "card_arrival", "someone@example.com").mode is Mode.AUTONOMOUS
    # Marking an autonomous intent sensitive takes it out of autonomy at once.
    set_sensitive(runtime, "acme", "intent", "card_arrival", ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.SHADOW
    with pytest.raises(BadInput, match="sensitive"):
        set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR)
    set_sensitive(runtime, "acme", "intent", "card_arrival", ACTOR, remove=True)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.AUTONOMOUS
    set_paused(runtime, "acme", True, ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.SHADOW
    set_paused(runtime, "acme", False, ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.AUTONOMOUS


def test_refusing_a_sensitive_intent_writes_nothing(runtime, db):
    set_sensitive(runtime, "acme", "intent", "fraud_report", ACTOR)
    set_mode(runtime, "acme", "fraud_report", Mode.SHADOW, ACTOR)
    with pytest.raises(BadInput):
        set_mode(runtime, "acme", "fraud_report", Mode.AUTONOMOUS, ACTOR)
    with db.admin_session() as session:
        modes = list(session.execute(select(AutonomyModeRow.intent, AutonomyModeRow.mode)
                                     .execution_options(all_tenants=True)))
    assert modes == [("fraud_report", "shadow")]


#: A second process: reads the policy every 20 ms and prints each mode it sees, as it sees it.
WATCHER = textwrap.dedent("""
    import sys, time
    from core.autonomy.policy import decide_mode
    from core.runtime import Runtime
    runtime = Runtime()
    last = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mode = decide_mode(runtime, "acme", "card_arrival").mode.value
        if mode != last:
            print(mode, flush=True)
            last = mode
        time.sleep(0.02)
""")


def _next_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = io_select.select([process.stdout], [], [], timeout)
    assert ready, f"no answer from the other process within {timeout} s"
    return process.stdout.readline().strip()


def test_a_pause_reaches_another_process_within_seconds(runtime, settings):
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR)
    env = {**os.environ, "DESKLOOP_HOME": str(settings.home), "DESKLOOP_DATABASE_URL": settings.database_url}
    process = subprocess.Popen([sys.executable, "-c", WATCHER], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert _next_line(process, 60) == "autonomous"
        paused_at = time.monotonic()
        assert run("autonomy", "pause", "--tenant", "acme").exit_code == 0
        assert _next_line(process, 10) == "shadow"
        took = time.monotonic() - paused_at
        assert took < STAMP_CHECK_SECONDS + 2, took
        assert run("autonomy", "resume", "--tenant", "acme").exit_code == 0
        assert _next_line(process, 10) == "autonomous"
    finally:
        process.kill()
        process.wait()


def _written(db) -> tuple[int, int]:
    with db.admin_session() as session:
        modes = session.scalar(select(func.count(AutonomyModeRow.id)).execution_options(all_tenants=True))
        sensitive = session.scalar(select(func.count(AutonomySensitiveRow.id)).execution_options(all_tenants=True))
    return modes, sensitive


def test_cli_sets_and_shows_the_policy(runtime):
    assert run("autonomy", "mode", "--tenant", "acme", "--intent", "card_arrival", "autonomous").exit_code == 0
    assert run("autonomy", "mode", "--tenant", "acme", "--intent", "refund", "Shadow").exit_code == 0
    assert run("autonomy", "sensitive", "--tenant", "acme", "--intent", "legal_threat").exit_code == 0
    assert run("autonomy", "sensitive", "--tenant", "acme", "--account", "VIP Bank").exit_code == 0
    assert run("autonomy", "target-precision", "--tenant", "acme", "0.95").exit_code == 0
    assert run("autonomy", "pause", "--tenant", "acme").exit_code == 0
    shown = run("autonomy", "status", "--tenant", "acme")
    assert shown.exit_code == 0
    assert "PAUSED" in shown.output and "card_arrival: autonomous -> shadow" in shown.output
    assert "legal_threat" in shown.output and "vip bank" in shown.output
    found = json.loads(run("autonomy", "status", "--tenant", "acme", "--json").output)
    assert found["paused"]["by"].startswith("cli")
    assert found["target_precision"] == 0.95
    assert {r["intent"]: (r["mode"], r["effective"]) for r in found["intents"]} == {
        "card_arrival": ("autonomous", "shadow"), "refund": ("shadow", "shadow"), "legal_threat": ("off", "off")}
    assert run("autonomy", "resume", "--tenant", "acme").exit_code == 0
    assert json.loads(run("autonomy", "status", "--tenant", "acme", "--json").output)["paused"] is None
    trail = json.loads(run("audit", "--tenant", "acme", "--json").output)
    entries = trail["events"] if isinstance(trail, dict) else trail
    actions = [e["action"] for e in entries]
    assert {"autonomy.mode", "autonomy.sensitive_add", "autonomy.pause", "autonomy.resume",
            "autonomy.target_precision"} <= set(actions)
    assert "vip bank" not in json.dumps(entries)  # an account is customer data: the trail does not name it


@pytest.mark.parametrize("args, message", [
    (["mode", "--tenant", "nobody", "--intent", "x", "shadow"], "nobody"),
    (["mode", "--tenant", "acme", "--intent", "x", "sometimes"], "unknown mode"),
    (["mode", "--tenant", "acme", "--intent", "  ", "shadow"], "must not be empty"),
    (["mode", "--tenant", "acme", "--intent", "fraud", "autonomous"], "sensitive"),
    (["sensitive", "--tenant", "acme"], "exactly one"),
    (["sensitive", "--tenant", "acme", "--intent", "a", "--account", "b"], "exactly one"),
    (["sensitive", "--tenant", "acme", "--account", "nobody inc", "--remove"], "not on the sensitive list"),
    (["sensitive", "--tenant", "nobody", "--intent", "fraud"], "nobody"),
    (["pause", "--tenant", "nobody"], "nobody"),
    (["status", "--tenant", "nobody"], "nobody"),
    (["target-precision", "--tenant", "acme", "1.0"], "target precision"),
    (["backtest", "--tenant", "nobody"], "nobody"),
    (["backtest", "--tenant", "acme", "--since", "last tuesday"], "ISO 8601"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(runtime, db, args, message):
    set_sensitive(runtime, "acme", "intent", "fraud", ACTOR)
    before = _written(db)
    with db.admin_session() as session:
        stamp = session.scalar(select(TenantRow.config_version).where(TenantRow.slug == "acme"))
    result = run("autonomy", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert _written(db) == before
    with db.admin_session() as session:
        assert session.scalar(select(TenantRow.config_version).where(TenantRow.slug == "acme")) == stamp


def test_the_policy_is_read_again_only_when_the_stamp_moves(runtime, monkeypatch):
    from core.autonomy import policy as policy_module

    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.SHADOW

    def never(*_args):
        raise AssertionError("read the database between stamp checks")

    monkeypatch.setattr(policy_module, "load_policy", never)
    monkeypatch.setattr(policy_module, "config_version", never)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.SHADOW  # within the second: no read
    monkeypatch.undo()
    monkeypatch.setattr(policy_module, "STAMP_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(policy_module, "load_policy", never)
    assert decide_mode(runtime, "acme", "card_arrival").mode is Mode.SHADOW  # the stamp read, unchanged
