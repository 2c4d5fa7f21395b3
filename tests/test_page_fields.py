"""The per-tenant page-context mapping (core.helpdesk.page_fields): fields into a page context and
back, the note for what has no field, and partial contexts merged over a stored one."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from core.helpdesk.contract import app_setting, integration
from core.helpdesk.page_fields import PageFields, context_note, merged, safe_state
from core.types import PageContext

FIELDS = PageFields.from_settings({"page_url_field": "cf_url", "page_area_field": " cf_area ", "page_state_field": ""})


def test_settings_name_the_fields_and_blank_ones_are_unmapped():
    assert FIELDS == PageFields(url="cf_url", area="cf_area")
    assert FIELDS.mapped and not PageFields.from_settings(None).mapped


def test_fields_become_a_context_over_what_the_helpdesk_knew():
    base = PageContext(url="https://app.example/start", title="Start")
    context = FIELDS.context({"cf_url": "https://app.example/export", "cf_area": "", "other": 1}, base)
    assert (context.url, context.title, context.area) == ("https://app.example/export", "Start", None)
    assert FIELDS.context({"other": 1}, base) is base and FIELDS.context({}) is None


def test_a_context_becomes_the_mapped_fields_and_the_rest_is_unmapped():
    context = PageContext(url="https://app.example/export", title="Export", area="data", app_state={"plan": "pro"})
    assert FIELDS.fields(context) == {"cf_url": "https://app.example/export", "cf_area": "data"}
    assert FIELDS.unmapped(context)  # the title and the app state have no field
    assert not FIELDS.unmapped(PageContext(url="https://app.example/x", area="data"))
    assert not FIELDS.unmapped(None) and FIELDS.fields(None) == {}


def test_credential_named_state_keys_are_never_kept_or_noted():
    state = {"plan": "pro", "apiKey": "k", "Session-Id": "s", "password": "p", "csrf_token": "t", "seats": 3}
    assert safe_state(state) == {"plan": "pro", "seats": 3}
    note = context_note(PageContext(url="https://app.example/x", route="/x", app_state=state))
    assert note.splitlines() == ["Page context (from the Deskloop widget):", "Page: https://app.example/x",
                                 "Route: /x", "plan: pro", "seats: 3"]


def test_a_partial_context_is_merged_over_the_stored_one():
    stored = {"url": "https://app.example/a", "title": "A", "app_state": {"plan": "pro", "seats": 3}}
    now = merged(stored, PageContext(area="billing", app_state={"seats": 4}))
    assert (now["url"], now["title"], now["area"]) == ("https://app.example/a", "A", "billing")
    assert now["app_state"] == {"plan": "pro", "seats": 4}
    assert merged(None, PageContext(url="https://app.example/b"))["url"] == "https://app.example/b"


@pytest.mark.parametrize("helpdesk, good, bad", [("zendesk", "360014408811", "cf_page_url"),
                                                 ("freshdesk", "cf_page_url", "page url"),
                                                 ("intercom", "Page URL", "")])
def test_each_helpdesk_checks_its_own_spelling_of_a_field(helpdesk, good, bad):
    spec = app_setting(integration(helpdesk), "page_url_field")
    assert spec.check(good) == good
    with pytest.raises(BadInput, match="page_url_field"):
        spec.check(bad)
