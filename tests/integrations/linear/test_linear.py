"""Linear alerts against a local GraphQL server in Linear's shapes: one issue per incident in the
area's team, assigned to its owner; growth and end as comments; retries that never duplicate;
recurrence within the cooldown continuing the earlier issue; rate limits, 401 and 5xx."""

from __future__ import annotations

import logging

import pytest

from core.dispatch.listeners import Occurrence
from core.notify.contract import NotifierUnavailable
from core.notify.store import add_notifier, posted_alert
from core.store.tables import PostedAlertRow
from integrations.linear.listener import alert, stable_id
from tests.integrations.linear.fake_linear import API_KEY, fake_linear
from tests.notify_support import incident, publish_change, runtime  # noqa: F401  (fixture)

REOPENED = "33333333-3333-4333-8333-333333333333"
BILLING_TEAM, DEFAULT_TEAM = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def linear(runtime):
    with fake_linear() as server:
        add_notifier(runtime, "acme", "linear", {"api_key": API_KEY},
                     [("default_team", DEFAULT_TEAM), ("team.billing", BILLING_TEAM), ("api_url", server.url)])
        yield server


def _occurrence(change, kind="opened", key="k-opened"):
    return Occurrence("incident", "acme", "insights", kind, key, change.model_dump(mode="json"), {})


def test_opened_creates_one_issue_then_growth_and_end_are_comments(runtime, linear):
    publish_change(runtime, incident(observed=40), "opened")
    [issue] = linear.issues.values()
    fields = issue["fields"]
    assert fields["id"] == stable_id("acme", "inc-1") and fields["teamId"] == BILLING_TEAM
    assert fields["assigneeId"] == "user-owner" and "40 tickets" in fields["title"]
    assert "~8 expected" in fields["description"] and "billing-api v2.4.1" in fields["description"]
    assert "(https://acme.zendesk.com/agent/tickets/101)" in fields["description"]
    assert r"Refund \<\@U999\> & charge \> twice" in fields["description"]

    publish_change(runtime, incident(observed=75, grown_by=1), "grew")
    publish_change(runtime, incident(observed=80, ended=True, grown_by=2), "ended")
    assert len(linear.issues) == 1
    bodies = [c["body"] for c in linear.comments.values()]
    assert len(bodies) == 2 and bodies[0].startswith("**Grew**") and bodies[1].startswith("**Ended**")
    assert all(c["issueId"] == issue["id"] for c in linear.comments.values())


def test_a_job_run_twice_creates_once_even_when_the_first_answer_was_lost(runtime, linear, db):
    publish_change(runtime, incident(), "opened", key="inc-1:opened")
    publish_change(runtime, incident(), "opened", key="inc-1:opened")
    with db.engine.begin() as conn:  # the first try created the issue, but never recorded it
        conn.execute(PostedAlertRow.__table__.delete())
    assert alert(runtime, _occurrence(incident(), key="inc-1:opened"))["created"] == "OPS-1"
    publish_change(runtime, incident(observed=60), "grew", key="inc-1:grew:1")
    publish_change(runtime, incident(observed=60), "grew", key="inc-1:grew:1")
    assert len(linear.issues) == 1 and len(linear.comments) == 1
    assert linear.operations.count("issueCreate") == 2  # the second refused for its reused id


def test_a_recurrence_within_the_cooldown_comments_on_the_earlier_issue(runtime, linear):
    add_notifier(runtime, "acme", "linear", {"api_key": API_KEY}, [("default_team", DEFAULT_TEAM),
                 ("reopen_state", REOPENED), ("api_url", linear.url)], replace=True)
    publish_change(runtime, incident(), "opened")
    publish_change(runtime, incident(ended=True), "ended")
    publish_change(runtime, incident(incident_id="inc-2"), "opened")
    assert len(linear.issues) == 1
    assert list(linear.comments.values())[-1]["body"].startswith("**Recurred**")
    assert posted_alert(runtime, "acme", "linear", "inc-2").ref == "OPS-1"
    assert list(linear.issues.values())[0]["fields"]["stateId"] == REOPENED
    publish_change(runtime, incident(incident_id="inc-3", category="login_failure"), "opened")
    assert len(linear.issues) == 2


def test_a_rate_limit_answer_is_waited_out_and_retried(runtime, linear):
    linear.rate_limit(times=1)
    publish_change(runtime, incident(), "opened")
    assert len(linear.issues) == 1


def test_a_5xx_raises_a_retryable_error_and_the_retry_creates_one_issue(runtime, linear):
    linear.fail(503, times=1)
    with pytest.raises(NotifierUnavailable):
        alert(runtime, _occurrence(incident()))
    assert posted_alert(runtime, "acme", "linear", "inc-1") is None
    assert alert(runtime, _occurrence(incident()))["created"] == "OPS-1" and len(linear.issues) == 1


def test_a_bad_key_is_a_clear_failure_logged_without_the_key(runtime, linear, caplog):
    add_notifier(runtime, "acme", "linear", {"api_key": "lin_api_wrong_secret"},
                 [("default_team", DEFAULT_TEAM), ("api_url", linear.url)], replace=True)
    with caplog.at_level(logging.DEBUG):
        publish_change(runtime, incident(), "opened")
    assert linear.issues == {} and "linear answered 401" in caplog.text and "failed for good" in caplog.text
    assert "lin_api_wrong_secret" not in caplog.text and API_KEY not in caplog.text


def test_the_owner_can_be_subscribed_instead_of_assigned(runtime, linear):
    add_notifier(runtime, "acme", "linear", {"api_key": API_KEY}, [("default_team", DEFAULT_TEAM),
                 ("owner_role", "subscriber"), ("api_url", linear.url)], replace=True)
    publish_change(runtime, incident(), "opened")
    [issue] = linear.issues.values()
    assert issue["fields"]["subscriberIds"] == ["user-owner"] and "assigneeId" not in issue["fields"]
    assert issue["fields"]["teamId"] == DEFAULT_TEAM


def test_user_text_cannot_become_markdown_and_links_stay_whole():
    from integrations.linear.markdown import evidence

    change = incident(subject="[click](https://evil.test) **now** ![x](y)").model_copy(
        update={"page_url": "https://deskloop.acme.test/insights?a=(1) b"})
    text = evidence(change)
    assert r"\[click\]\(https://evil.test\) \*\*now\*\* \!\[x\]\(y\)" in text
    assert "(https://deskloop.acme.test/insights?a=%281%29%20b)" in text


def test_errors_in_a_200_answer_are_a_failure_not_a_success(runtime, linear, caplog):
    linear.users.clear()  # the owner has no Linear account: the issue is created unassigned
    linear.fail("invalid", operation="issueCreate")
    with caplog.at_level(logging.INFO):
        publish_change(runtime, incident(), "opened")
    assert linear.issues == {} and "teamId must be a UUID" in caplog.text
    assert posted_alert(runtime, "acme", "linear", "inc-1") is None
    publish_change(runtime, incident(), "opened")
    [issue] = linear.issues.values()
    assert "assigneeId" not in issue["fields"] and "subscriberIds" not in issue["fields"]


def test_the_categories_rising_on_the_same_tickets_are_named_once_escaped():
    from core.insights.incidents import RelatedCategory
    from integrations.linear.markdown import evidence

    change = incident().model_copy(update={"related": [RelatedCategory(kind="tag", category="auth*"),
                                                       RelatedCategory(kind="area", category="Accounts")]})
    assert r"Also seen as: tag auth\*, area Accounts" in evidence(change)
