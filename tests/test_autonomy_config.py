"""A tenant's autonomy configuration: defaults that are the cautious choice, every field checked
before anything is written (CLI exit 2 naming the field), per-intent thresholds in the policy, and
handoff notes that carry every section a person needs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from core.autonomy.config import AutonomyConfig, config_from, merged
from core.autonomy.handoff import HandoffContext, compose_note, note_is_complete
from core.autonomy.policy import Mode, forget_policies, load_policy, policy_of
from core.autonomy.settings import configure, set_mode
from core.cli import main
from core.errors import BadInput
from core.runtime import Runtime
from core.store.tables import TenantRow

ACTOR = "cli:tester"


@pytest.fixture
def runtime(settings, db):
    forget_policies()
    with db.transaction() as session:
        session.add(TenantRow(slug="acme", settings={"write_back_tags": True}))
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
    forget_policies()


def test_the_defaults_are_cautious():
    config = AutonomyConfig()
    assert config.languages == ("en",) and config.status_after_reply == "pending"
    assert config.reply_window_hours == 24 and config.rate_per_hour == 30 and config.default_threshold == 0.9
    assert config.group_for("card_arrival") is None
    assert config_from({"autonomy": {"languages": ["xx yy"]}}) == AutonomyConfig()  # stale value: defaults


@pytest.mark.parametrize("changes, field", [
    ({"languages": ["english"]}, "languages"),
    ({"languages": []}, "languages"),
    ({"rate_per_hour": 0}, "rate_per_hour"),
    ({"solve_after_days": 400}, "solve_after_days"),
    ({"status_after_reply": "closed"}, "status_after_reply"),
    ({"default_threshold": 1.5}, "default_threshold"),
    ({"holding_templates": {"de": " "}}, "holding_templates"),
    ({"colour": "blue"}, "colour"),
])
def test_a_bad_field_is_named(changes, field):
    with pytest.raises(BadInput) as refused:
        merged(AutonomyConfig(), changes)
    assert refused.value.field.startswith(field)


def test_configure_keeps_other_settings_and_reaches_the_policy(runtime):
    config = configure(runtime, "acme", {"languages": ["EN", "de", "de"], "groups": {"card_arrival": "Cards"},
                                         "status_after_reply": "solved_after_days", "solve_after_days": 5}, ACTOR)
    assert config.languages == ("en", "de")
    policy = policy_of(runtime, "acme")
    assert policy.config.group_for("card_arrival") == "Cards" and policy.config.solve_after_days == 5
    with runtime.db.admin_session() as session:
        settings = session.query(TenantRow).filter_by(slug="acme").one().settings
    assert settings["write_back_tags"] is True and settings["autonomy"]["languages"] == ["en", "de"]


def test_an_intents_threshold_overrides_the_default(runtime):
    set_mode(runtime, "acme", "card_arrival", Mode.AUTONOMOUS, ACTOR, threshold=0.8)
    set_mode(runtime, "acme", "refund", Mode.AUTONOMOUS, ACTOR)
    policy = load_policy(runtime, "acme")
    assert policy.threshold_for("card_arrival") == 0.8 and policy.threshold_for("refund") == 0.9
    set_mode(runtime, "acme", "card_arrival", Mode.SHADOW, ACTOR)  # a mode change keeps the threshold
    assert load_policy(runtime, "acme").threshold_for("card_arrival") == 0.8
    with pytest.raises(BadInput):
        set_mode(runtime, "acme", "refund", Mode.AUTONOMOUS, ACTOR, threshold=0)


def test_cli_configure_changes_only_what_is_given_and_refuses_bad_input(runtime):
    runner = CliRunner()
    done = runner.invoke(main, ["autonomy", "configure", "--tenant", "acme", "--languages", "en,fr",
                                "--group", "card_arrival=Cards", "--holding-template", "fr=Merci, un agent arrive."])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["languages"] == ["en", "fr"]
    again = runner.invoke(main, ["autonomy", "configure", "--tenant", "acme", "--group", "refund=Billing"])
    assert json.loads(again.output)["groups"] == {"card_arrival": "Cards", "refund": "Billing"}
    for args, reason in ((["--languages", "french"], "languages"), (["--group", "no-equals"], "KEY=VALUE"),
                         (["--rate-per-hour", "0"], "rate_per_hour")):
        refused = runner.invoke(main, ["autonomy", "configure", "--tenant", "acme", *args])
        assert refused.exit_code == 2 and reason in refused.output, refused.output
    assert load_policy(runtime, "acme").config.languages == ("en", "fr")  # nothing written by the refusals
    unknown = runner.invoke(main, ["autonomy", "configure", "--tenant", "nobody", "--rate-per-hour", "5"])
    assert unknown.exit_code == 2


def test_a_note_carries_every_section_whatever_it_knows():
    full = HandoffContext(intent="card_arrival", confidence=0.72, threshold=0.9, answered=None,
                          would_have="Your card ships in 3 days.", evidence=("T-1", "T-2"), language="en",
                          customer_text="This is ridiculous, my card STILL has not arrived!!")
    note, sentiment = compose_note("below_threshold", full)
    assert note_is_complete(note) and sentiment < 0
    assert "72%" in note and "90%" in note and "T-1, T-2" in note and "would have answered" in note
    bare = HandoffContext(intent=None, confidence=None, threshold=None, answered=None, would_have=None,
                          evidence=(), language=None, customer_text="")
    note, _ = compose_note("unfamiliar", bare)
    assert note_is_complete(note) and "no answer to offer" in note
    assert not note_is_complete("Deskloop hands this ticket to a person.")
