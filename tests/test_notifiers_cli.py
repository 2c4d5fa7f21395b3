"""``deskloop notifier add|list|remove``: credentials from a file or the environment, encrypted at
rest, never printed; bad input exits 2 with a clear message and writes nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.helpdesk.secrets import decrypt
from core.store.tables import NotifierRow, TenantRow

SLACK_TOKEN, LINEAR_KEY = "xoxb-cli-secret-123", "lin_api_cli_secret_456"
TEAM = "22222222-2222-4222-8222-222222222222"


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def tenant(db):
    with db.transaction() as session:
        session.add(TenantRow(slug="acme", helpdesk="zendesk", domain="acme.zendesk.com", settings={}))
    return "acme"


def _rows(db) -> list[NotifierRow]:
    with db.admin_session() as session:
        return list(session.scalars(select(NotifierRow).execution_options(all_tenants=True)))


def test_add_list_remove_keep_secrets_encrypted_and_unprinted(db, settings, tenant, tmp_path):
    creds = tmp_path / "slack.env"
    creds.write_text(f"BOT_TOKEN={SLACK_TOKEN}\n")
    added = run("notifier", "add", "slack", "--tenant", "acme", "--credentials", str(creds),
                "--set", "channel=C0ALERTS")
    assert added.exit_code == 0, added.output
    linear = run("notifier", "add", "linear", "--tenant", "acme", "--credentials-env", "--set", f"default_team={TEAM}",
                 "--set", "team.billing=OPS", "--set", "cooldown_days=3",
                 env={"DESKLOOP_CREDENTIAL_API_KEY": LINEAR_KEY})
    assert linear.exit_code == 0, linear.output
    [row_linear, row_slack] = sorted(_rows(db), key=lambda r: r.kind)
    assert SLACK_TOKEN not in row_slack.credentials and decrypt(settings.secret_key, row_slack.credentials) == {
        "bot_token": SLACK_TOKEN}
    assert row_linear.settings["teams"] == {"billing": "OPS"} and row_linear.settings["cooldown_days"] == 3

    for listing in (run("notifier", "list"), run("notifier", "list", "--tenant", "acme"),
                    run("notifier", "list", "--json")):
        assert listing.exit_code == 0 and "C0ALERTS" in listing.output and "bot_token" in listing.output
        assert SLACK_TOKEN not in listing.output and LINEAR_KEY not in listing.output
    assert SLACK_TOKEN not in added.output + linear.output and LINEAR_KEY not in added.output + linear.output

    assert run("notifier", "remove", "slack", "--tenant", "acme").exit_code == 0
    assert [r.kind for r in _rows(db)] == ["linear"]
    assert run("notifier", "remove", "slack", "--tenant", "acme").exit_code == 2


@pytest.mark.parametrize("args, env, message", [
    (["add", "teams", "--tenant", "acme", "--credentials-env"], {}, "unknown notifier 'teams'"),
    (["add", "slack", "--tenant", "nobody", "--credentials-env", "--set", "channel=C0ALERTS"],
     {"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN}, "no tenant named 'nobody'"),
    (["add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=#alerts"],
     {"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN}, "Slack channel id"),
    (["add", "slack", "--tenant", "acme", "--credentials-env"], {"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN},
     "slack needs --set channel"),
    (["add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=C0ALERTS"], {},
     "needs credentials bot_token"),
    (["add", "slack", "--tenant", "acme", "--set", "channel=C0ALERTS"], {}, "exactly one of --credentials"),
    (["add", "slack", "--tenant", "acme", "--credentials-env", "--set", "chanel=C0ALERTS"],
     {"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN}, "slack has no setting 'chanel'"),
    (["add", "linear", "--tenant", "acme", "--credentials-env", "--set", f"default_team={TEAM}", "--set",
      "cooldown_days=-1"], {"DESKLOOP_CREDENTIAL_API_KEY": LINEAR_KEY}, "whole number of days"),
    (["add", "linear", "--tenant", "acme", "--credentials-env", "--set", "team.billing=OPS"],
     {"DESKLOOP_CREDENTIAL_API_KEY": LINEAR_KEY}, "linear needs --set default_team"),
    (["add", "linear", "--tenant", "acme", "--credentials-env", "--set", "default_team"],
     {"DESKLOOP_CREDENTIAL_API_KEY": LINEAR_KEY}, "--set takes KEY=VALUE"),
])
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(db, settings, tenant, args, env, message):
    result = run("notifier", *args, env=env)
    assert result.exit_code == 2 and message in result.output, result.output
    assert SLACK_TOKEN not in result.output and LINEAR_KEY not in result.output
    assert _rows(db) == []


def test_a_second_notifier_of_a_kind_needs_replace(db, settings, tenant):
    env = {"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN}
    assert run("notifier", "add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=C0ONE",
               env=env).exit_code == 0
    again = run("notifier", "add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=C0TWO", env=env)
    assert again.exit_code == 2 and "--replace" in again.output
    assert run("notifier", "add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=C0TWO",
               "--replace", env=env).exit_code == 0
    assert [r.settings["channel"] for r in _rows(db)] == ["C0TWO"]


def test_helpdesk_commands_do_not_offer_notifiers(db, settings):
    result = run("tenant", "add", "acme", "--helpdesk", "slack", "--domain", "x", "--credentials-env", "--no-check",
                 env={"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN})
    assert result.exit_code == 2 and "unknown helpdesk 'slack'" in result.output
    assert json.loads(run("notifier", "list", "--json").output) == []


def test_rotating_the_secret_key_reencrypts_notifier_credentials(db, settings, tenant, monkeypatch):
    assert run("notifier", "add", "slack", "--tenant", "acme", "--credentials-env", "--set", "channel=C0ALERTS",
               env={"DESKLOOP_CREDENTIAL_BOT_TOKEN": SLACK_TOKEN}).exit_code == 0
    new = "a-brand-new-key-for-the-next-year-of-notifiers"
    monkeypatch.setenv("DESKLOOP_SECRET_KEY", f"{new},{settings.secret_key}")
    rotated = run("tenant", "rotate-secrets")
    assert rotated.exit_code == 0 and "1 notifier(s)" in rotated.output
    [row] = _rows(db)
    assert decrypt(new, row.credentials) == {"bot_token": SLACK_TOKEN}  # the old key is no longer needed
