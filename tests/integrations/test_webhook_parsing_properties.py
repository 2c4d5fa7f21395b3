"""Every helpdesk's webhook parser, fed what a URL on the internet can receive.

A signed delivery is still untrusted JSON. Whatever it holds, ``parse`` returns common events or
raises ``ValueError`` (:class:`core.events.MalformedPayload`, pydantic's ``ValidationError``, or
an event missing what its kind needs), which the webhook endpoint answers with 400; anything else
would be a 500 that the helpdesk retries. ``event_name`` (for the log) never raises.

Inputs: arbitrary JSON (odd types, huge numbers, NaN, deep and wide values), arbitrary bytes, and
every fixture with each of its fields in turn replaced by an odd value or removed, then by
generated values. Bounded for CI by hypothesis' ``max_examples``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import HelpdeskEvent
from core.helpdesk.contract import integration

HELPDESKS = ["zendesk", "freshdesk", "intercom"]
PROPERTY_SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Tenant settings the parsers read (Deskloop's own helpdesk user, names of groups, forms, teams).
TENANT_SETTINGS = {"api_user_id": "900", "api_user_name": "Deskloop Bot", "admin_id": "900",
                   "group_names": {"1": "Billing"}, "form_names": {"2": "Default"}, "team_names": {"3": "Tier 2"}}
_REMOVED = object()
#: What a field is replaced with, in turn: every JSON type, the edges of numbers and text.
ODD_VALUES: list[Any] = [_REMOVED, None, True, False, 0, -1, 2**70, -(2**70), 1.5, math.nan, math.inf, -math.inf,
                         "", " ", "\u0000", "a\u0000b", "not a date", "0001-01-01T00:00:00+01:00",
                         "9999-12-31T23:59:59-01:00", "9" * 5000, [], [None], {}, {"id": None}]

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
           | st.floats() | st.text(max_size=40))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30)


def fixtures(name: str) -> list[Path]:
    folder = Path(integration(name).fixtures_dir)
    return sorted((folder / "webhooks").glob("*.json")) + sorted((folder / "webhook_variants").glob("*.json"))


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """The path of every field in a JSON value and of a list's first and last items, outermost first
    (the items between are read by the same code)."""
    if isinstance(value, dict):
        children: Any = value.items()
    elif isinstance(value, list):
        children = [(i, value[i]) for i in sorted({0, len(value) - 1}) if value]
    else:
        children = ()
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(document: Any, path: tuple, value: Any) -> Any:
    """A copy of ``document`` with the field at ``path`` set to ``value`` (or removed)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        changed = {k: v for k, v in document.items() if not (k == head and value is _REMOVED and not rest)}
    else:
        changed = list(document)
        if value is _REMOVED and not rest:
            del changed[head]
            return changed
    if rest or value is not _REMOVED:
        changed[head] = replaced(document[head], rest, value)
    return changed


def assert_parses_or_refuses(name: str, body: bytes) -> None:
    """The contract the webhook endpoint relies on (see the module docstring)."""
    desk = integration(name)
    name_found = desk.event_name(body)
    assert name_found is None or isinstance(name_found, str)
    for tenant_settings in ({}, TENANT_SETTINGS):
        try:
            events = desk.parse(body, tenant_settings)
        except ValueError:  # MalformedPayload, pydantic's ValidationError: a 400 with the reason
            continue
        assert isinstance(events, list) and all(isinstance(e, HelpdeskEvent) for e in events)
        for event in events:
            try:
                event.check()
            except ValueError:
                pass
            json.loads(event.model_dump_json())  # storable as the JSON the worker reads back


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize("name", HELPDESKS)
def test_every_field_of_every_fixture_replaced_by_an_odd_value(name):
    for fixture in fixtures(name):
        document = json.loads(fixture.read_text())
        for path in paths(document):
            for value in ODD_VALUES:
                assert_parses_or_refuses(name, _body(replaced(document, path, value)))


@pytest.mark.parametrize("name", HELPDESKS)
def test_fixtures_with_generated_values_in_their_fields(name):
    documents = [json.loads(f.read_text()) for f in fixtures(name)]

    @PROPERTY_SETTINGS
    @given(data=st.data())
    def run(data):
        document = data.draw(st.sampled_from(documents), "fixture")
        for _ in range(data.draw(st.integers(1, 3), "fields changed")):
            where = list(paths(document))
            if not where:
                break
            path = data.draw(st.sampled_from(where), "field")
            document = replaced(document, path, data.draw(json_values | st.just(_REMOVED), "value"))
        assert_parses_or_refuses(name, _body(document))

    run()


@pytest.mark.parametrize("name", HELPDESKS)
def test_arbitrary_json(name):
    @PROPERTY_SETTINGS
    @given(value=json_values | st.dictionaries(st.sampled_from(["type", "topic", "id", "detail", "data", "event",
                                                                 "freshdesk_webhook", "time"]), json_values))
    def run(value):
        assert_parses_or_refuses(name, _body(value))

    run()


@pytest.mark.parametrize("name", HELPDESKS)
def test_arbitrary_bytes(name):
    @PROPERTY_SETTINGS
    @given(body=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-16")))
    def run(body):
        assert_parses_or_refuses(name, body)

    run()


@pytest.mark.parametrize("name", HELPDESKS)
@pytest.mark.parametrize("body", [
    b"[" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"9" * 100_000,
    b'"' + b"\\u0000" * 1000 + b'"',
], ids=["unclosed-arrays", "deep-objects", "huge-number", "nul-string"])
def test_deep_and_huge_bodies_are_refused(name, body):
    with pytest.raises(ValueError):
        integration(name).parse(body, {})
    assert integration(name).event_name(body) is None


@pytest.mark.parametrize("name", HELPDESKS)
def test_huge_values_in_every_fixture(name):
    """Megabyte strings and ten-thousand-item lists in place of each field of the first fixture."""
    document = json.loads(fixtures(name)[0].read_text())
    for path in paths(document):
        for value in ("x" * 1_000_000, ["tag"] * 10_000):
            assert_parses_or_refuses(name, _body(replaced(document, path, value)))
