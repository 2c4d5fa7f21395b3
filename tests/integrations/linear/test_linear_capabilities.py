"""Opt-in Linear issues per requested capability, against the local Linear server: one issue per
capability, a comment when more customers ask, nothing when nothing changed, nothing without the
opt-in; the CLI refuses --to-linear (exit 2) for a tenant that has not opted in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from core.cli import main
from core.insights.feature_requests import feature_request_report, publish_capabilities
from core.notify.store import add_notifier, posted_alert
from core.store.tickets import upsert_tickets
from integrations.linear.listener import stable_id
from tests.factories import make_ticket
from tests.integrations.linear.fake_linear import API_KEY, fake_linear
from tests.notify_support import runtime  # noqa: F401  (fixture)

TEAM = "22222222-2222-4222-8222-222222222222"
NOW = datetime.now(UTC)


def _add(db, *tickets) -> None:
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, list(tickets))


def _request(number: int, text: str, org: str):
    return make_ticket(f"r-{number}", text, created=NOW - timedelta(days=number), organization=org)


@pytest.fixture
def linear(runtime):
    with fake_linear() as server:
        yield server


def _opt_in(runtime, server, on: bool = True) -> None:
    add_notifier(runtime, "acme", "linear", {"api_key": API_KEY},
                 [("default_team", TEAM), ("api_url", server.url), ("feature_requests", "on" if on else "off")],
                 replace=True)


def test_one_issue_per_capability_then_a_comment_when_more_customers_ask(runtime, linear, db):
    _opt_in(runtime, linear)
    _add(db, _request(1, "Can I export my invoices as CSV?", "Initech"),
         _request(2, "Is there a way to export invoices to CSV?", "Globex <@here>"))
    report = feature_request_report(runtime, "acme")
    [capability] = report.capabilities
    assert publish_capabilities(runtime, report) == 1
    [issue] = linear.issues.values()
    assert issue["fields"]["id"] == stable_id("acme", f"capability:{capability.key}")
    assert "csv" in issue["fields"]["title"] and issue["fields"]["teamId"] == TEAM
    assert "**2 request(s)** from 2 account(s)" in issue["fields"]["description"]
    assert r"Globex \<\@here\>" in issue["fields"]["description"]  # customer text cannot mention anyone

    publish_capabilities(runtime, feature_request_report(runtime, "acme"))  # nothing new
    assert len(linear.issues) == 1 and not linear.comments

    _add(db, _request(3, "Any plans for CSV export of invoices?", "Umbrella"))
    publish_capabilities(runtime, feature_request_report(runtime, "acme"))
    assert len(linear.issues) == 1
    [comment] = linear.comments.values()
    assert comment["body"].startswith("**1 new request(s)**") and comment["issueId"] == issue["id"]
    assert posted_alert(runtime, "acme", "linear", f"capability:{capability.key}").last_key == f"{capability.key}:3"


def test_nothing_goes_to_linear_without_the_opt_in(runtime, linear, db):
    _opt_in(runtime, linear, on=False)
    _add(db, _request(1, "Can I export my invoices as CSV?", "Initech"))
    publish_capabilities(runtime, feature_request_report(runtime, "acme"))
    assert not linear.issues and not linear.operations


def test_the_cli_sends_only_for_a_tenant_that_opted_in(runtime, linear, db):
    _add(db, _request(1, "Can I export my invoices as CSV?", "Initech"))
    runner = CliRunner()
    refused = runner.invoke(main, ["insights", "feature-requests", "--tenant", "acme", "--to-linear"])
    assert refused.exit_code == 2 and "feature_requests=on" in refused.output
    assert not linear.operations
    _opt_in(runtime, linear)
    sent = runner.invoke(main, ["insights", "feature-requests", "--tenant", "acme", "--to-linear"])
    assert sent.exit_code == 0, sent.output
    assert "sent to Linear" in sent.output and len(linear.issues) == 1


def test_a_capability_keeps_its_issue_when_its_oldest_request_leaves_the_window(runtime, linear, db):
    """The key was the oldest request's id: once that request was older than the report's window,
    the same capability came back under a new key and Linear got a second issue for it."""
    _opt_in(runtime, linear)
    _add(db, _request(100, "Can I export my invoices as CSV?", "Initech"),
         _request(10, "Is there a way to export invoices to CSV?", "Globex"),
         _request(5, "Any plans for CSV export of invoices?", "Umbrella"))
    [first] = feature_request_report(runtime, "acme").capabilities
    publish_capabilities(runtime, feature_request_report(runtime, "acme"))
    assert len(linear.issues) == 1

    _add(db, _request(2, "Please add CSV export for invoices", "Hooli"))
    later = feature_request_report(runtime, "acme", days=60)  # request 100 is out of the window
    [capability] = later.capabilities
    assert capability.requests == 3 and capability.key == first.key
    publish_capabilities(runtime, later)
    assert len(linear.issues) == 1  # the same issue: nothing new (3 requests, as when it was told)
