"""Slack alerts against a local server in Slack's shapes: one message per incident, updated in
place as it grows and ends, never posted twice, rate limits waited out, a bad token a clear error."""

from __future__ import annotations

import json
import logging

import pytest

from core.notify.contract import NotifierRateLimited
from core.notify.store import add_notifier, posted_alert
from integrations.slack.message import build_message
from tests.integrations.slack.fake_slack import TOKEN, fake_slack
from tests.notify_support import incident, publish_change, runtime  # noqa: F401  (fixture)


@pytest.fixture
def slack(runtime):
    with fake_slack() as server:
        add_notifier(runtime, "acme", "slack", {"bot_token": TOKEN},
                     [("channel", "C0ALERTS"), ("api_url", server.url)])
        yield server


def test_opened_posts_one_message_then_growth_and_end_update_it(runtime, slack):
    publish_change(runtime, incident(observed=40), "opened")
    assert slack.calls.count("chat.postMessage") == 1
    [(channel, ts)] = slack.messages
    first = json.dumps(slack.messages[(channel, ts)]["blocks"])
    assert "Spike: refund_request" in first and "40 tickets" in first and "<@U0OWNER>" in first
    assert "billing-api v2.4.1" in first and "https://acme.zendesk.com/agent/tickets/101" in first
    assert "&lt;@U999&gt; &amp; charge &gt; twice" in first and "<@U999>" not in first

    publish_change(runtime, incident(observed=75, grown_by=1), "grew")
    publish_change(runtime, incident(observed=80, ended=True, grown_by=2), "ended")
    assert slack.calls.count("chat.postMessage") == 1 and slack.calls.count("chat.update") == 2
    assert list(slack.messages) == [(channel, ts)]
    last = slack.messages[(channel, ts)]
    assert last["blocks"][0]["text"]["text"] == "Ended: refund_request" and "80 tickets" in last["text"]
    assert posted_alert(runtime, "acme", "slack", "inc-1").ended_at is not None


def test_a_job_run_twice_posts_once(runtime, slack):
    publish_change(runtime, incident(), "opened", key="inc-1:opened")
    publish_change(runtime, incident(), "opened", key="inc-1:opened")
    publish_change(runtime, incident(observed=60), "grew", key="inc-1:grew:1")
    publish_change(runtime, incident(observed=60), "grew", key="inc-1:grew:1")
    assert slack.calls.count("chat.postMessage") == 1 and slack.calls.count("chat.update") == 1


def test_a_429_is_waited_out_and_retried(runtime, slack):
    slack.rate_limit("chat.postMessage", times=1)
    publish_change(runtime, incident(), "opened")
    assert slack.calls.count("chat.postMessage") == 2 and len(slack.messages) == 1


def test_a_lasting_429_raises_a_retryable_error_for_the_jobs_backoff(runtime, slack):
    from core.dispatch.listeners import Occurrence
    from integrations.slack.listener import alert

    slack.rate_limit("chat.postMessage", times=5)
    change = incident()
    with pytest.raises(NotifierRateLimited):
        alert(runtime, Occurrence("incident", "acme", "insights", "opened", "k", change.model_dump(mode="json"), {}))
    assert slack.messages == {} and posted_alert(runtime, "acme", "slack", "inc-1").ref is None  # only tried


def test_a_bad_token_is_a_clear_failure_logged_without_the_token(runtime, slack, caplog):
    add_notifier(runtime, "acme", "slack", {"bot_token": "xoxb-wrong-secret-value"}, [("channel", "C0ALERTS"),
                 ("api_url", slack.url)], replace=True)
    with caplog.at_level(logging.DEBUG):
        publish_change(runtime, incident(), "opened")
    assert slack.messages == {}
    assert "invalid_auth" in caplog.text and "failed for good" in caplog.text
    assert "xoxb-wrong-secret-value" not in caplog.text and TOKEN not in caplog.text


def test_the_message_respects_slacks_limits():
    long = incident(subject="x" * 300, category="c" * 255)
    message = build_message(long, None)
    assert len(message["blocks"][0]["text"]["text"]) <= 150 and len(message["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if b["type"] == "section" and "text" in b)
    assert message["text"]


def test_a_retry_after_a_post_that_was_never_recorded_finds_the_message_instead_of_posting(runtime, slack, db):
    from sqlalchemy import update

    from core.dispatch.listeners import Occurrence
    from core.store.tables import PostedAlertRow
    from integrations.slack.listener import alert

    publish_change(runtime, incident(), "opened", key="inc-1:opened")
    [(channel, ts)] = slack.messages
    with db.engine.begin() as conn:  # Slack took the post, but recording its ts failed
        conn.execute(update(PostedAlertRow).values(ref=None, last_key=None))
    change = incident()
    done = alert(runtime, Occurrence("incident", "acme", "insights", "opened", "inc-1:opened",
                                     change.model_dump(mode="json"), {}))
    assert done["updated"] == ts and slack.calls.count("chat.postMessage") == 1 and list(slack.messages) == [
        (channel, ts)]
    assert posted_alert(runtime, "acme", "slack", "inc-1").ref == ts


def test_links_cannot_be_split_by_a_pipe_or_forged_by_a_subject():
    change = incident(subject="<https://evil.test|Reset your password>").model_copy(
        update={"page_url": "https://deskloop.acme.test/insights?x=a|b&y=<1>"})
    text = json.dumps(build_message(change, None))
    assert "<https://evil.test" not in text and "&lt;https://evil.test|Reset your password&gt;" in text
    assert "https://deskloop.acme.test/insights?x=a%7Cb&amp;y=&lt;1&gt;|Open the insights page" in text


def test_the_categories_rising_on_the_same_tickets_are_named_once_escaped():
    from core.insights.incidents import RelatedCategory

    change = incident().model_copy(update={"related": [RelatedCategory(kind="tag", category="auth<@U1>"),
                                                       RelatedCategory(kind="area", category="Accounts")]})
    text = json.dumps(build_message(change, None))
    assert "*Also seen as*\\ntag auth&lt;@U1&gt;, area Accounts" in text
