"""One table of signal kinds (``core.learning.kinds``) that every other place reads."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from core.events import HelpdeskEvent
from core.learning.kinds import KINDS, TEACHING_AT_ONCE, TEACHING_EVENTS, check_payload, default_weight, effect_of
from core.types import SIGNAL_KINDS


def test_the_table_and_the_api_schema_name_the_same_kinds():
    assert set(KINDS) == set(SIGNAL_KINDS)


def test_every_event_a_kind_listens_to_is_a_helpdesk_event():
    event_kinds = set(HelpdeskEvent.model_fields["kind"].annotation.__args__)
    assert TEACHING_EVENTS <= event_kinds


@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if spec.required is not None])
def test_a_kind_that_needs_a_payload_field_refuses_a_signal_without_it(kind):
    field = KINDS[kind].required[0]
    with pytest.raises(BadInput) as refused:
        check_payload(kind, {})
    assert refused.value.field == f"payload.{field}"


def test_what_each_kind_teaches():
    assert effect_of("intent_changed", 1.0, {"intent": " refund "}, "card", "ticket:1").intent == "refund"
    assert effect_of("tag_changed", 1.0, {"tags": ["a", "b"]}, None, None).tags == ("a", "b")
    edited = effect_of("draft_edited", 1.0, {"sent": "Hi"}, "card", "ticket:1")
    assert (edited.intent, edited.reply, edited.source, edited.outcome) == ("card", "Hi", "ticket:1", 0.0)
    assert effect_of("reopened", -1.0, {}, "card", "ticket:1").outcome == -1.0
    assert effect_of("escalated", 0.0, {}, "card", "ticket:1") == effect_of("no_such_kind", 1.0, {}, None, None)
    assert default_weight("csat", {"rating": 5}) == 1.0 and default_weight("csat", {"rating": "bad"}) == -1.0
    assert TEACHING_AT_ONCE == {"intent_changed", "tag_changed", "draft_edited"}
