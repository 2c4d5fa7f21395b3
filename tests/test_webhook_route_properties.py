"""``POST /webhooks/<helpdesk>/<tenant>`` with a valid signature on whatever body, on SQLite and PostgreSQL.

A signed body is verified, parsed, stored and (without Redis) applied inside the request; whatever
it holds, the answer is 200 (stored, or an event Deskloop ignores) or 400 with a reason, never a
5xx that the helphdesk would retry. Bodies: each helpdesk's fixtures with fields replaced or
removed, arbitrary JSON and arbitrary bytes. Bounded for CI by hypothesis' ``max_examples``.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.app import create_app
from core.helpdesk.connections import add_tenant, forget_connections
from core.helpdesk.contract import integration
from integrations.freshdesk import webhooks as freshdesk
from integrations.intercom import webhooks as intercom
from integrations.zendesk import webhooks as zendesk
from tests.integrations.test_webhook_parsing_properties import ODD_VALUES, fixtures, json_values, paths, replaced

ROUTE_SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                          suppress_health_check=list(HealthCheck))
SECRET = "whsec-fuzz-7c1d"
ACCOUNTS = {
    "zendesk": ("acme.zendesk.com", {"email": "ops@acme.example", "api_token": "zd-1", "webhook_secret": SECRET}),
    "freshdesk": ("acme.freshdesk.com", {"api_key": "fd-1", "webhook_secret": SECRET}),
    "intercom": (None, {"access_token": "ic-1", "client_secret": SECRET}),
}


def signed(helpdesk: str, body: bytes) -> dict[str, str]:
    if helpdesk == "zendesk":
        return zendesk.sign(body, SECRET, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return (freshdesk if helpdesk == "freshdesk" else intercom).sign(body, SECRET)


@pytest.fixture
def client(settings, db):
    forget_connections()
    app = create_app(settings)
    for helpdesk, (domain, credentials) in ACCOUNTS.items():
        add_tenant(app.extensions["deskloop"], helpdesk, helpdesk, domain, credentials, {"write_back_tags": False})
    yield app.test_client()
    app.extensions["deskloop"].close()
    forget_connections()


def deliver(client, helpdesk: str, body: bytes) -> str:
    """How the delivery was answered: ``stored``, ``ignored`` or ``refused`` (200, 200, 400)."""
    response = client.post(f"/webhooks/{helpdesk}/{helpdesk}", data=body,
                           headers={**signed(helpdesk, body), "Content-Type": "application/json"})
    assert response.status_code in (200, 400), (response.status_code, body[:300], response.get_data()[:300])
    if response.status_code == 400:
        assert response.json["error"]["reason"]
        return "refused"
    return "ignored" if "ignored" in response.json else "stored"


@pytest.mark.parametrize("helpdesk", list(ACCOUNTS))
def test_signed_fixtures_with_changed_fields_get_200_or_400(client, helpdesk):
    documents = [json.loads(f.read_text()) for f in fixtures(helpdesk)]
    answers: Counter[str] = Counter()

    @ROUTE_SETTINGS
    @given(data=st.data())
    def run(data):
        document = data.draw(st.sampled_from(documents), "fixture")
        for _ in range(data.draw(st.integers(1, 3), "fields changed")):
            where = list(paths(document))
            if not where:
                break
            path = data.draw(st.sampled_from(where), "field")
            value = data.draw(st.sampled_from(ODD_VALUES) | json_values, "value")
            document = replaced(document, path, value)
        answers[deliver(client, helpdesk, json.dumps(document).encode())] += 1

    run()
    # One changed field often leaves a delivery readable: the run reached storing and applying.
    assert answers["stored"] and answers["refused"], answers


@pytest.mark.parametrize("helpdesk", list(ACCOUNTS))
def test_signed_arbitrary_bodies_get_200_or_400(client, helpdesk):
    @settings(ROUTE_SETTINGS, max_examples=30)
    @given(body=json_values.map(lambda value: json.dumps(value).encode()) | st.binary(max_size=200))
    def run(body):
        deliver(client, helpdesk, body)

    run()


TEXT_FIELDS = {"body", "description", "subject", "ticket_description", "ticket_subject",
               "ticket_latest_public_comment", "ticket_latest_private_comment", "name"}


def _with_nul(value, key=None):
    """The value with a NUL character inside every text field a person writes."""
    if isinstance(value, dict):
        return {k: _with_nul(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_nul(v) for v in value]
    if key in TEXT_FIELDS and isinstance(value, str) and len(value) > 1:
        return value[:1] + "\u0000" + value[1:]
    return value


@pytest.mark.parametrize("helpdesk", list(ACCOUNTS))
def test_nul_characters_in_text_are_dropped_and_the_events_stored_on_either_database(client, helpdesk):
    """PostgreSQL cannot store a NUL character (SQLite can): it is dropped, so a delivery with
    one is stored and applied alike on both databases instead of failing on one."""
    desk = integration(helpdesk)
    for fixture in fixtures(helpdesk):
        body = json.dumps(_with_nul(json.loads(fixture.read_text()))).encode()
        assert b"\\u0000" in body or fixture.stem.startswith("user."), fixture.name
        events = desk.parse(body, {})
        response = client.post(f"/webhooks/{helpdesk}/{helpdesk}", data=body,
                               headers={**signed(helpdesk, body), "Content-Type": "application/json"})
        assert response.status_code == 200, (fixture.name, response.get_data()[:300])
        assert response.json.get("accepted", 0) + response.json.get("duplicates", 0) == len(events), fixture.name
        assert all("\u0000" not in event.model_dump_json() for event in events)
