"""The contract every helpdesk integration keeps, checked over all of them.

Every handled event has a fixture shaped like the helpdesk's payload, every fixture is a handled
event, and every fixture parses into valid common events: so an event added to a dispatch table
without a real payload, or a payload nobody parses any more, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.events import EVENT_KINDS, HelpdeskEvent
from core.helpdesk.contract import CAPABILITIES, HelpdeskIntegration, TicketCreating, helpdesk_names, integration

HELPDESKS = ["zendesk", "freshdesk", "intercom"]


def test_every_helpdesk_is_registered():
    assert helpdesk_names() == sorted(HELPDESKS)


@pytest.mark.parametrize("name", HELPDESKS)
def test_integration_satisfies_the_protocol(name):
    desk = integration(name)
    assert isinstance(desk, HelpdeskIntegration)
    assert desk.name == name and desk.kind == "helpdesk"
    assert desk.secret_names and not set(desk.secret_names) & set(desk.optional_secret_names)
    assert (Path(desk.fixtures_dir).parent / "SETUP.md").is_file()


@pytest.mark.parametrize("name", HELPDESKS)
def test_a_listed_capability_is_one_the_core_knows_and_create_ticket_has_its_method(name):
    """The widget files tickets through any client whose integration lists ``create_ticket``
    (core.widget.filing); the method must be there with the contract's parameters."""
    import inspect
    from importlib import import_module

    desk = integration(name)
    assert desk.capabilities <= CAPABILITIES
    module, _, cls = desk.client_path.partition(":")
    method = getattr(getattr(import_module(module), cls), "create_ticket", None)
    assert ("create_ticket" in desk.capabilities) == (method is not None)
    if method is not None:
        assert list(inspect.signature(method).parameters)[1:] == list(
            inspect.signature(TicketCreating.create_ticket).parameters)[1:]


@pytest.mark.parametrize("name", HELPDESKS)
def test_the_page_context_mapping_is_a_setting_of_every_helpdesk(name):
    names = {spec.name for spec in integration(name).app_settings}
    assert {"page_url_field", "page_title_field", "page_area_field", "page_state_field"} <= names


@pytest.mark.parametrize("name", HELPDESKS)
def test_every_handled_event_has_a_fixture_and_every_fixture_is_handled(name):
    desk = integration(name)
    fixtures = {p.stem for p in (Path(desk.fixtures_dir) / "webhooks").glob("*.json")}
    assert set(desk.handled_events) - fixtures == set(), "handled events without a fixture"
    assert fixtures - set(desk.handled_events) == set(), "fixtures for events nobody handles"


@pytest.mark.parametrize("name", HELPDESKS)
def test_every_fixture_parses_to_valid_common_events(name):
    desk = integration(name)
    seen_ids = set()
    for path in sorted((Path(desk.fixtures_dir) / "webhooks").glob("*.json")):
        body = path.read_bytes()
        events = desk.parse(body)
        assert events, f"{path.name} parsed to no event"
        assert desk.event_name(body) == path.stem
        for event in events:
            assert isinstance(event, HelpdeskEvent) and event.kind in EVENT_KINDS
            event.check()
            assert event.event_id not in seen_ids, f"{path.name}: event id {event.event_id} reused"
            seen_ids.add(event.event_id)
        assert desk.parse(body) == events, "parsing is not deterministic (a duplicate would not dedupe)"


def _all_payloads(desk) -> list[Path]:
    """The one fixture per event plus the variants (one event type can carry several facts:
    Zendesk's ``comment_added`` is a customer reply or an agent reply)."""
    root = Path(desk.fixtures_dir)
    return sorted([*(root / "webhooks").glob("*.json"), *(root / "webhook_variants").glob("*.json")])


@pytest.mark.parametrize("name", HELPDESKS)
def test_every_variant_is_a_handled_event_or_an_ignored_one(name):
    """A variant is another shape of a handled event (which may rightly yield nothing, e.g. a
    comment that repeats the ticket's description), or an event Deskloop ignores."""
    desk = integration(name)
    for path in (Path(desk.fixtures_dir) / "webhook_variants").glob("*.json"):
        body = path.read_bytes()
        events = [e.check() for e in desk.parse(body)]
        assert path.stem.startswith(desk.event_name(body)), path.name
        if desk.event_name(body) not in desk.handled_events:
            assert events == [], path.name


