"""The in-app widget's ticket through Zendesk: zenpy unmodified against the local Zendesk, the
customer's message as the public first comment, the page context as a private note."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.helpdesk.contract import Connection, TicketCreating
from core.types import PageContext, PageElement
from integrations.zendesk import INTEGRATION
from integrations.zendesk.client import WIDGET_TAG, ZendeskError
from tests.fake_api import serve
from tests.integrations.zendesk.fake_zendesk import FakeZendesk, fake, make_app

SECRETS = {"email": "deskloop@larkspur-outdoor.example", "api_token": "zd-token-5ecret", "webhook_secret": "s"}
CONTEXT = PageContext(url="https://app.example.com/analytics", title="Analytics", route="/analytics",
                      area="analytics", app_state={"plan": "pro"}, errors=["TypeError: x is undefined"],
                      elements=[PageElement(role="button", text="Export", selector="#export")])


@contextmanager
def account() -> Iterator[tuple[TicketCreating, FakeZendesk]]:
    app = make_app(tickets=1)
    with serve(app) as url:
        connection = Connection("larkspur", "zendesk", "larkspur.zendesk.com", SECRETS, {"api_url": url})
        assert "create_ticket" in INTEGRATION.capabilities
        yield INTEGRATION.client(connection), fake(app)


def test_a_widget_ticket_is_created_with_the_context_in_a_private_note():
    with account() as (client, state):
        external_id = client.create_ticket("How do I export?", "Asked in the help widget:\n- How do I export?",
                                           "ada@example.com", "Ada Lovelace", CONTEXT)
    ticket_id = int(external_id)
    created = state.created[ticket_id]
    assert created["subject"] == "How do I export?" and created["tags"] == [WIDGET_TAG]
    assert created["comment"] == {"body": "Asked in the help widget:\n- How do I export?", "public": True}
    assert created["requester"] == {"email": "ada@example.com", "name": "Ada Lovelace"}
    [note] = state.notes[ticket_id]
    assert note["public"] is False
    for expected in ("Route: /analytics", "Area: analytics", "plan: pro", "Recent errors: TypeError: x is undefined"):
        assert expected in note["body"]


def test_without_context_or_email_only_the_ticket_is_created():
    with account() as (client, state):
        external_id = client.create_ticket("Help", "Asked in the help widget:\n- Help", None, None, None)
    assert "requester" not in state.created[int(external_id)] and not state.notes


def test_a_5xx_on_create_is_not_retried():
    with account() as (client, state):
        state.faults.add("/api/v2/tickets.json", 502)
        with pytest.raises(ZendeskError) as raised:
            client.create_ticket("Help", "body", None, None, CONTEXT)
    assert raised.value.status == 502 and not state.created
    assert len([r for r in state.requests if r.path == "/api/v2/tickets.json" and r.method == "POST"]) == 1
