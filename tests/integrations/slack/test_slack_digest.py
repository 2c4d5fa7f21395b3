"""The weekly digest in Slack, against a local server in Slack's shapes: one message per digest
and channel when the tenant's Slack notifier has ``digest=on``, nothing more when the job runs
again (even after a post whose record was lost), nothing at all when the setting is off."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from core.errors import BadInput
from core.insights.weeks import IsoWeek
from core.notify.store import add_notifier, posted_alert
from core.notify.weekly_digest import digest_key, publish_digest
from core.store.tables import PostedAlertRow
from integrations.slack import parse_settings
from tests.integrations.slack.fake_slack import TOKEN, fake_slack
from tests.notify_support import runtime  # noqa: F401  (fixture)

WEEK = IsoWeek(2026, 49)


def _slack(runtime, server, *settings: tuple[str, str]) -> None:
    add_notifier(runtime, "acme", "slack", {"bot_token": TOKEN},
                 [("channel", "C0DIGEST"), ("api_url", server.url), *settings])


def test_the_digest_is_posted_once_and_a_retry_posts_nothing_more(runtime):
    with fake_slack() as slack:
        _slack(runtime, slack, ("digest", "on"))
        assert publish_digest(runtime, "acme", WEEK)["published"] is True
        assert slack.calls.count("chat.postMessage") == 1
        [(channel, ts)] = slack.messages
        message = slack.messages[(channel, ts)]
        assert channel == "C0DIGEST" and message["blocks"][0]["text"]["text"] == "Weekly digest 2026-W49"
        assert "Learning loop" in json.dumps(message["blocks"])
        assert publish_digest(runtime, "acme", WEEK) == {"tenant": "acme", "week": "2026-W49",
                                                          "skipped": "already published"}
        publish_digest(runtime, "acme", WEEK, force=True)  # told again: the listener's record holds
        assert slack.calls.count("chat.postMessage") == 1

        key = digest_key("acme", WEEK)
        with runtime.db.transaction(runtime.db.tenant_id("acme")) as session:  # posted, then the record was lost
            session.execute(update(PostedAlertRow).where(PostedAlertRow.incident_id == key).values(ref=None))
        publish_digest(runtime, "acme", WEEK, force=True)
        assert slack.calls.count("chat.postMessage") == 1 and "conversations.history" in slack.calls
        assert posted_alert(runtime, "acme", "slack", key).ref == ts


def test_nothing_is_posted_when_the_digest_setting_is_off_or_absent(runtime):
    with fake_slack() as slack:
        _slack(runtime, slack)
        publish_digest(runtime, "acme", WEEK)
        add_notifier(runtime, "acme", "slack", {"bot_token": TOKEN},
                     [("channel", "C0DIGEST"), ("api_url", slack.url), ("digest", "off")], replace=True)
        publish_digest(runtime, "acme", WEEK.previous())
        assert slack.calls == [] and slack.messages == {}


def test_the_digest_setting_takes_on_or_off_only():
    assert parse_settings([("channel", "C0DIGEST"), ("digest", "on")])["digest"] == "on"
    with pytest.raises(BadInput, match="on or off"):
        parse_settings([("channel", "C0DIGEST"), ("digest", "yes")])


def test_the_cli_sends_the_digest_with_send_and_only_once(runtime):
    from click.testing import CliRunner

    from core.cli import main

    with fake_slack() as slack:
        _slack(runtime, slack, ("digest", "on"))
        runner = CliRunner()
        printed = runner.invoke(main, ["insights", "digest", "--tenant", "acme", "--week", "2026-W49"])
        assert printed.exit_code == 0, printed.output
        assert "weekly digest 2026-W49" in printed.output and slack.calls == []  # printed, not sent
        for _ in range(2):
            sent = runner.invoke(main, ["insights", "digest", "--tenant", "acme", "--week", "2026-W49", "--send"])
            assert sent.exit_code == 0, sent.output
        assert slack.calls.count("chat.postMessage") == 1