@pytest.mark.parametrize("name", HELPDESKS)
def test_the_fixtures_cover_the_common_event_kinds(name):
    """Every helpdesk reports the events the learning loop needs."""
    desk = integration(name)
    kinds = {e.kind for p in _all_payloads(desk) for e in desk.parse(p.read_bytes())}
    assert {"ticket_created", "customer_replied", "agent_replied", "status_changed", "reopened"} <= kinds


def test_the_web_app_starts_without_the_vendor_libraries():
    """Webhooks and side panels answer without zenpy, python-freshdesk or python-intercom: each
    loads when a client is first needed, not in every web process at start."""
    import subprocess
    import sys

    script = ("import sys; from core.helpdesk.contract import registered; "
              "[d.app_blueprint() for d in registered().values()]; import core.web.panel_api; "
              "print(sorted(m for m in ('zenpy', 'freshdesk', 'intercom') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    assert loaded == "[]"


def test_every_clients_errors_say_what_happened_in_the_cores_terms():
    """Each helpdesk's errors are also one of the core's, so the core can act on a rate limit or
    bad credentials without knowing the helpdesk (and never catches bare ``Exception``)."""
    from core.helpdesk import contract as h
    from integrations.freshdesk import errors as freshdesk
    from integrations.intercom import errors as intercom
    from integrations.zendesk.client import zendesk_error

    assert issubclass(freshdesk.FreshdeskAuthError, h.HelpdeskUnauthorized)
    assert issubclass(freshdesk.FreshdeskRateLimited, h.HelpdeskRateLimited)
    assert issubclass(freshdesk.FreshdeskNotFound, h.HelpdeskNotFound)
    assert issubclass(intercom.IntercomRateLimited, h.HelpdeskRateLimited)
    assert issubclass(intercom.IntercomUnauthorized, h.HelpdeskUnauthorized)
    for status, kind in ((401, h.HelpdeskUnauthorized), (403, h.HelpdeskUnauthorized), (404, h.HelpdeskNotFound),
                         (429, h.HelpdeskRateLimited), (503, h.HelpdeskUnavailable), (None, h.HelpdeskUnavailable),
                         (422, h.HelpdeskRejected)):
        raised = zendesk_error("x", status, 7)
        assert isinstance(raised, kind) and raised.status == status and raised.retry_after == 7


@pytest.mark.parametrize("name", HELPDESKS)
def test_every_helpdesk_can_reply_set_a_status_and_hand_off_as_the_contract_says(name):
    """What autonomous replies and handoff rely on: declared capabilities, and client methods with
    the protocol's parameters (names, keyword-only ones included)."""
    import inspect
    from importlib import import_module

    from core.helpdesk.contract import CAPABILITIES, HelpdeskClient

    desk = integration(name)
    assert {"public_reply", "handoff"} <= desk.capabilities <= CAPABILITIES
    module, _, class_name = desk.client_path.partition(":")
    client = getattr(import_module(module), class_name)
    for method in ("post_reply", "set_status", "hand_off", "apply_tags", "add_private_note", "identity"):
        wanted = inspect.signature(getattr(HelpdeskClient, method)).parameters
        found = inspect.signature(getattr(client, method)).parameters
        assert [(p.name, p.kind) for p in found.values()] == [(p.name, p.kind) for p in wanted.values()], method


def test_one_retry_policy_reads_what_the_helpdesk_asked():
    from core.helpdesk.outbound import RetryPolicy, asked_wait

    policy = RetryPolicy(attempts=6, backoff=1.0, longest_wait=300.0)
    assert [policy.backoff_wait(n) for n in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, 300.0]
    assert policy.wait({"Retry-After": "7"}, 1) == 7.0 and policy.wait({"retry-after": "9999"}, 1) == 300.0
    assert asked_wait({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, now=40.0) == 60.0
    assert asked_wait({"X-RateLimit-Reset": "130"}, now=100.0) == 30.0
    assert asked_wait({"Retry-After": "soon"}) is None and policy.wait({}, 3) == 4.0


@pytest.mark.parametrize("name", HELPDESKS)
def test_each_integration_declares_its_side_panel_package(name):
    """The manifest build reads what each integration declares; nothing lists the helpdesks."""
    from manifests.build import SOURCE, panel_packages

    package = integration(name).panel_package
    assert package is not None and (SOURCE / package.folder).is_dir()
    assert callable(package.checker()) and panel_packages()[name] == package
    assert all((SOURCE / origin).is_file() for origin in package.shared_files)
